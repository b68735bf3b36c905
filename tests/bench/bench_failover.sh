#!/usr/bin/env bash
# Benchmark (not a test): failover on the lab, N trials per scenario.
#   tests/bench/bench_failover.sh [TRIALS] [SCENARIO...]
#   scenarios: mysqld-kill cut-off daemon-kill host-kill daemon-fencer-kill
# For each trial: a client writes through the VIP (one insert per connection) and a watcher
# samples the VIP holders every ~30 ms; then the fault:
#   mysqld-kill  SIGKILL of the writer's mariadbd
#   daemon-kill  SIGKILL of the writer's mmcoordd (its fencer fences at the lease's end)
#   daemon-fencer-kill  SIGKILL of the writer's mmcoordd and its fencer together (only the
#                kernel's address lifetime takes the VIP off the host)
#   host-kill    SIGKILL of every process of the writer's host (mariadbd, mmcoordd, fencer)
#                and its cable unplugged
#   cut-off      the writer's cable unplugged, everything running
# Printed per trial, and per scenario as median, p99 (the max at these counts) and max: the time
# from the fault to the VIP on the new writer, the client's write pause (the longest gap between
# two acknowledgements from the last one before the fault on), the time two hosts held the VIP
# (must be 0) and the acknowledged writes missing on the new writer (must be 0); per trial also
# where the time went, from the daemons' logs: the leader's decision, the new writer's apply of
# it, its opening (read_only off) and its VIP.
# One lab serves every trial: after a trial `jepsen/lab heal` brings the faulted host back and
# the next trial waits until one writer holds the VIP and every server replicates (a fresh lab
# when that does not happen within 60 s, or for every trial with MMC_BENCH_FRESH=1).
# The client is the mariadb command-line client, one connection per insert, with a 1 s connect
# timeout; MMC_BENCH_CLIENT_TIMEOUT=S (seconds, default 10) bounds each attempt as a whole, as
# an application's own statement timeout would (a SYN sent to a host that is gone is retried by
# the kernel only after 1 s, so the client's bound shapes the pause it sees).
# MMC_BENCH_UP_ARGS is passed to `jepsen/lab up` (e.g. --async: lost writes are then expected
# and counted). MMC_BENCH_KEEP_SLOW_MS=MS keeps the daemons' and fencers' logs and the trial's watcher files
# of every trial whose VIP move took longer than MS (the directory is printed).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export MMC_BUILD_DIR=${MMC_BUILD_DIR:-$top/build}
. "$top/tests/lib/netns.sh"
. "$top/tests/lib/labclient.sh"
export LAB_CLIENT_TIMEOUT=${MMC_BENCH_CLIENT_TIMEOUT:-10}
echo "client: mariadb CLI, one connection per insert, connect timeout 1 s, each attempt bounded by $LAB_CLIENT_TIMEOUT s"
trials=${1:-5}
shift || true
scenarios=${*:-mysqld-kill cut-off daemon-kill host-kill}
LAB=$top/jepsen/lab
base=$(mktemp -d /tmp/mmb-fo.XXXXXX)
lab=$base/lab
LAB_JSON=$lab/lab.json
trap '"$LAB" down --dir "$lab" > /dev/null 2>&1; rm -rf "$base"' EXIT
now_ms() { lab_now_ms; }

stats() { # name values...
    local name=$1
    shift
    [ $# -gt 0 ] || { printf '%-34s no data\n' "$name"; return; }
    printf '%s\n' "$@" | sort -n | awk -v n="$name" '{a[NR]=$1} END {
        if (NR == 0) { printf "%-34s no data\n", n; exit }
        p99 = a[int(0.99 * NR + 0.999)]; med = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
        printf "%-34s median %6.0f   p99 %6.0f   max %6.0f   (%d trials)\n", n, med, p99, a[NR], NR }'
}

# A lab as `up` leaves it: one writer holding the VIP, every server replicating, every daemon in
# contact with the leader, and the leader off the writer's host (where the daemons keep it).
settled() { lab_healthy && [ "$(lab_leader)" != "$(lab_writer)" ]; }
ready_lab() {
    if [ -z "${MMC_BENCH_FRESH:-}" ] && [ -r "$LAB_JSON" ]; then
        "$LAB" heal --dir "$lab" > "$base/heal.log" 2>&1 && lab_wait 60 settled && sleep 1 &&
            settled && return 0
        echo "(the lab did not settle after heal: a fresh one)" >&2
    fi
    "$LAB" down --dir "$lab" > /dev/null 2>&1
    # shellcheck disable=SC2086 # MMC_BENCH_UP_ARGS is a list of words
    "$LAB" up --dir "$lab" ${MMC_BENCH_UP_ARGS:-} > "$base/up.log" 2>&1 || { cat "$base/up.log" >&2; return 1; }
    lab_wait 30 settled
}

# Milliseconds since the epoch of the first log line of FILE... matching PATTERN at or after T0.
log_ms() { # t0 pattern files...
    local t0=$1 pattern=$2 line
    shift 2
    line=$(grep -h -- "$pattern" "$@" 2> /dev/null | sort | head -n 1)
    [ -n "$line" ] || { echo -; return; }
    echo $(($(date -d "${line%% *}" +%s%3N) - t0))
}

