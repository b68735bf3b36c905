#!/usr/bin/env bash
# jepsen/run end to end, short: a lab of its own, a 60-second run with two kinds of fault, then
# the run's files: every fault started and ended, the observers saw the VIP from the start, the
# servers' final state was collected from all three, the checker ran and passed. Also: the
# schedule replays from its seed (--plan), and bad requests (unknown fault, lab of the other
# system, no lab) are refused before anything is touched. Needs root, mariadbd, nft, jq, and
# jepsen/client and jepsen/check built (skips when they are not yet).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
# shellcheck source=tests/lib/mariadb.sh
. "$top_srcdir/tests/lib/mariadb.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
mariadb_available || { echo "SKIP: mariadbd is not installed"; exit 77; }
for tool in jq nft chattr; do
    command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
for program in client check; do
    [ -x "$top_builddir/jepsen/$program" ] || {
        echo "SKIP: jepsen/$program is not built yet in $top_builddir"
        exit 77
    }
done
[ -x "$top_builddir/jepsen/observe" ] || { echo "FAIL: jepsen/observe is not built"; exit 1; }

export MMC_BUILD_DIR=$top_builddir
LAB=$top_srcdir/jepsen/lab
RUN=$top_srcdir/jepsen/run
SEED=4242
FAULTS=kill-mysqld,pause-daemon
dir=$(mktemp -d /tmp/mmt-jr.XXXXXX) && dir=$(realpath "$dir")
failed=1
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ "$failed" != 0 ]; then
        for f in "$dir"/run.log "$dir"/out/check.txt "$dir"/out/nemesis.jsonl; do
            [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }
        done
        for f in "$dir"/lab/{m1,m2,s}/mmcoordd.log; do
            [ -f "$f" ] && { echo "---- $f"; tail -n 15 "$f"; }
        done
    fi
    "$LAB" down --dir "$dir/lab" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
step() {
    echo "--- $*"
}

step "no lab: refused"
"$RUN" --lab "$dir/nolab" --time 20 >"$dir/err.log" 2>&1
[ $? = 3 ] || fail "a run without a lab must exit 3"
grep -q "jepsen/lab up" "$dir/err.log" || fail "the message must say how to start a lab: $(cat "$dir/err.log")"

"$LAB" up --dir "$dir/lab" >"$dir/up.log" 2>&1 || { cat "$dir/up.log"; fail "lab up"; }

step "an unknown fault and a lab of the other system are refused, naming what is valid"
"$RUN" --lab "$dir/lab" --faults kill-mysqld,bogus >"$dir/err.log" 2>&1
[ $? = 3 ] || fail "an unknown fault must exit 3"
grep -q 'unknown fault "bogus".*kill-mysqld.*partition-host' "$dir/err.log" ||
    fail "the message must name the fault and list the valid ones: $(cat "$dir/err.log")"
"$RUN" --lab "$dir/lab" --system keepalived >"$dir/err.log" 2>&1
[ $? = 3 ] || fail "a keepalived run on an mmcoord lab must exit 3"
grep -q "runs mmcoord, not keepalived" "$dir/err.log" || fail "unclear message: $(cat "$dir/err.log")"
[ ! -e "$dir/out" ] || fail "a refused run must not create --out"

step "the schedule replays from its seed"
plan_a=$("$RUN" --lab "$dir/lab" --faults "$FAULTS" --time 60 --seed "$SEED" --plan) ||
    fail "--plan failed"
plan_b=$("$RUN" --lab "$dir/lab" --faults "$FAULTS" --time 60 --seed "$SEED" --plan)
plan_c=$("$RUN" --lab "$dir/lab" --faults "$FAULTS" --time 60 --seed $((SEED + 1)) --plan)
[ "$plan_a" = "$plan_b" ] || fail "two plans of seed $SEED differ"
[ "$plan_a" != "$plan_c" ] || fail "seeds $SEED and $((SEED + 1)) give the same schedule"
jq -e 'length >= 2 and all(.[]; .fault == "kill-mysqld" or .fault == "pause-daemon")' \
    <<<"$plan_a" >/dev/null || fail "the plan should hold at least two faults of $FAULTS: $plan_a"

step "a 60-second run with $FAULTS (seed $SEED)"
"$RUN" --lab "$dir/lab" --faults "$FAULTS" --time 60 --seed "$SEED" --out "$dir/out" \
    >"$dir/run.log" 2>&1
status=$?
grep -E '^jepsen/run: +[0-9]+/60 s' "$dir/run.log" | head -n 3
tail -n 5 "$dir/run.log"
out=$dir/out
[ -s "$out/check.txt" ] || fail "the checker did not run (no check.txt)"
[ -s "$out/report.md" ] || fail "the checker wrote no report.md"
[ -s "$out/timeline.svg" ] || fail "the checker drew no timeline.svg"
[ "$status" = 0 ] || fail "jepsen/run exited with $status (the checker's verdict; see check.txt)"

step "the run's files"
jq -e --argjson seed "$SEED" '.system == "mmcoord" and .seed == $seed and .time_s == 60
    and (.end > .start) and (.faults | sort) == ["kill-mysqld", "pause-daemon"]' \
    "$out/run.json" >/dev/null || fail "run.json: $(cat "$out/run.json")"
[ "$(jq -c .schedule "$out/run.json")" = "$(jq -c . <<<"$plan_a")" ] ||
    fail "the run's schedule is not the one --plan printed for its seed"
starts=$(jq -s 'map(select(.phase == "start")) | length' "$out/nemesis.jsonl")
ends=$(jq -s 'map(select(.phase == "end")) | length' "$out/nemesis.jsonl")
if [ "$starts" -lt 2 ] || [ "$starts" != "$ends" ]; then
    fail "want every fault started and ended (at least 2): $starts starts, $ends ends"
fi
jq -s -e 'group_by(.id) | all(.[]; length == 2 and .[0].phase == "start" and .[1].phase == "end"
    and .[1].t >= .[0].t)' "$out/nemesis.jsonl" >/dev/null ||
    fail "a fault's start and end lines do not pair up"
for host in m1 m2 s; do
    head -n 1 "$out/observe-$host.jsonl" | jq -e '.event == "present" or .event == "absent"' \
        >/dev/null || fail "observe-$host.jsonl does not start with the VIP's state"
done
[ "$(cat "$out"/observe-*.jsonl | jq -s 'map(select(.event == "present")) | length')" = 1 ] ||
    fail "exactly one host must hold the VIP when the observers start"
jq -e '.type == "arp"' "$out/arp.jsonl" >/dev/null || fail "the ARP observer saw nothing"
jq -e '.servers | length == 3 and all(.[]; .reachable) and
    ([.[].checksum.rows] | unique | length == 1) and ([.[].counters] | unique | length == 1)' \
    "$out/final.json" >/dev/null || fail "final.json: servers unreachable or not converged"
[ "$(jq -s length "$out/client.jsonl")" -gt 0 ] || fail "the client recorded no operation"
echo "PASS"
failed=0
