#!/usr/bin/env bash
# Benchmark (not a test): planned switchovers on the lab under a steady write load.
#   tests/bench/bench_switchover.sh [N]        (default 20)
# One lab (mmcoord, semi-sync); a client writes through the VIP all the time, one insert per
# connection, each attempt bounded to MMC_BENCH_ATTEMPT_S seconds (default 0.5): a connection
# attempted while no host holds the VIP loses its SYN and would otherwise wait for TCP's
# retransmission (1 s); N switchovers m1 -> m2 -> m1
# ... with `mmctl switchover --to`, each once the lab is settled (one writer holding the VIP,
# every server replicating, the leader off the writer) and 0.5 s after the previous one.
# Printed per switchover, and as median, p99 (the max below 100 switchovers) and max:
#   - the write pause as the daemons record it: the switchover recorded (the old writer fences
#     right after) -> the target opened (read_only off), two hosts' wall clocks on one machine;
#   - its steps: begun -> fenced -> caught_up -> switched -> opened;
#   - the client's pause: the longest gap between two acknowledged writes around it, from the
#     last one before the switchover to the first on the new writer (its own write latency
#     and, when an attempt fell into the VIP's move, the attempt bound, count in it);
# and at the end the acknowledged writes missing anywhere (must be 0) and the time two hosts
# held the VIP (must be 0). MMC_BUILD_DIR: the build tree (default <repo>/build).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export MMC_BUILD_DIR=${MMC_BUILD_DIR:-$top/build}
. "$top/tests/lib/labclient.sh"
n=${1:-20}
attempt=${MMC_BENCH_ATTEMPT_S:-0.5}
case $n in '' | *[!0-9]* | 0) echo "usage: $0 [N > 0]" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 77; }
LAB=$top/jepsen/lab
base=$(mktemp -d /tmp/mmb-so.XXXXXX) && base=$(realpath "$base")
lab=$base/lab
export LAB_JSON=$lab/lab.json # read by tests/lib/labclient.sh
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
    "$LAB" down --dir "$lab" > /dev/null 2>&1
    rm -rf "$base"
}
trap cleanup EXIT

stats() { # name values...
    local name=$1
    shift
    [ $# -gt 0 ] || { printf '%-40s no data\n' "$name"; return; }
    printf '%s\n' "$@" | sort -n | awk -v n="$name" '{a[NR]=$1} END {
        p99 = a[int(0.99 * NR + 0.999)]; med = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
        printf "%-40s median %6.0f   p99 %6.0f   max %6.0f   (%d switchovers)\n", n, med, p99, a[NR], NR }'
}

"$LAB" up --dir "$lab" > "$base/up.log" 2>&1 || { cat "$base/up.log" >&2; exit 1; }
for _ in $(seq 50); do
    lab_client_sql "CREATE TABLE IF NOT EXISTS bs (id INT PRIMARY KEY, at BIGINT)" 2> /dev/null && break
    sleep 0.2
done
vip=$(labq .vip)
lab_vip_monitor_start "$base" pids
(
    ns=$(labq .client.namespace) cnf=$(labq .client.credentials_file) vip=$(labq .vip)
    db=$(labq .client.database) i=1
    while :; do
        t=$(lab_now_ms)
        if sid=$(timeout -k 0.1 "$attempt" ip netns exec "$ns" mariadb --defaults-extra-file="$cnf" \
            --connect-timeout=1 -h "$vip" -N -B "$db" \
            -e "INSERT INTO bs VALUES ($i, $t); SELECT @@server_id" 2> /dev/null); then
            echo "$i $t $(lab_now_ms) $sid"
        fi
        i=$((i + 1))
    done
) > "$base/acked.log" &
pids+=($!)
lab_wait 20 grep -qs . "$base/acked.log" || { echo "no write acknowledged" >&2; exit 1; }
settled() { lab_healthy && [ "$(lab_leader)" != "$(lab_writer)" ]; }

daemon=() client=() fenced=() caught=() switched=() opened=() failed=0
for k in $(seq "$n"); do
    lab_wait 30 settled || { echo "switchover $k: the lab did not settle" >&2; failed=$((failed + 1)); continue; }
    sleep 0.5
    w=$(lab_writer)
    to=m1
    [ "$w" = m1 ] && to=m2
    out=$(lab_mmctl s switchover --to "$to" --json)
    rc=$?
    if [ "$rc" != 0 ] || [ "$(jq -r .state <<< "$out")" != "done" ]; then
        echo "switchover $k $w -> $to: exit $rc: $(jq -c '{state, reason, error}' <<< "$out" 2> /dev/null)"
        failed=$((failed + 1))
        continue
    fi
    read -r b f c s o p < <(jq -r '"\(.begun_wall_ms) \(.fenced_wall_ms) \(.caught_up_wall_ms)
        \(.switched_wall_ms) \(.opened_wall_ms) \(.write_pause_ms)"' <<< "$out" | tr '\n' ' ')
    # The first write acknowledged by the new writer's server, then the longest gap up to it.
    sid=$(labq ".hosts.$to.server_id")
    lab_wait 10 awk -v t="$o" -v s="$sid" '$3 >= t && $4 == s { f = 1 } END { exit !f }' "$base/acked.log"
    gap=$(awk -v a="$b" -v s="$sid" '$3 < a { last = $3; next }
        { if (last != "" && $3 - last > max) max = $3 - last; last = $3 }
        $4 == s { exit } END { print max + 0 }' "$base/acked.log")
    printf 'switchover %3d %s -> %s: write pause %4d ms (fenced +%d, caught_up +%d, switched +%d, opened +%d); client gap %4d ms\n' \
        "$k" "$w" "$to" "$p" $((f - b)) $((c - f)) $((s - c)) $((o - s)) "$gap"
    daemon+=("$p") client+=("$gap") fenced+=($((f - b))) caught+=($((c - f)))
    switched+=($((s - c))) opened+=($((o - s)))
done
sleep 1
kill "${pids[3]}" 2> /dev/null # the client
wait "${pids[3]}" 2> /dev/null
echo
stats "write pause, begun -> opened (ms)" "${daemon[@]}"
stats "  begun -> fenced" "${fenced[@]}"
stats "  fenced -> caught_up" "${caught[@]}"
stats "  caught_up -> switched" "${switched[@]}"
stats "  switched -> opened" "${opened[@]}"
stats "client's longest gap (ms, ${attempt} s bound)" "${client[@]}"
echo "switchovers that did not complete: $failed of $n"
if lab_wait_converged bs "$base/acked.log" 30; then
    echo "lost writes: 0 of $(wc -l < "$base/acked.log") acknowledged (all three servers hold every one)"
else
    echo "lost writes: acknowledged writes missing (above)"
fi
overlap=$(lab_vip_monitor_overlap "$base")
overlap=${overlap%% *}
echo "two VIP holders: $overlap ms (the kernel's address events of the three hosts, replayed)"
