#!/usr/bin/env bash
# netops in real network namespaces: the VIP moves from host a to host b on one bridged
# segment, and a client follows it thanks to gratuitous ARP, long before its ARP entry would
# age out. Also: idempotent add/remove, the watch, bad input, and the kernel-enforced lifetime.
# Needs root (namespaces, AF_PACKET); skips (77) otherwise.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
mmc_vip=$top_builddir/netops/mmc-vip

# shellcheck source=tests/lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"
netns_test_require "network namespaces, AF_PACKET sockets" "$mmc_vip" ip python3

P=mmt$$
SUBNET=10.77.$(($$ % 200 + 20))
VIP=$SUBNET.100
PORT=$((20000 + $$ % 20000))
IF=$NETNS_IFNAME
netns_test_start "$P" test_netops

# Run mmc-vip in member $1.
vip_in() {
    local member=$1
    shift
    netns_exec "$P" "$member" "$mmc_vip" "$@"
}

# Print what a TCP connection from the client to $1:$PORT reads (the listener's name).
client_connect() {
    netns_exec "$P" client python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print(s.recv(64).decode().strip())
except OSError as e:
    print("error: %s" % e)
' "$1" "$PORT"
}

start_listener() {
    local member=$1
    # ip netns exec execs the command: $! is the listener's own PID (a shell function in the
    # background would be a subshell, and killing it would leave the listener running).
    ip netns exec "$(netns_name "$P" "$member")" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[2].encode() + b"\n")
    c.close()
' "$PORT" "$member" &
    pids+=($!)
    local own_ip
    own_ip=$(netns_ip "$P" "$member")
    for _ in $(seq 50); do
        [ "$(client_connect "$own_ip")" = "$member" ] && return 0
        sleep 0.1
    done
    fail "listener on $member ($own_ip:$PORT) did not come up"
}

client_neigh_mac() {
    ip -n "$P-client" neigh show "$VIP" dev "$IF" | sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p'
}

addresses_of() {
    ip -n "$P-$1" -4 -o addr show dev "$IF"
}

step "segment $P on $SUBNET.0/24: members a, b, client; VIP $VIP/32"
netns_segment_up "$P" "$SUBNET" a b || fail "cannot build the segment"
mac_a=$(netns_mac "$P" a)
mac_b=$(netns_mac "$P" b)
if [ -z "$mac_a" ] || [ -z "$mac_b" ]; then
    fail "cannot read the members' MACs"
fi
start_listener a
start_listener b

step "a adds the VIP and announces it"
vip_in a add "$IF" "$VIP/32" --announce --count 3 --interval-ms 50 ||
    fail "add+announce on a failed"
addresses_of a | grep -q "inet $VIP/32 .*$IF:mmc" ||
    fail "VIP not on a with label $IF:mmc: $(addresses_of a)"
vip_in a has "$IF" "$VIP/32" >/dev/null || fail "has says absent on a"
reply=$(client_connect "$VIP")
[ "$reply" = a ] || fail "client connect to VIP reached '$reply', expected a"
[ "$(client_neigh_mac)" = "$mac_a" ] ||
    fail "client neighbour entry for VIP is '$(client_neigh_mac)', expected a's $mac_a"
echo "client: $(ip -n "$P-client" neigh show "$VIP")"

step "idempotence: adding a present VIP and removing an absent one change nothing"
before=$(addresses_of a)
vip_in a add "$IF" "$VIP/32" || fail "second add on a failed"
[ "$(addresses_of a)" = "$before" ] || fail "second add changed a: $(addresses_of a)"
before_b=$(addresses_of b)
vip_in b del "$IF" "$VIP/32" || fail "removing an absent VIP on b failed"
[ "$(addresses_of b)" = "$before_b" ] || fail "removing an absent VIP changed b"
out=$(vip_in b has "$IF" "$VIP/32")
rc=$?
if [ $rc != 1 ] || [ "$out" != absent ]; then
    fail "has on b: rc $rc '$out', expected 1 'absent'"
fi

step "move: a removes, b adds and announces; the client follows at once"
state=$(ip -n "$P-client" neigh show "$VIP" dev "$IF")
case $state in
*REACHABLE* | *STALE* | *DELAY*) ;;
*) fail "client has no usable entry for the VIP before the move: '$state'" ;;
esac
vip_in a del "$IF" "$VIP/32" || fail "del on a failed"
vip_in a has "$IF" "$VIP/32" >/dev/null && fail "VIP still on a after del"
vip_in b add "$IF" "$VIP/32" --announce --count 3 --interval-ms 50 ||
    fail "add+announce on b failed"
# No connection is made before this check: only the announcement can have updated the entry
# (ARP ageing would take tens of seconds: base_reachable_time 30 s, then probes).
for _ in $(seq 20); do
    [ "$(client_neigh_mac)" = "$mac_b" ] && break
    sleep 0.1
done
[ "$(client_neigh_mac)" = "$mac_b" ] ||
    fail "client entry is '$(client_neigh_mac)' after b's announcement, expected b's $mac_b"
