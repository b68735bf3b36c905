#!/usr/bin/env bash
# The TCP reset responder in real network namespaces. Host a has just given the VIP away; the
# client still maps the VIP to a's MAC (a permanent neighbour entry stands in for the stale ARP
# entry of the failover window). Without the responder a's kernel drops the client's SYN and
# the connect times out; with `mmc-vip reset` running in a the connect is refused at once; when
# the responder's time is over it times out again. SYNs to other addresses are never answered.
# A connection the client opened while a held the VIP: once a has let the VIP go, the data the
# client sends on it is dropped and its read times out; with the responder the connection is
# reset. Asserts refused/reset versus timed out only, never a speed. Needs root; skips (77)
# otherwise.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
mmc_vip=$top_builddir/netops/mmc-vip

# shellcheck source=tests/lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"
netns_test_require "network namespaces, AF_PACKET sockets" "$mmc_vip" ip python3

P=mmr$$
SUBNET=10.78.$(($$ % 200 + 20))
VIP=$SUBNET.100
OTHER=$SUBNET.101 # also mapped to a's MAC, never given to the responder
PORT=$((20000 + $$ % 20000)) # a's listener for the open-connection case
IF=$NETNS_IFNAME
netns_test_start "$P" test_tcpreset

# Print how a TCP connect from the client to $1:$2 ends within 0.5 s: connected, refused,
# timeout, or error: <reason>.
probe() {
    netns_exec "$P" client python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(0.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error: %s" % e)
' "$1" "$2"
}

expect_probe() {
    local want=$1 address=$2 port=$3 got
    got=$(probe "$address" "$port")
    [ "$got" = "$want" ] || fail "connect to $address:$port: $got, expected $want"
    echo "ok: connect to $address:$port -> $got"
}

# Start `mmc-vip reset` in a for $1 seconds; output in $workdir/reset.out. Sets reset_pid.
start_responder() {
    netns_test_responder "$mmc_vip" "$P" a "$IF" "$VIP" "$1"
}

# Wait for the responder to exit (at most $1 tenths of a second); check exit 0 and print sent.
wait_responder() {
    local rc
    for _ in $(seq "$1"); do
        kill -0 "$reset_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$reset_pid" 2>/dev/null && fail "responder still running after its time"
    wait "$reset_pid"
    rc=$?
    [ "$rc" = 0 ] || fail "mmc-vip reset exited $rc: $(cat "$workdir/reset.err")"
    sent=$(sed -n 's/^sent \([0-9]*\)$/\1/p' "$workdir/reset.out")
    [ -n "$sent" ] || fail "mmc-vip reset printed no count: $(cat "$workdir/reset.out")"
}

step "segment $P on $SUBNET.0/24: old holder a, client; VIP $VIP is on nobody"
netns_segment_up "$P" "$SUBNET" a || fail "cannot build the segment"
mac_a=$(netns_mac "$P" a)
[ -n "$mac_a" ] || fail "cannot read a's MAC"
for address in "$VIP" "$OTHER"; do
    ip -n "$P-client" neigh replace "$address" lladdr "$mac_a" dev "$IF" nud permanent ||
        fail "cannot pin $address to a's MAC in the client"
done
ip -n "$P-a" -4 -o addr show | grep -q "$VIP/" && fail "VIP is on a"
echo "client: $(ip -n "$P-client" neigh show "$VIP")"

step "(a) without the responder, a drops the SYN: the connect times out"
expect_probe timeout "$VIP" 3306

step "(b) with mmc-vip reset in a, the connect is refused"
start_responder 5
expect_probe refused "$VIP" 3306
expect_probe refused "$VIP" 33060 # any port: nothing on the VIP is served by a
expect_probe timeout "$OTHER" 3306 # not the VIP: never answered
wait_responder 80
echo "responder: sent $sent"
[ "$sent" -ge 2 ] || fail "responder sent $sent resets for 2 refused connects"
grep -q '^dropped 0$' "$workdir/reset.out" ||
    fail "responder dropped resets: $(cat "$workdir/reset.out")"

step "(c) after the responder's time, back to a timeout"
expect_probe timeout "$VIP" 3306

step "SIGTERM ends the responder early, with its count"
start_responder 60
expect_probe refused "$VIP" 3306
kill -TERM "$reset_pid"
wait_responder 30
echo "responder: sent $sent"
[ "$sent" -ge 1 ] || fail "responder sent $sent resets after a refused connect"
expect_probe timeout "$VIP" 3306

# Open a connection from the client to the VIP on a, in the background; the client prints
# "connected", then waits for the file $workdir/go-$1, sends a query on the connection and
# prints how reading the answer ends within 1 s: reset, timeout, closed, data or error: ...
# Sets client_pid; output in $workdir/client-$1.out.
open_connection() {
    ip netns exec "$(netns_name "$P" client)" python3 -c '
import os, socket, sys, time
host, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=2)
print("connected", flush=True)
for _ in range(300):
    if os.path.exists(go):
        break
    time.sleep(0.05)
else:
    print("error: never told to go")
    sys.exit(0)
s.settimeout(1.0)
try:
    s.sendall(b"SELECT 1")
    print("data" if s.recv(100) else "closed")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error: %s" % e)
' "$VIP" "$PORT" "$workdir/go-$1" >"$workdir/client-$1.out" 2>&1 &
    client_pid=$!
    pids+=("$client_pid")
    for _ in $(seq 50); do
        grep -q '^connected$' "$workdir/client-$1.out" && return 0
        kill -0 "$client_pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "client could not connect to $VIP:$PORT on a: $(cat "$workdir/client-$1.out")"
}

