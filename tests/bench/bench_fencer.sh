#!/usr/bin/env bash
# Benchmark (not a test): how late after the deadline mmcoord-fencer has MySQL read_only ON
# (clients killed) and the VIP gone, median and max over N runs (default 10), taken from the
# fencer's own log (CLOCK_BOOTTIME, the clock of the deadline); plus its memory and its CPU
# when idle and when renewed every 250 ms. One host namespace and a client, a MariaDB in the
# host with one application session open through the VIP at each deadline. Needs root,
# python3, mariadbd and a build: usage tests/bench/bench_fencer.sh [BUILD_DIR [RUNS]]
set -u
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top_srcdir/build}
runs=${2:-10}
fencer=$build/coord/mmcoord-fencer
mmc_vip=$build/netops/mmc-vip
# shellcheck source=tests/lib/mariadb.sh
. "$top_srcdir/tests/lib/mariadb.sh"
# shellcheck source=tests/lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"
[ "$(id -u)" = 0 ] && mariadb_available && command -v python3 >/dev/null ||
    { echo "needs root, python3 and mariadbd"; exit 77; }

P=mmb$$
SUBNET=10.79.$(($$ % 200 + 20))
VIP=$SUBNET.100
IF=$NETNS_IFNAME
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_fencer.XXXXXX")
sock=$work/fencer.sock
log=$work/fencer.log
fencer_pid=
holder_pid=
cleanup() {
    [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
    [ -n "$fencer_pid" ] && kill -KILL "$fencer_pid" 2>/dev/null
    mariadb_teardown
    netns_segment_down "$P"
    rm -rf "$work"
}
trap cleanup EXIT
die() { echo "bench_fencer: $*" >&2; exit 1; }
boot_ms() { python3 -c 'import time; print(int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000))'; }
say() {
    python3 - "$sock" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rw")
for line in sys.argv[2:]:
    f.write(line + "\n"); f.flush(); f.readline()
PY
}

netns_segment_up "$P" "$SUBNET" h || die "segment"
PORT=$(mariadb_free_port) || die "port"
MARIADB_EXEC="ip netns exec $P-h"
mariadb_init m1 "$work" 0.0.0.0 "$PORT" 1 master && mariadb_start m1 && mariadb_create_users m1 ||
    die "mariadbd"
cred=$work/client.cnf
printf '[client]\nuser = %s\npassword = "%s"\n' "$MARIADB_COORD_USER" "$MARIADB_COORD_PASSWORD" >"$cred"
chmod 600 "$cred"
ip netns exec "$P-h" "$fencer" --socket "$sock" --vip "$VIP/32" --interface "$IF" \
    --mysql "127.0.0.1:$PORT" --credentials "$cred" >"$log" 2>&1 &
fencer_pid=$!
disown "$fencer_pid"
sleep 0.5

ro_late=() vip_late=()
for epoch in $(seq 1 "$runs"); do
    mariadb_sql m1 "SET GLOBAL read_only=OFF" || die "unfence"
    ip netns exec "$P-h" "$mmc_vip" add "$IF" "$VIP/32" >/dev/null || die "vip add"
    MYSQL_PWD=$MARIADB_APP_PASSWORD ip netns exec "$P-client" mariadb --no-defaults \
        --protocol=TCP -h "$VIP" -P "$PORT" -u "$MARIADB_APP_USER" -e "SELECT SLEEP(30)" \
        >/dev/null 2>&1 &
    holder_pid=$!
    sleep 0.2
    say "ARM $epoch $(($(boot_ms) + 500))"
    sleep 0.9
    kill "$holder_pid" 2>/dev/null
    wait "$holder_pid" 2>/dev/null
    holder_pid=
    block=$(awk -v e="epoch $epoch:" 'index($0, e) { on = 1 } on' "$log")
    ro=$(sed -n 's/.*fence: mysql .*read_only=ON.* = deadline+\([0-9]*\) ms.*/\1/p' <<<"$block" | head -1)
    vip=$(sed -n 's/.*fence: VIP .* = deadline+\([0-9]*\) ms.*/\1/p' <<<"$block" | head -1)
    [ -n "$ro" ] && [ -n "$vip" ] || { cat "$log"; die "run $epoch: no fence in the log"; }
    ro_late+=("$ro")
    vip_late+=("$vip")
done
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %d ms, max %d ms (n=%d)", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR], NR }'; }
echo "deadline -> read_only ON and clients killed: $(stats "${ro_late[@]}")"
echo "deadline -> VIP gone:                        $(stats "${vip_late[@]}")"
grep -o "[0-9]* client(s) killed" "$log" | sort | uniq -c | sed 's/^/  /'

# Nanoseconds on a CPU so far (finer than the clock ticks of /proc/PID/stat).
cpu_ns() { awk '{ print $1 }' "/proc/$fencer_pid/schedstat"; }
say "ARM 1000 $(($(boot_ms) + 600000))"
c0=$(cpu_ns)
sleep 10
c1=$(cpu_ns)
echo "idle, armed, no client: $(((c1 - c0) / 1000)) us CPU in 10 s"
python3 - "$sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rw")
end = time.clock_gettime(time.CLOCK_BOOTTIME) + 10
while time.clock_gettime(time.CLOCK_BOOTTIME) < end:
    now = int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000)
    f.write("ARM 1000 %d\n" % (now + 600000)); f.flush(); f.readline()
    time.sleep(0.25)
PY
c0=$(cpu_ns)
wait $!
c1=$(cpu_ns)
echo "renewed every 250 ms for 10 s (40 ARMs): $(((c1 - c0) / 1000)) us CPU"
grep -E "VmRSS|VmHWM" "/proc/$fencer_pid/status" | tr -s ' \t' ' '
say "DISARM 1000"