trial() { # scenario table -> prints "move_ms pause_ms dual_ms lost breakdown..."
    local scenario=$1 table=$2
    ready_lab || return 1
    local writer other epoch
    writer=$(lab_writer)
    epoch=$(lab_epoch)
    other=m2
    [ "$writer" = m2 ] && other=m1
    lab_client_sql "CREATE TABLE $table (id INT PRIMARY KEY, at BIGINT)" || return 1
    lab_watch_vip "$base/vip.log" &
    local watcher=$!
    lab_client_writes "$base/acked.log" "$table" 1 &
    local writer_loop=$!
    sleep 2
    # Everything looked up before the fault's time is taken: the fault itself is one command.
    local t0 pids="" port switch
    switch=$(labq .switch_namespace)
    port=$(lab_host_port "$writer")
    [ "$scenario" != host-kill ] || pids=$(lab_host_pids "$writer")
    t0=$(now_ms)
    case $scenario in
    mysqld-kill) kill -KILL "$(labq ".hosts.$writer.mysql_pid")" ;;
    daemon-kill) kill -KILL "$(labq ".hosts.$writer.daemon_pid")" ;;
    daemon-fencer-kill) kill -KILL "$(labq ".hosts.$writer.daemon_pid")" "$(lab_fencer_pid "$writer")" ;;
    host-kill) lab_kill_host "$writer" "$pids" "$port" ;;
    cut-off) ip -n "$switch" link set dev "$port" down ;;
    esac
    local t1=""
    for _ in $(seq 1500); do
        if tail -n 1 "$base/vip.log" | grep -q " $other,\$"; then t1=$(now_ms); break; fi
        sleep 0.02
    done
    sleep 3
    local t_end
    t_end=$(now_ms)
    kill "$writer_loop" "$watcher" 2> /dev/null
    wait "$writer_loop" "$watcher" 2> /dev/null
    local pause dual lost
    # The longest gap between two acknowledgements from the last one before the fault on (the
    # old writer may still serve inside its lease, so the first ack after the fault is not it),
    # up to the end of the trial when the client never got through again.
    pause=$(awk -v t="$t0" -v e="$t_end" '{ if ($3 <= t) { last = $3; next } if (last != "" && $3 - last > max) max = $3 - last; last = $3 }
        END { if (last != "" && e - last > max) max = e - last; print max + 0 }' "$base/acked.log")
    dual=$(lab_dual_ms "$base/vip.log")
    lost=$(lab_missing "$other" "$table" "$base/acked.log" | grep -c .)
    local e=$((epoch + 1)) logs=("$lab"/{m1,m2,s}/mmcoordd.log) new_log=$lab/$other/mmcoordd.log
    local decided applied opened vip_added
    decided=$(log_ms "$t0" "decision: epoch $e goes to" "${logs[@]}")
    applied=$(log_ms "$t0" "record: epoch $e:" "$new_log")
    opened=$(log_ms "$t0" "host: opened: read_only off" <(awk -v d="$(date -u -d "@$((t0 / 1000))" +%Y-%m-%dT%H:%M:%S)" '$1 >= d' "$new_log"))
    vip_added=$(log_ms "$t0" "host: VIP .* added" <(awk -v d="$(date -u -d "@$((t0 / 1000))" +%Y-%m-%dT%H:%M:%S)" '$1 >= d' "$new_log"))
    local move=$((${t1:-0} - t0))
    [ -n "$t1" ] || move=-1
    if [ -n "${MMC_BENCH_KEEP_SLOW_MS:-}" ] && { [ "$move" -lt 0 ] || [ "$move" -gt "$MMC_BENCH_KEEP_SLOW_MS" ]; }; then
        local keep
        keep=$(mktemp -d /tmp/mmb-slow.XXXXXX)
        for x in m1 m2 s; do
            cp "$lab/$x/mmcoordd.log" "$keep/$x.log" 2> /dev/null
            cp "$lab/$x/fencer.sock.log" "$keep/$x.fencer.log" 2> /dev/null
            cp "$lab/$x/error.log" "$keep/$x.mysqld.log" 2> /dev/null
        done
        cp "$LAB_JSON" "$base/vip.log" "$base/acked.log" "$keep"/ 2> /dev/null
        echo "$t0 $scenario writer=$writer new=$other epoch=$epoch" > "$keep/fault"
        echo "slow trial ($scenario, $move ms): logs kept in $keep (fault at $t0 ms)" >&2
    fi
    # The faulted host back, or the next trial starts from a fresh lab.
    if [ -n "${MMC_BENCH_FRESH:-}" ]; then
        "$LAB" down --dir "$lab" > /dev/null 2>&1
    fi
    echo "$move $pause $dual $lost $decided $applied $opened $vip_added"
}

for scenario in $scenarios; do
    moves=() pauses=() duals=() losts=() decideds=() openeds=()
    for n in $(seq "$trials"); do
        r=$(trial "$scenario" "${scenario//-/_}_$n") || { echo "$scenario trial $n failed"; continue; }
        read -r m p d l dec app opn vip <<< "$r"
        [ "$m" != -1 ] || echo "$scenario trial $n: the VIP did not reach the other master within 30 s"
        echo "$scenario trial $n: VIP moved after $m ms, write pause $p ms, two holders $d ms, lost $l;" \
            "decided +$dec, applied on the new writer +$app, opened +$opn, VIP added +$vip ms"
        [ "$m" = -1 ] || moves+=("$m")
        pauses+=("$p") duals+=("$d") losts+=("$l")
        [ "$dec" = - ] || decideds+=("$dec")
        [ "$opn" = - ] || [ "$dec" = - ] || openeds+=("$((opn - dec))")
    done
    echo "== $scenario"
    stats "fault -> VIP on the new writer (ms)" "${moves[@]}"
    stats "client write pause (ms)" "${pauses[@]}"
    stats "two VIP holders (ms)" "${duals[@]}"
    stats "acknowledged writes lost" "${losts[@]}"
    stats "fault -> leader's decision (ms)" "${decideds[@]}"
    stats "decision -> new writer opened (ms)" "${openeds[@]}"
done
