#!/bin/bash
# Benchmark (not a test): how long the cluster goes without a leader after kill -9 of the
# leader, measured the way an operator sees it (`mmctl leader` polled on a survivor every
# 20 ms), over N runs with the default timing (heartbeat 100 ms, election timeout 1000 ms);
# then each daemon's resident memory and its CPU use over 10 idle seconds.
#   tests/bench/bench_leader.sh [RUNS]      (needs a build in ./build, or top_builddir set)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/lib/cluster.sh"
runs=${1:-10}
dir=$(mktemp -d /tmp/mmc-bench.XXXXXX)
trap 'cluster_stop_all; rm -rf "$dir"' EXIT
CLUSTER_HEARTBEAT_MS=${HEARTBEAT_MS:-100} CLUSTER_ELECTION_MS=${ELECTION_MS:-1000} cluster_init "$dir"
for id in m1 m2 s; do cluster_start "$id"; done
agree() { local a; a=$(cluster_leader m1); [ -n "$a" ] && [ "$a" = "$(cluster_leader m2)" ] && [ "$a" = "$(cluster_leader s)" ]; }
wait_for 30 agree || { echo "no leader"; exit 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
times=()
for run in $(seq "$runs"); do
    old=$(cluster_leader m1)
    survivor=$(echo m1 m2 s | tr ' ' '\n' | grep -vx "$old" | head -n1)
    t0=$(now_ms)
    cluster_kill "$old" KILL
    while :; do
        l=$(cluster_leader "$survivor")
        [ -n "$l" ] && [ "$l" != "$old" ] && break
        sleep 0.02
    done
    t1=$(now_ms)
    times+=($((t1 - t0)))
    echo "run $run: killed $old, new leader $l after $((t1 - t0)) ms"
    cluster_start "$old"
    wait_for 30 agree || { echo "cluster did not heal"; exit 1; }
    sleep 1
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
echo "leader kill -9 -> new leader (ms): min $(echo "$sorted" | head -n1) median $median max $(echo "$sorted" | tail -n1) over $runs runs"

sleep 2
hz=$(getconf CLK_TCK)
declare -A before
for id in m1 m2 s; do
    pid=$(cat "$dir/$id.pid")
    before[$id]=$(awk '{print $14 + $15}' "/proc/$pid/stat")
done
sleep 10
for id in m1 m2 s; do
    pid=$(cat "$dir/$id.pid")
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    role=$(cluster_ctl "$id" status --json | jq -r .role)
    echo "$id ($role): RSS ${rss} KiB, idle CPU $(awk -v t=$((after - before[$id])) -v hz="$hz" 'BEGIN {printf "%.2f", 100 * t / hz / 10}')%"
done