# Let client $1 send on its connection and check how it ends ($2: reset or timeout).
expect_connection() {
    local got
    touch "$workdir/go-$1"
    for _ in $(seq 100); do
        kill -0 "$client_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$client_pid" 2>/dev/null && fail "client $1 still running after 10 s"
    wait "$client_pid"
    got=$(sed -n '2p' "$workdir/client-$1.out")
    [ "$got" = "$2" ] || fail "open connection $1 to $VIP:$PORT: $got, expected $2"
    echo "ok: open connection $1 to $VIP:$PORT, a no longer holds the VIP -> $got"
}

step "a holds the VIP with a listener on port $PORT that accepts and never answers"
ip netns exec "$(netns_name "$P" a)" python3 -c '
import socket, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", int(sys.argv[1])))
listener.listen(8)
print("listening", flush=True)
accepted = []
while True:
    accepted.append(listener.accept()[0])
' "$PORT" >"$workdir/listener.out" 2>&1 &
pids+=("$!")
for _ in $(seq 50); do
    grep -q '^listening$' "$workdir/listener.out" && break
    sleep 0.1
done
grep -q '^listening$' "$workdir/listener.out" ||
    fail "listener did not start: $(cat "$workdir/listener.out")"

step "(d) an open connection, a removes the VIP, no responder: the client's read times out"
ip -n "$P-a" addr add "$VIP/32" dev "$IF" || fail "cannot add $VIP to a"
open_connection d
ip -n "$P-a" addr del "$VIP/32" dev "$IF" || fail "cannot remove $VIP from a"
expect_connection d timeout

step "(e) an open connection, a removes the VIP and starts the responder: reset"
ip -n "$P-a" addr add "$VIP/32" dev "$IF" || fail "cannot add $VIP to a"
open_connection e
ip -n "$P-a" addr del "$VIP/32" dev "$IF" || fail "cannot remove $VIP from a"
start_responder 60
expect_connection e reset
kill -TERM "$reset_pid"
wait_responder 30
echo "responder: sent $sent"
[ "$sent" -ge 1 ] || fail "responder sent $sent resets for a reset connection"
ip -n "$P-a" -4 -o addr show | grep -q "$VIP/" && fail "VIP is still on a"

step "bad input gives clear errors"
expect_error() {
    local want_rc=$1 pattern=$2
    shift 2
    local err rc
    err=$(netns_exec "$P" a "$mmc_vip" "$@" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" = "$want_rc" ] || fail "mmc-vip $*: exit $rc, expected $want_rc ($err)"
    printf '%s\n' "$err" | grep -q -- "$pattern" ||
        fail "mmc-vip $*: message '$err' does not say '$pattern'"
    echo "ok: mmc-vip $* -> $err"
}
expect_error 3 "$VIP on nosuch0: cannot find the interface: No such device" \
    reset nosuch0 "$VIP" 1
expect_error 3 "not an Ethernet interface" reset lo "$VIP" 1
expect_error 2 "SECONDS 0 is out of range" reset "$IF" "$VIP" 0
expect_error 2 "is not an IPv4 address" reset "$IF" 10.0.0.256 1
expect_error 2 "usage" reset "$IF" "$VIP"

echo "PASS"
exit 0
