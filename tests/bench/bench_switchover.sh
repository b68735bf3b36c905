#!/usr/bin/env bash
# Benchmark (not a test): moving the writer on purpose on the lab under a steady write load.
#   tests/bench/bench_switchover.sh [--system mmcoord|keepalived] [N]      (default mmcoord, 20)
# mmcoord: one lab (semi-sync), N planned switchovers m1 -> m2 -> m1 ... with
#   `mmctl switchover --to`, each once the lab is settled (one writer holding the VIP, every
#   server replicating, the leader off the writer) and 0.5 s after that.
# keepalived: the same lab with `--system keepalived` (the seed's classic setup: both masters
#   writable, VRRP priorities 100/90 with nopreempt), N runs of the seed's failback procedure:
#   restart keepalived on the master holding the VIP (SIGTERM by PID, then `jepsen/lab heal`
#   starts it again), so that the other master takes the VIP; each once exactly one master
#   holds the VIP and the other's keepalived has run for 3 s (settled in BACKUP), and 0.5 s
#   after that.
# A client writes through the VIP all the time, one insert per connection, each attempt bounded
# to MMC_BENCH_ATTEMPT_S seconds (default 0.5; an attempt whose SYN is lost would otherwise
# wait for TCP's retransmission, 1 s). Printed, per run and as median, p99 and max (p99 is the
# max below 100 runs), for both systems alike:
#   - the client's write pause: the longest gap between two acknowledged writes, from the last
#     one acknowledged before the bench asked for the move to the first one acknowledged by the
#     new host's server (measured by the client; its own write latency counts in it);
#   - the client's attempts in that window that failed, and how many of them the attempt bound
#     cut (a connection that never got an answer);
# mmcoord also prints the daemons' own account (begun -> fenced -> caught_up -> switched ->
# opened, two hosts' wall clocks). At the end: the acknowledged writes missing anywhere (lost)
# and the time two hosts held the VIP (the kernel's address events, replayed).
# MMC_BUILD_DIR: the build tree (default <repo>/build). MMC_BENCH_KEEP=DIR keeps the client's
# logs, the VIP monitors and, with MMC_BENCH_TRACE=1, a packet capture of the client's SYNs,
# RSTs and ARP (tcpdump in the client namespace), in DIR.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export MMC_BUILD_DIR=${MMC_BUILD_DIR:-$top/build}
. "$top/tests/lib/labclient.sh"
system=mmcoord
if [ "${1:-}" = --system ]; then
    system=${2:-}
    shift 2