echo "client: $(ip -n "$P-client" neigh show "$VIP")"
reply=$(client_connect "$VIP")
[ "$reply" = b ] || fail "client connect after the move reached '$reply', expected b"

step "watch on b sees a hand-made 'ip addr del' and the interface set down"
ip netns exec "$(netns_name "$P" b)" "$mmc_vip" watch "$IF" "$VIP/32" \
    >"$workdir/watch.out" 2>"$workdir/watch.err" &
watch_pid=$!
pids+=("$watch_pid")
for _ in $(seq 50); do
    grep -q '^watching$' "$workdir/watch.out" && break
    sleep 0.1
done
grep -q '^watching$' "$workdir/watch.out" || fail "watch did not start: $(cat "$workdir/watch.err")"
ip -n "$P-b" addr del "$VIP/32" dev "$IF" || fail "ip addr del on b failed"
for _ in $(seq 50); do
    grep -q '^vip-removed$' "$workdir/watch.out" && break
    sleep 0.1
done
grep -q '^vip-removed$' "$workdir/watch.out" ||
    fail "watch missed the removal: $(cat "$workdir/watch.out")"
ip -n "$P-b" link set dev "$IF" down || fail "ip link set down on b failed"
for _ in $(seq 50); do
    grep -q '^link-down$' "$workdir/watch.out" && break
    sleep 0.1
done
grep -q '^link-down$' "$workdir/watch.out" ||
    fail "watch missed the link going down: $(cat "$workdir/watch.out")"
ip -n "$P-b" link set dev "$IF" up || fail "ip link set up on b failed"
for _ in $(seq 50); do
    grep -q '^link-up$' "$workdir/watch.out" && break
    sleep 0.1
done
grep -q '^link-up$' "$workdir/watch.out" ||
    fail "watch missed the link coming up: $(cat "$workdir/watch.out")"
vip_in b add "$IF" "$VIP/32" || fail "re-add on b failed"
for _ in $(seq 50); do
    grep -q '^vip-added$' "$workdir/watch.out" && break
    sleep 0.1
done
grep -q '^vip-added$' "$workdir/watch.out" ||
    fail "watch missed the re-add: $(cat "$workdir/watch.out")"
kill "$watch_pid"
wait "$watch_pid"
echo "watch saw: $(tr '\n' ' ' <"$workdir/watch.out")"

step "bad input gives clear errors"
expect_error() {
    local want_rc=$1 pattern=$2
    shift 2
    local err rc
    err=$(vip_in a "$@" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" = "$want_rc" ] || fail "mmc-vip $*: exit $rc, expected $want_rc ($err)"
    printf '%s\n' "$err" | grep -q -- "$pattern" ||
        fail "mmc-vip $*: message '$err' does not say '$pattern'"
    echo "ok: mmc-vip $* -> $err"
}
expect_error 3 "on nosuch0: No such device" add nosuch0 "$VIP/32"
expect_error 3 "on nosuch0: No such device" del nosuch0 "$VIP/32"
expect_error 2 "is not an IPv4 address" add "$IF" "$SUBNET/32"
expect_error 2 "is not an IPv4 address" add "$IF" "10.0.0.256/32"
expect_error 2 "out of range (1..32)" add "$IF" "$VIP/33"
expect_error 2 "out of range (1..32)" add "$IF" "$VIP/0"
expect_error 2 "has no prefix length" add "$IF" "$VIP"
expect_error 2 "IPv6 VIPs are not supported" add "$IF" "fd00::10/64"
expect_error 2 "count 0 is out of range" announce "$IF" "$VIP/32" --count 0
expect_error 3 "on nosuch0" announce nosuch0 "$VIP/32" --count 1

step "lifetime: the kernel removes a VIP added with lifetime 1 s"
LIFE=$SUBNET.101
vip_in a add "$IF" "$LIFE/32" --lifetime 1 || fail "add with lifetime failed"
addresses_of a | grep -q "inet $LIFE/32 .*valid_lft [0-9]*sec" ||
    fail "no finite lifetime on the address: $(addresses_of a)"
sleep 3
out=$(vip_in a has "$IF" "$LIFE/32")
[ "$out" = absent ] || fail "VIP with lifetime 1 s still $out after 3 s"

step "renewal: add again with a fresh lifetime keeps it"
vip_in a add "$IF" "$LIFE/32" --lifetime 2 || fail "add with lifetime 2 failed"
sleep 1
vip_in a add "$IF" "$LIFE/32" --lifetime 2 || fail "renewal failed"
sleep 1
vip_in a has "$IF" "$LIFE/32" >/dev/null || fail "renewed VIP vanished before its new lifetime"
vip_in a add "$IF" "$LIFE/32" || fail "making the lifetime infinite failed"
addresses_of a | grep "inet $LIFE/32" | grep -q "valid_lft forever" ||
    fail "add without lifetime did not make it permanent: $(addresses_of a)"

echo "PASS"
exit 0
