#!/usr/bin/env bash
# Figures for the probe (not a test: nothing is asserted). Starts one MariaDB on loopback and
# prints
#   - the probe round trip on a kept-open connection (1000 probes: median, p90, p99, max),
#   - the time from SIGKILL of mariadbd to a probe reporting it down, median of 20 kills,
#     with probes back to back, and with the daemon's 100 ms probe interval (the kill lands at
#     a random moment within an interval);
#   - the same through a worker that watches its idle connection, as the daemon's does
#     (mysql/worker.h): the kill is seen as a hang-up and probed at once, whatever the interval.
# Usage: mysql/bench-probe.sh [BUILD_DIR]   (default: ./build); needs root and mariadb-server.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
lab=$build/tests/lab/mysql_lab
# shellcheck source=tests/lib/mariadb.sh
. "$top/tests/lib/mariadb.sh"
mariadb_available || { echo "mariadbd not installed" >&2; exit 1; }
[ -x "$lab" ] || { echo "$lab not built: make -C $build check TESTS=" >&2; exit 1; }
base=$(mktemp -d "${TMPDIR:-/tmp}/mmt-bench.$$.XXXXXX")
trap 'mariadb_teardown; rm -rf "$base"' EXIT
A=127.0.0.1
port=$(mariadb_free_port $A)
mariadb_init b1 "$base" $A "$port" 1 master >/dev/null && mariadb_start b1 && mariadb_create_users b1 || exit 1

"$lab" bench-rtt $A "$port" 1000

median() { sort -n | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
for interval in 0 100; do
    : >"$base/down.txt"
    for _ in $(seq 1 20); do
        "$lab" bench-down $A "$port" "$(mariadb_pid b1)" "$interval" >>"$base/down.txt" || exit 1
        mariadb_stop b1
        mariadb_start b1 || exit 1
    done
    states=$(cut -d' ' -f2 "$base/down.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
    [ -n "${BENCH_VERBOSE:-}" ] && cat "$base/down.txt"
    printf 'SIGKILL to probe reporting down, probe interval %s ms: median %s ms over 20 (min %s, max %s; states:%s)\n' \
        "$interval" "$(cut -d' ' -f1 "$base/down.txt" | median)" \
        "$(cut -d' ' -f1 "$base/down.txt" | sort -n | head -1)" \
        "$(cut -d' ' -f1 "$base/down.txt" | sort -n | tail -1)" "$states"
done
: >"$base/down.txt"
for _ in $(seq 1 20); do
    "$lab" down-event $A "$port" "$(mariadb_pid b1)" 100 bench >>"$base/down.txt" || exit 1
    mariadb_stop b1
    mariadb_start b1 || exit 1
done
states=$(cut -d' ' -f2 "$base/down.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
[ -n "${BENCH_VERBOSE:-}" ] && cat "$base/down.txt"
printf 'SIGKILL to probe reporting down, worker watching its connection, probe interval 100 ms: median %s ms over 20 (min %s, max %s; states:%s)\n' \
    "$(cut -d' ' -f1 "$base/down.txt" | median)" \
    "$(cut -d' ' -f1 "$base/down.txt" | sort -n | head -1)" \
    "$(cut -d' ' -f1 "$base/down.txt" | sort -n | tail -1)" "$states"
