#!/usr/bin/env bash
# Waking clients still connected to an address this host gave away (netops/sockreset.h), in real
# network namespaces. Host a holds the VIP with listeners that accept and never say anything
# (one on 0.0.0.0, one dual-stack on ::, whose IPv4 connections are IPv6 sockets); the client
# connects to the VIP and waits for a greeting, sending nothing. Then a removes the VIP and runs
# the reset responder (`mmc-vip reset`), the client keeping a's MAC for the VIP (a permanent
# neighbour entry stands in for the stale ARP entry of the switchover window):
#   (a) without the wake, the client's connection stays open for the whole second it is watched:
#       it sends nothing, so the responder has nothing to answer;
#   (b) with `mmc-vip wake VIP`, it is reset within that second, for both listeners, while a
#       connection of the same client to a's own address is left alone (open).
# Asserts reset versus open only, never a speed. Needs root; skips (77) otherwise.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
mmc_vip=$top_builddir/netops/mmc-vip

# shellcheck source=tests/lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"
netns_test_require "network namespaces, raw and AF_PACKET sockets" "$mmc_vip" ip python3

P=mmw$$
SUBNET=10.79.$(($$ % 200 + 20))
VIP=$SUBNET.100
PORT=$((20000 + $$ % 20000)) # a's IPv4 listener
PORT6=$((PORT + 1))          # a's dual-stack listener
IF=$NETNS_IFNAME
netns_test_start "$P" test_sockreset

# Start `mmc-vip reset` in a for $1 seconds; sets reset_pid.
start_responder() {
    netns_test_responder "$mmc_vip" "$P" a "$IF" "$VIP" "$1"
}

stop_responder() {
    kill -TERM "$reset_pid" 2>/dev/null
    wait "$reset_pid"
}

# Connect client $1 to $2:$3 in the background and wait for a greeting that never comes,
# sending nothing. Once the file $workdir/go exists, it watches the connection for 1 s more and
# prints how it ended: reset, open (still open after that second), closed, data or error: ...
# Sets client_pid; output in $workdir/client-$1.out.
open_connection() {
    ip netns exec "$(netns_name "$P" client)" python3 -c '
import os, socket, sys, time
host, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=2)
print("connected", flush=True)
s.settimeout(0.05)
deadline = time.monotonic() + 30
watching = False
try:
    while time.monotonic() < deadline:
        if not watching and os.path.exists(go):
            watching = True
            deadline = time.monotonic() + 1.0
        try:
            print("data" if s.recv(100) else "closed")
            break
        except socket.timeout:
            pass
    else:
        print("open" if watching else "error: never told to go")
except ConnectionResetError:
    print("reset")
except OSError as e:
    print("error: %s" % e)
' "$2" "$3" "$workdir/go" >"$workdir/client-$1.out" 2>&1 &
    client_pid=$!
    pids+=("$client_pid")
    eval "client_pid_$1=$client_pid"
    for _ in $(seq 50); do
        grep -q '^connected$' "$workdir/client-$1.out" && return 0
        kill -0 "$client_pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "client $1 could not connect to $2:$3: $(cat "$workdir/client-$1.out")"
}

# Check how client $1 ended ($2: reset or open) and describe it with $3.
expect_connection() {
    local pid got
    pid=$(eval "echo \$client_pid_$1")
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "client $1 still running 5 s after go"
    wait "$pid"
    got=$(sed -n '2p' "$workdir/client-$1.out")
    [ "$got" = "$2" ] || fail "$3: $got, expected $2"
    echo "ok: $3 -> $got"
}

# Remove the VIP from a, start the responder, optionally wake ($1: wake or nowake), then go.
give_vip_away() {
    ip -n "$P-a" addr del "$VIP/32" dev "$IF" || fail "cannot remove $VIP from a"
    start_responder 30
    rm -f "$workdir/go"
    if [ "$1" = wake ]; then
        netns_exec "$P" a "$mmc_vip" wake "$VIP" >"$workdir/wake.out" 2>"$workdir/wake.err" ||
            fail "mmc-vip wake $VIP: $(cat "$workdir/wake.out" "$workdir/wake.err")"
        woken=$(sed -n 's/^woken \([0-9]*\)$/\1/p' "$workdir/wake.out")
        echo "mmc-vip wake: woken $woken"
    fi
    touch "$workdir/go"
}

