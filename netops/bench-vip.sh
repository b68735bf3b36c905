#!/usr/bin/env bash
# Benchmark (not a test): move the VIP between two hosts of a namespace segment MOVES times
# (default 20) with mmc-vip, and print median and max of
#   add->garp     from the add call on the new holder to the first gratuitous ARP for the VIP
#                 captured in the client namespace (tcpdump timestamps);
#   move->connect from the start of the move (before the old holder removes the VIP) to the
#                 client's first successful TCP connect to the VIP that reaches the new holder
#                 (a prober in the client starts a non-blocking connect every 10 ms).
# A move here is two CLI processes (del on the old holder, add --announce on the new one), so
# the figures include process start-up and `ip netns exec`; the daemon pays neither.
#
# usage: netops/bench-vip.sh [BUILD_DIR] [MOVES]     (root; needs tcpdump and python3)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
moves=${2:-20}
mmc_vip=$build/netops/mmc-vip
[ "$(id -u)" = 0 ] || { echo "bench-vip: needs root" >&2; exit 2; }
[ -x "$mmc_vip" ] || { echo "bench-vip: build first: $mmc_vip missing" >&2; exit 2; }
command -v tcpdump >/dev/null || { echo "bench-vip: needs tcpdump" >&2; exit 2; }

# shellcheck source=tests/lib/netns.sh
. "$top/tests/lib/netns.sh"

P=mmb$$
SUBNET=10.78.$(($$ % 200 + 20))
VIP=$SUBNET.100
PORT=$((20000 + $$ % 20000))
IF=$NETNS_IFNAME
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-vip.XXXXXX")
pids=()

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    netns_segment_down "$P"
    rm -rf "$work"
}
trap cleanup EXIT

netns_segment_up "$P" "$SUBNET" a b

for member in a b; do
    ip netns exec "$(netns_name "$P" "$member")" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[2].encode() + b"\n")
    c.close()
' "$PORT" "$member" &
    pids+=($!)
done

ip netns exec "$(netns_name "$P" client)" tcpdump -i "$IF" -n -l -tt --immediate-mode \
    'arp and arp[14:4] = arp[24:4]' >"$work/garp.txt" 2>"$work/tcpdump.err" &
pids+=($!)

# Prober: every 10 ms a new non-blocking connect to the VIP (each gives up after 1 s);
# logs "<completion time> <host that answered>" per success.
ip netns exec "$(netns_name "$P" client)" python3 -c '
import selectors, socket, sys, time
vip, port, out = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w", buffering=1)
sel = selectors.DefaultSelector()
next_start = time.time()
while True:
    now = time.time()
    if now >= next_start:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((vip, port))
        sel.register(s, selectors.EVENT_READ, now)
        next_start = now + 0.010
    for key, _ in sel.select(timeout=max(0.0, next_start - time.time())):
        s = key.fileobj
        sel.unregister(s)
        try:
            data = s.recv(64)
        except OSError:
            data = b""
        if data:
            out.write("%.6f %s\n" % (time.time(), data.decode().strip()))
        s.close()
    for key in list(sel.get_map().values()):
        if time.time() - key.data > 1.0:
            sel.unregister(key.fileobj)
            key.fileobj.close()
' "$VIP" "$PORT" "$work/connects.txt" &
pids+=($!)
sleep 1 # tcpdump and the listeners start

holder=a
other=b
ip netns exec "$(netns_name "$P" a)" "$mmc_vip" add "$IF" "$VIP/32" --announce --count 3 \
    --interval-ms 50 >/dev/null
sleep 1
for i in $(seq "$moves"); do
    start=$(date +%s.%N)
    ip netns exec "$(netns_name "$P" "$holder")" "$mmc_vip" del "$IF" "$VIP/32"
    ip netns exec "$(netns_name "$P" "$other")" "$mmc_vip" add "$IF" "$VIP/32" --announce \
        --count 3 --interval-ms 50 --trace | sed -n "s/^add-call /$i $other $start /p" \
        >>"$work/moves.txt"
    sleep 1.5
    tmp=$holder
    holder=$other
    other=$tmp
done
sleep 0.5
if [ ! -s "$work/garp.txt" ]; then
    echo "bench-vip: tcpdump captured nothing: $(cat "$work/tcpdump.err")" >&2
fi

python3 - "$work/moves.txt" "$work/garp.txt" "$work/connects.txt" "$VIP" <<'EOF'
import statistics, sys
moves = [l.split() for l in open(sys.argv[1])]
garps = []
for line in open(sys.argv[2]):
    fields = line.split()  # "<time> ARP, Request who-has VIP tell VIP, length 28"
    if "who-has" in fields and fields[fields.index("who-has") + 1] == sys.argv[4]:
        garps.append(float(fields[0]))
connects = [(float(t), host) for t, host in (l.split() for l in open(sys.argv[3]))]
add_to_garp, move_to_connect = [], []
for _, new, start, add_call in moves:
    start, add_call = float(start), float(add_call)
    first_garp = min((t for t in garps if t >= add_call), default=None)
    first_ok = min((t for t, host in connects if t >= start and host == new), default=None)
    if first_garp is not None:
        add_to_garp.append((first_garp - add_call) * 1000)
    if first_ok is not None:
        move_to_connect.append((first_ok - start) * 1000)
def show(name, values):
    if not values:
        print("%-14s no samples" % name)
        return
    print("%-14s n=%d median %.1f ms  max %.1f ms  min %.1f ms" % (
        name, len(values), statistics.median(values), max(values), min(values)))
show("add->garp", add_to_garp)
show("move->connect", move_to_connect)
print("moves: %d" % len(moves))
EOF
