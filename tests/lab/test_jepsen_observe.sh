#!/usr/bin/env bash
# jepsen/observe in real network namespaces: the VIP observer of each host writes the state it
# finds at start and then every add and del, on the history's clock; the ARP observer on the
# bridge sees gratuitous ARP (netops/mmc-vip announce), requests and unicast replies between
# two ports, and names the lab host owning each sender MAC. Also: SIGTERM stops both with exit
# status 0 and whole lines, and bad usage is refused. Needs root (namespaces, AF_PACKET, jq).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
observe=$top_builddir/jepsen/observe
mmc_vip=$top_builddir/netops/mmc-vip

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (network namespaces, AF_PACKET sockets)"
    exit 77
fi
for tool in ip jq python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
if ! ip netns add "mmtprobe$$" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here"
    exit 77
fi
ip netns del "mmtprobe$$"
for program in "$observe" "$mmc_vip"; do
    [ -x "$program" ] || { echo "FAIL: $program is not built"; exit 1; }
done

# shellcheck source=tests/lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"

P=mmo$$
SUBNET=10.78.$(($$ % 200 + 20))
VIP=$SUBNET.100
pids=()
workdir=$(mktemp -d "${TMPDIR:-/tmp}/test_jepsen_observe.XXXXXX")

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    netns_segment_down "$P"
    rm -rf "$workdir"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    for f in "$workdir"/*.jsonl "$workdir"/*.log; do
        [ -f "$f" ] && { echo "---- $f"; cat "$f"; }
    done
    exit 1
}

step() {
    echo "--- $*"
}

# Start an observer in namespace member $1 (or "switch"), logging to $2.log; wait until it
# says "observing". Its PID goes to $last_pid and pids.
start_observer() {
    local member=$1 name=$2
    shift 2
    ip netns exec "$P-$member" "$observe" "$@" >"$workdir/$name.log" 2>&1 &
    last_pid=$!
    pids+=("$last_pid")
    for _ in $(seq 1 50); do
        grep -q '^observing' "$workdir/$name.log" && return 0
        sleep 0.1
    done
    fail "observer $name did not start: $(cat "$workdir/$name.log")"
}

# Wait up to 5 s until FILE has a line matching the jq condition COND.
wait_line() {
    local file=$1 cond=$2
    for _ in $(seq 1 50); do
        [ -f "$file" ] && jq -e "select($cond)" "$file" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    fail "no line with $cond in $file"
}

stop_observer() {
    local pid=$1 status
    kill -TERM "$pid"
    wait "$pid"
    status=$?
    [ "$status" = 0 ] || fail "observer $pid exited with $status on SIGTERM (want 0)"
}

netns_segment_up "$P" "$SUBNET" a b || fail "cannot build the segment"
jq -n --arg a "$(netns_mac "$P" a)" --arg b "$(netns_mac "$P" b)" \
    --arg c "$(netns_mac "$P" client)" \
    '{hosts: {a: {mac: $a}, b: {mac: $b}}, client: {mac: $c}}' >"$workdir/lab.json"

step "bad usage is refused with exit status 2"
"$observe" --vip "$VIP" --host a --out "$workdir/x.jsonl" 2>"$workdir/usage.err"
[ $? = 2 ] || fail "--vip without a prefix length must exit 2"
grep -q "prefix" "$workdir/usage.err" || fail "the message must ask for the prefix length: $(cat "$workdir/usage.err")"
"$observe" --arp --out "$workdir/x.jsonl" 2>/dev/null
[ $? = 2 ] || fail "--arp without --lab must exit 2"
"$observe" --vip "$VIP/24" --host a 2>/dev/null
[ $? = 2 ] || fail "a missing --out must exit 2"

step "the observers start: the VIP is absent everywhere"
t_before=$("$observe" --now)
start_observer a obs-a --vip "$VIP/24" --host a --out "$workdir/a.jsonl"
pid_a=$last_pid
start_observer b obs-b --vip "$VIP/24" --host b --out "$workdir/b.jsonl"
pid_b=$last_pid
start_observer switch obs-arp --arp --lab "$workdir/lab.json" --out "$workdir/arp.jsonl"
pid_arp=$last_pid
wait_line "$workdir/a.jsonl" '.type == "vip" and .host == "a" and .event == "absent"'
wait_line "$workdir/b.jsonl" '.type == "vip" and .host == "b" and .event == "absent"'

step "the VIP is added on a with gratuitous ARP: a says add, the bridge sees a's announcements"
netns_exec "$P" a "$mmc_vip" add "$NETNS_IFNAME" "$VIP/24" --announce --count 2 --interval-ms 50 ||
    fail "mmc-vip add on a"
wait_line "$workdir/a.jsonl" '.event == "add"'
wait_line "$workdir/arp.jsonl" ".op == \"request\" and .sender_ip == \"$VIP\" and .host == \"a\""
n=$(jq -c "select(.sender_ip == \"$VIP\" and .host == \"a\")" "$workdir/arp.jsonl" | wc -l)
[ "$n" = 2 ] || fail "want the 2 announcements of a once each (one copy per frame), saw $n"
jq -e "select(.host == \"a\") | .sender_mac == \"$(netns_mac "$P" a)\"" "$workdir/arp.jsonl" |
    grep -qv true && fail "a's frames must carry a's MAC"

step "a renewal (the same address again) is not a change"
netns_exec "$P" a "$mmc_vip" add "$NETNS_IFNAME" "$VIP/24" --lifetime 30 || fail "renewal on a"
sleep 0.3
[ "$(jq -c 'select(.event == "add")' "$workdir/a.jsonl" | wc -l)" = 1 ] ||
    fail "a renewal must not be written as a second add"

step "the VIP moves to b: a says del, b says add, a client's ARP request is answered by b"
netns_exec "$P" a "$mmc_vip" del "$NETNS_IFNAME" "$VIP/24" || fail "mmc-vip del on a"
wait_line "$workdir/a.jsonl" '.event == "del"'
netns_exec "$P" b "$mmc_vip" add "$NETNS_IFNAME" "$VIP/24" || fail "mmc-vip add on b"
wait_line "$workdir/b.jsonl" '.event == "add"'
# The client has no ARP entry for the VIP: connecting makes it ask, and b answers (unicast).
netns_exec "$P" client python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), timeout=1)
except OSError:
    pass
' "$VIP"
wait_line "$workdir/arp.jsonl" ".op == \"request\" and .host == \"client\" and .target_ip == \"$VIP\""
wait_line "$workdir/arp.jsonl" ".op == \"reply\" and .sender_ip == \"$VIP\" and .host == \"b\""

step "an observer started while the VIP is there says present"
start_observer b obs-b2 --vip "$VIP/24" --host b --out "$workdir/b2.jsonl"
pid_b2=$last_pid
wait_line "$workdir/b2.jsonl" '.event == "present"'

step "SIGTERM stops every observer with status 0; every line is whole JSON on one clock"
for pid in "$pid_a" "$pid_b" "$pid_b2" "$pid_arp"; do
    stop_observer "$pid"
done
pids=()
t_after=$("$observe" --now)
for f in a b b2 arp; do
    jq -e . "$workdir/$f.jsonl" >/dev/null || fail "$f.jsonl holds a line that is not JSON"
    jq -e --argjson lo "$t_before" --argjson hi "$t_after" 'select(.t < $lo or .t > $hi)' \
        "$workdir/$f.jsonl" | grep -q . && fail "$f.jsonl has a time outside [$t_before, $t_after]"
    jq -s -e '[.[].t] == ([.[].t] | sort)' "$workdir/$f.jsonl" >/dev/null ||
        fail "$f.jsonl times are not in order"
done
[ "$(jq -r .event "$workdir/a.jsonl" | tr '\n' ' ')" = "absent add del " ] ||
    fail "a's history is $(jq -r .event "$workdir/a.jsonl" | tr '\n' ' '), want: absent add del"
[ "$(jq -r .event "$workdir/b.jsonl" | tr '\n' ' ')" = "absent add " ] ||
    fail "b's history is $(jq -r .event "$workdir/b.jsonl" | tr '\n' ' '), want: absent add"
echo "PASS"
