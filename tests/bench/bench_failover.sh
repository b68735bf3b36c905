#!/usr/bin/env bash
# Benchmark (not a test): failover on the lab, N trials per scenario, each on a fresh lab.
#   tests/bench/bench_failover.sh [TRIALS] [SCENARIO...]   scenarios: mysqld-kill cut-off daemon-kill
# For each trial: a client writes through the VIP (one insert per connection) and a watcher
# samples the VIP holders every 20 ms; then the fault. Printed per scenario: the time from the
# fault to the VIP on the new writer, the client's write pause (last ack before the fault to
# the first ack after), samples with two VIP holders (must be 0) and acknowledged writes
# missing on the new writer (must be 0): median, p99 (the max at these counts) and max.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export MMC_BUILD_DIR=${MMC_BUILD_DIR:-$top/build}
. "$top/tests/lib/netns.sh"
. "$top/tests/lib/labclient.sh"
trials=${1:-5}
shift || true
scenarios=${*:-mysqld-kill cut-off daemon-kill}
LAB=$top/jepsen/lab
base=$(mktemp -d /tmp/mmb-fo.XXXXXX)
trap '"$LAB" down --dir "$base/lab" > /dev/null 2>&1; rm -rf "$base"' EXIT
now_ms() { lab_now_ms; }

stats() { # name values...
    local name=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v n="$name" '{a[NR]=$1} END {
        if (NR == 0) { printf "%-34s no data\n", n; exit }
        p99 = a[int(0.99 * NR + 0.999)]; med = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
        printf "%-34s median %6.0f   p99 %6.0f   max %6.0f   (%d trials)\n", n, med, p99, a[NR], NR }'
}

trial() { # scenario -> prints "move_ms pause_ms dual lost"
    local scenario=$1 lab=$base/lab
    "$LAB" up --dir "$lab" > "$base/up.log" 2>&1 || { cat "$base/up.log" >&2; return 1; }
    LAB_JSON=$lab/lab.json
    q() { labq "$1"; }
    local writer other db
    writer=$(q .writer)
    other=m2
    [ "$writer" = m2 ] && other=m1
    db=$(q .client.database)
    lab_client_sql "CREATE TABLE b (id INT PRIMARY KEY)" || return 1
    lab_watch_vip "$base/vip.log" &
    local watcher=$!
    (i=0; while :; do i=$((i + 1)); lab_client_sql "INSERT INTO b VALUES ($i)" 2> /dev/null && echo "$i $(now_ms)"; done) > "$base/acked.log" &
    local writer_loop=$!
    sleep 2
    local t0
    t0=$(now_ms)
    case $scenario in
    mysqld-kill) kill -KILL "$(q ".hosts.$writer.mysql_pid")" ;;
    daemon-kill) kill -KILL "$(q ".hosts.$writer.daemon_pid")" ;;
    cut-off) netns_port_down "$(q .prefix)" "$writer" ;;
    esac
    local t1=""
    for _ in $(seq 500); do
        if tail -n 1 "$base/vip.log" | grep -q " $other,\$"; then t1=$(now_ms); break; fi
        sleep 0.02
    done
    sleep 3
    kill "$writer_loop" "$watcher" 2> /dev/null
    wait "$writer_loop" "$watcher" 2> /dev/null
    local pause dual lost=0
    # The longest gap between two acknowledgements from the last one before the fault on: the
    # old writer may still serve inside its lease, so the first ack after the fault is not it.
    pause=$(awk -v t="$t0" '{ if ($2 <= t) { last = $2; next } if (last != "" && $2 - last > max) max = $2 - last; last = $2 } END { print max + 0 }' "$base/acked.log")
    dual=$(grep -c ',.*,' "$base/vip.log")
    local sock
    sock=$(q ".hosts.$other.mysql_socket")
    for id in $(cut -d' ' -f1 "$base/acked.log"); do
        [ "$(mariadb --no-defaults -uroot -S "$sock" -N -B -e "SELECT COUNT(*) FROM $db.b WHERE id=$id")" = 1 ] || lost=$((lost + 1))
    done
    if [ -n "${MMC_BENCH_KEEP_SLOW_MS:-}" ] && [ $(( ${t1:-0} - t0 )) -gt "$MMC_BENCH_KEEP_SLOW_MS" ]; then
        # Keep the daemons' logs of a slow trial for a look (MMC_BENCH_KEEP_SLOW_MS=5000).
        local keep
        keep=$(mktemp -d /tmp/mmb-slow.XXXXXX)
        cp "$lab"/*/mmcoordd.log "$lab"/*/fencer.sock.log "$lab/lab.json" "$keep"/ 2> /dev/null
        for x in m1 m2 s; do cp "$lab/$x/mmcoordd.log" "$keep/$x.log" 2> /dev/null; done
        echo "slow trial: logs kept in $keep" >&2
    fi
    "$LAB" down --dir "$lab" > /dev/null 2>&1
    echo "$(( ${t1:-0} - t0 )) $pause $dual $lost"
}

for scenario in $scenarios; do
    moves=() pauses=() duals=() losts=()
    for n in $(seq "$trials"); do
        r=$(trial "$scenario") || { echo "$scenario trial $n failed"; continue; }
        read -r m p d l <<< "$r"
        echo "$scenario trial $n: VIP moved after $m ms, write pause $p ms, two-holder samples $d, lost $l"
        moves+=("$m") pauses+=("$p") duals+=("$d") losts+=("$l")
    done
    echo "== $scenario"
    stats "fault -> VIP on the new writer (ms)" "${moves[@]}"
    stats "client write pause (ms)" "${pauses[@]}"
    stats "samples with two VIP holders" "${duals[@]}"
    stats "acknowledged writes lost" "${losts[@]}"
done