fi
n=${1:-20}
attempt=${MMC_BENCH_ATTEMPT_S:-0.5}
case $system in mmcoord | keepalived) ;; *) echo "usage: $0 [--system mmcoord|keepalived] [N]" >&2; exit 2 ;; esac
case $n in '' | *[!0-9]* | 0) echo "usage: $0 [--system mmcoord|keepalived] [N > 0]" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 77; }
LAB=$top/jepsen/lab
base=$(mktemp -d /tmp/mmb-so.XXXXXX) && base=$(realpath "$base")
lab=$base/lab
export LAB_JSON=$lab/lab.json # read by tests/lib/labclient.sh
pids=()
client_pid=""
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
    if [ -n "${MMC_BENCH_KEEP:-}" ]; then
        mkdir -p "$MMC_BENCH_KEEP" && cp "$base"/*.log "$base"/*.mon "$base"/vip-start \
            "$MMC_BENCH_KEEP"/ 2> /dev/null
        for p in m1 m2 s; do
            cp "$lab/$p/mmcoordd.log" "$MMC_BENCH_KEEP/$p-mmcoordd.log" 2> /dev/null
            cp "$lab/$p/keepalived.log" "$MMC_BENCH_KEEP/$p-keepalived.log" 2> /dev/null
        done
        echo "kept the logs in $MMC_BENCH_KEEP"
    fi
    "$LAB" down --dir "$lab" > /dev/null 2>&1
    rm -rf "$base"
}
trap cleanup EXIT

stats() { # name values...
    local name=$1
    shift
    [ $# -gt 0 ] || { printf '%-44s no data\n' "$name"; return; }
    printf '%s\n' "$@" | sort -n | awk -v n="$name" '{a[NR]=$1} END {
        p99 = a[int(0.99 * NR + 0.999)]; med = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
        printf "%-44s median %6.0f   p99 %6.0f   max %6.0f   (%d runs)\n", n, med, p99, a[NR], NR }'
}

up_args=()
[ "$system" = keepalived ] && up_args=(--system keepalived)
"$LAB" up --dir "$lab" "${up_args[@]}" > "$base/up.log" 2>&1 || { cat "$base/up.log" >&2; exit 1; }
for _ in $(seq 50); do
    lab_client_sql "CREATE TABLE IF NOT EXISTS bs (id INT PRIMARY KEY, at BIGINT)" 2> /dev/null && break
    sleep 0.2
done
lab_vip_monitor_start "$base" pids
if [ "${MMC_BENCH_TRACE:-0}" = 1 ]; then
    ip netns exec "$(labq .client.namespace)" tcpdump -i "$(labq .interface)" -e -n -tt -l \
        "arp or (tcp port 3306 and tcp[tcpflags] & (tcp-syn|tcp-rst) != 0)" \
        > "$base/trace.log" 2> /dev/null &
    pids+=($!)
fi
# "<id> <ms sent> <ms acked> <server_id>" per acknowledged write in acked.log;
# "<id> <ms sent> <ms failed> <exit status>" per failed attempt in failed.log (124: cut by the bound).
(
    ns=$(labq .client.namespace) cnf=$(labq .client.credentials_file) vip=$(labq .vip)
    db=$(labq .client.database) i=1
    while :; do
        t=$(lab_now_ms)
        if sid=$(timeout -k 0.1 "$attempt" ip netns exec "$ns" mariadb --defaults-extra-file="$cnf" \
            --connect-timeout=1 -h "$vip" -N -B "$db" \
            -e "INSERT INTO bs VALUES ($i, $t); SELECT @@server_id" 2> /dev/null); then
            echo "$i $t $(lab_now_ms) $sid"
        else
            rc=$?
            echo "$i $t $(lab_now_ms) $rc" >> "$base/failed.log"
        fi
        i=$((i + 1))
    done
) > "$base/acked.log" &
client_pid=$!
pids+=("$client_pid")
touch "$base/failed.log"
lab_wait 20 grep -qs . "$base/acked.log" || { echo "no write acknowledged" >&2; exit 1; }

settled_mmcoord() { lab_healthy && [ "$(lab_leader)" != "$(lab_writer)" ]; }
# One master holds the VIP, both keepalived run, and the one started last has run for 3 s.
settled_keepalived() {
    local h x age
    h=$(lab_vip_holders)
    [ "$h" = m1, ] || [ "$h" = m2, ] || return 1
    for x in m1 m2; do
        age=$(ps -o etimes= -p "$(labq ".hosts.$x.daemon_pid")") || return 1
        [ "$age" -ge 3 ] || return 1
    done
}
holder() { local h; h=$(lab_vip_holders); echo "${h%,}"; }
# With the packet capture: what the client's SYNs met between its last write acknowledged by
# the old host and its first acknowledged by the new one (FROM_MS TO_MS OLD NEW): SYNs sent to
# each MAC and left without an answer (no SYN-ACK, no RST), and the time from the old host's
# last SYN-ACK to the new host's first gratuitous ARP for the VIP (the window in which nobody
# answers for the VIP at the MAC the client has for it).
trace_run() {
    awk -v a="$1" -v b="$2" -v old="$(labq ".hosts.$3.mac")" -v new="$(labq ".hosts.$4.mac")" \
        -v vip="$(labq .vip)" -v on="$3" -v nn="$4" '
        { t = $1 * 1000 } t < a - 50 || t > b + 50 { next }
        / ARP / && index($0, "who-has " vip " ") && index($0, "tell " vip ",") && index($0, new " >") &&
            garp == "" { garp = t }
        !/ IPv4 / { next }
        # "T SRC > DST, ethertype IPv4 ..., length N: IP.PORT > IP.PORT: Flags [..] ..."
        { split($0, f, " > "); dst = f[2]; sub(/,.*/, "", dst)
          from = f[2]; sub(/.* /, "", from); sub(/.*\./, "", from)
          to = f[3]; sub(/:.*/, "", to); sub(/.*\./, "", to) }
        / Flags \[S\],/ { syn[from] = dst }
        / Flags \[S\.\]/ || / Flags \[R/ { answered[to] = 1 }
        / Flags \[S\.\]/ && index($0, old " >") { lastold = t }
        END { for (p in syn) if (!(p in answered)) n[syn[p]]++
              msg = ""
              for (m in n) msg = msg sprintf(" %d to %s", n[m], m == old ? on "'"'"'s MAC (the old holder)" : m == new ? nn "'"'"'s MAC" : m)
              printf "        trace: SYNs unanswered:%s;", msg == "" ? " none" : msg
              if (lastold != "" && garp != "") printf " old holder'"'"'s last SYN-ACK -> %s'"'"'s first gratuitous ARP %d ms", nn, garp - lastold
              printf "\n" }' "$base/trace.log"
}