step "segment $P on $SUBNET.0/24: a holds VIP $VIP, client"
netns_segment_up "$P" "$SUBNET" a || fail "cannot build the segment"
A=$(netns_ip "$P" a)
mac_a=$(netns_mac "$P" a)
[ -n "$mac_a" ] || fail "cannot read a's MAC"
ip -n "$P-client" neigh replace "$VIP" lladdr "$mac_a" dev "$IF" nud permanent ||
    fail "cannot pin $VIP to a's MAC in the client"

step "a listens on $PORT (IPv4) and $PORT6 (dual-stack), accepts and never answers"
ip netns exec "$(netns_name "$P" a)" python3 -c '
import socket, sys, threading
def serve(family, port):
    listener = socket.socket(family)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind(("::", port))
    else:
        listener.bind(("0.0.0.0", port))
    listener.listen(8)
    return listener
listeners = [serve(socket.AF_INET, int(sys.argv[1])), serve(socket.AF_INET6, int(sys.argv[2]))]
print("listening", flush=True)
accepted = []
def accept(listener):
    while True:
        accepted.append(listener.accept()[0])
threads = [threading.Thread(target=accept, args=(l,), daemon=True) for l in listeners]
for t in threads:
    t.start()
for t in threads:
    t.join()
' "$PORT" "$PORT6" >"$workdir/listener.out" 2>&1 &
pids+=("$!")
for _ in $(seq 50); do
    grep -q '^listening$' "$workdir/listener.out" && break
    sleep 0.1
done
grep -q '^listening$' "$workdir/listener.out" ||
    fail "listener did not start: $(cat "$workdir/listener.out")"

step "(a) a connection waiting on the VIP, a removes it, responder, no wake: stays open"
ip -n "$P-a" addr add "$VIP/32" dev "$IF" || fail "cannot add $VIP to a"
open_connection a "$VIP" "$PORT"
give_vip_away nowake
expect_connection a open "connection to $VIP:$PORT, VIP gone from a, no wake, 1 s later"
stop_responder

step "(b) the same with mmc-vip wake: reset; a's own address is left alone"
ip -n "$P-a" addr add "$VIP/32" dev "$IF" || fail "cannot add $VIP to a"
open_connection b4 "$VIP" "$PORT"
open_connection b6 "$VIP" "$PORT6"
open_connection bown "$A" "$PORT"
give_vip_away wake
expect_connection b4 reset "connection to $VIP:$PORT (IPv4 listener), woken"
expect_connection b6 reset "connection to $VIP:$PORT6 (dual-stack listener), woken"
expect_connection bown open "connection to a's own $A:$PORT, not on the VIP"
# At least the two of (b); a's side of (a)'s connection is still there too (its client's FIN
# went to the VIP while a did not have it) and is woken as well: its client answers with a RST.
[ "${woken:-0}" -ge 2 ] || fail "mmc-vip wake sent ${woken:-no} SYNs for 2 connections on the VIP"
stop_responder
sent=$(sed -n 's/^sent \([0-9]*\)$/\1/p' "$workdir/reset.out")
echo "responder: sent $sent"
[ "${sent:-0}" -ge 2 ] || fail "responder sent ${sent:-no} resets for 2 woken connections"

step "(c) an address with no connection on a: nothing sent"
NONE=$SUBNET.102
netns_exec "$P" a "$mmc_vip" wake "$NONE" >"$workdir/wake.out" 2>"$workdir/wake.err" ||
    fail "mmc-vip wake $NONE: $(cat "$workdir/wake.err")"
grep -q '^woken 0$' "$workdir/wake.out" || fail "mmc-vip wake $NONE: $(cat "$workdir/wake.out")"
echo "ok: mmc-vip wake $NONE -> woken 0"

step "bad input gives clear errors"
err=$("$mmc_vip" wake 10.0.0.256 2>&1 >/dev/null)
rc=$?
[ "$rc" = 2 ] || fail "mmc-vip wake 10.0.0.256: exit $rc, expected 2 ($err)"
printf '%s\n' "$err" | grep -q "is not an IPv4 address" ||
    fail "mmc-vip wake 10.0.0.256: message '$err'"
echo "ok: mmc-vip wake 10.0.0.256 -> $err"

echo "PASS"
exit 0