client=() failed_n=() cut_n=() daemon=() fenced=() caught=() switched=() opened=() failed=0
for k in $(seq "$n"); do
    lab_wait 30 "settled_$system" || { echo "run $k: the lab did not settle" >&2; failed=$((failed + 1)); continue; }
    sleep 0.5
    w=$(holder)
    to=m1
    [ "$w" = m1 ] && to=m2
    t0=$(lab_now_ms)
    extra=""
    if [ "$system" = mmcoord ]; then
        out=$(lab_mmctl s switchover --to "$to" --json)
        rc=$?
        if [ "$rc" != 0 ] || [ "$(jq -r .state <<< "$out")" != "done" ]; then
            echo "run $k $w -> $to: exit $rc: $(jq -c '{state, reason, error}' <<< "$out" 2> /dev/null)"
            failed=$((failed + 1))
            continue
        fi
        read -r b f c s o p < <(jq -r '"\(.begun_wall_ms) \(.fenced_wall_ms) \(.caught_up_wall_ms)
            \(.switched_wall_ms) \(.opened_wall_ms) \(.write_pause_ms)"' <<< "$out" | tr '\n' ' ')
        extra=$(printf '; daemons: begun -> opened %d ms (fenced +%d, caught_up +%d, switched +%d, opened +%d)' \
            "$p" $((f - b)) $((c - f)) $((s - c)) $((o - s)))
        daemon+=("$p") fenced+=($((f - b))) caught+=($((c - f))) switched+=($((s - c))) opened+=($((o - s)))
    else
        pid=$(labq ".hosts.$w.daemon_pid")
        kill -TERM "$pid"
        lab_wait 5 sh -c "! [ -d /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status" ||
            echo "run $k: keepalived on $w (PID $pid) still runs 5 s after SIGTERM" >&2
        "$LAB" heal --dir "$lab" "$w" > "$base/heal.log" 2>&1 ||
            { cat "$base/heal.log" >&2; failed=$((failed + 1)); continue; }
    fi
    # The first write acknowledged by the new host's server, then the longest gap up to it.
    sid=$(labq ".hosts.$to.server_id")
    if ! lab_wait 10 awk -v t="$t0" -v s="$sid" '$3 >= t && $4 == s { f = 1 } END { exit !f }' "$base/acked.log"; then
        echo "run $k $w -> $to: no write acknowledged by $to within 10 s"
        failed=$((failed + 1))
        continue
    fi
    read -r gap last first < <(awk -v a="$t0" -v s="$sid" '$3 < a { last = $3; next }
        { if (last != "" && $3 - last > max) max = $3 - last; if (from == "") from = last; last = $3 }
        $4 == s { print max + 0, from, $3; exit }' "$base/acked.log")
    read -r nf ncut < <(awk -v a="$last" -v b="$first" '$2 >= a && $2 <= b { n++; if ($4 == 124) c++ }
        END { print n + 0, c + 0 }' "$base/failed.log")
    printf 'run %3d %s -> %s: client write pause %4d ms (%d failed attempts, %d cut by the %s s bound)%s\n' \
        "$k" "$w" "$to" "$gap" "$nf" "$ncut" "$attempt" "$extra"
    [ -s "$base/trace.log" ] && trace_run "$last" "$first" "$w" "$to"
    client+=("$gap") failed_n+=("$nf") cut_n+=("$ncut")
done
sleep 1
kill "$client_pid" 2> /dev/null
wait "$client_pid" 2> /dev/null
echo
echo "system $system, $n runs ($([ "$system" = mmcoord ] && echo "mmctl switchover" || echo "keepalived restarted on the VIP holder"))," \
    "$(lab_root_sql m1 "SELECT @@GLOBAL.rpl_semi_sync_master_enabled" 2> /dev/null | sed 's/1/semi-sync/;s/0/async/') replication;" \
    "a 2-core machine shared with other work: figures are noisy"
stats "client's write pause (ms)" "${client[@]}"
stats "  failed attempts in it" "${failed_n[@]}"
stats "  of them cut by the ${attempt} s bound" "${cut_n[@]}"
if [ "$system" = mmcoord ]; then
    stats "daemons: begun -> opened (ms)" "${daemon[@]}"
    stats "  begun -> fenced" "${fenced[@]}"
    stats "  fenced -> caught_up" "${caught[@]}"
    stats "  caught_up -> switched" "${switched[@]}"
    stats "  switched -> opened" "${opened[@]}"
fi
echo "runs that did not complete: $failed of $n"
if lab_wait_converged bs "$base/acked.log" 60; then
    echo "lost writes: 0 of $(wc -l < "$base/acked.log") acknowledged (all three servers hold every one)"
else
    echo "lost writes: acknowledged writes missing (above)"
fi
overlap=$(lab_vip_monitor_overlap "$base")
echo "two VIP holders: ${overlap%% *} ms (the kernel's address events of the three hosts, replayed)"
