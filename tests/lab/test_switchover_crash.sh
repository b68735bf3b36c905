#!/usr/bin/env bash
# Issue 8 on the lab: a daemon killed (SIGKILL) at each step of a planned switchover, with a
# client writing through the VIP all the time. The daemons run with the test hook
# MMC_TEST_SWITCHOVER_STEP_DELAY_MS (coord/switchover.h; default here 2500): every switchover
# step is held that long, so that the step shows in `mmctl status --json` and the kill lands
# while the sequence sits at it. Cases (each from a settled lab: one writer holding the VIP,
# every server replicating, the leader off the writer):
#   the raft leader's daemon at begun, at fenced, at caught_up, at switched (SET_WRITER in,
#   DONE not yet); the old writer's daemon at begun; the target's daemon at fenced.
# After each kill the daemon is restarted (`jepsen/lab heal`), and within 60 s: no switchover
# in progress in the record, the writer is the old one or the target, open (read_only off) and
# holding the VIP alone, every server up and replicating, the three daemons agreeing on the
# leader, the writer and its epoch. The sequence's outcome (done, rolled back, aborted) is
# printed. At the end: never two VIP holders (the kernel's address events of the three hosts,
# replayed), and every acknowledged write on all three servers with the same data (none lost).
# Needs root, mariadbd and jq (else skip). MMC_FAULTS_KEEP=DIR keeps the logs.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/lib/labclient.sh"
# Read by every mmcoordd the lab starts (up and heal inherit the environment).
export MMC_TEST_SWITCHOVER_STEP_DELAY_MS=${MMC_TEST_SWITCHOVER_STEP_DELAY_MS:-2500}

lab_test_begin switchover-crash
T=$LAB_DIR_T
grep -q "test hook MMC_TEST_SWITCHOVER_STEP_DELAY_MS=$MMC_TEST_SWITCHOVER_STEP_DELAY_MS" \
    "$(labq .hosts.s.daemon_log)" || lab_fail "the daemons did not take the test hook"
ok=""
for _ in $(seq 50); do
    lab_client_sql "CREATE TABLE IF NOT EXISTS swc (id INT PRIMARY KEY, at BIGINT)" 2> /dev/null &&
        ok=1 && break
    sleep 0.2
done
[ -n "$ok" ] || lab_fail "cannot create table swc through the VIP"
lab_vip_monitor_start "$T" LAB_FAULT_PIDS
lab_client_writes "$T/acked.log" swc 1 &
LAB_FAULT_PIDS+=($!)
lab_wait 20 grep -qs . "$T/acked.log" || lab_fail "no write acknowledged through the VIP"

other_of() { [ "$1" = m1 ] && echo m2 || echo m1; }
settled() { lab_healthy && [ "$(lab_leader)" != "$(lab_writer)" ]; }
# The three daemons answer and agree on the leader, the writer and its epoch.
agreed() {
    local x views
    views=$(for x in m1 m2 s; do
        lab_mmctl "$x" status --json 2> /dev/null |
            jq -r '"\(.leader.id // "-") \(.writer.node // "-") \(.writer.epoch // "-")"' ||
            echo "$x-silent"
    done | sort -u)
    [ "$(wc -l <<< "$views")" = 1 ] && [[ $views != -* ]]
}

n=0
crash_case() {
    local step=$1 role=$2 w to victim via pid rc out st outcome t_kill
    n=$((n + 1))
    lab_wait 60 settled || lab_fail "case $n: the lab did not settle before it"
    w=$(lab_writer)
    to=$(other_of "$w")
    case $role in
    leader) victim=$(lab_leader) ;;
    writer) victim=$w ;;
    target) victim=$to ;;
    esac
    [ -n "$victim" ] || lab_fail "case $n: no $role"
    # Ask, and follow the sequence, through a daemon that stays up.
    for via in s m1 m2; do [ "$via" != "$victim" ] && break; done
    pid=$(labq ".hosts.$victim.daemon_pid")
    echo "--- case $n: switchover $w -> $to (leader $(lab_leader)); SIGKILL $role $victim's" \
        "mmcoordd (PID $pid) at step $step"
    lab_mmctl "$via" switchover --to "$to" --timeout 60 --json > "$T/case$n.out" 2>&1 &
    local mmctl_pid=$!
    at_step() {
        lab_mmctl "$via" status --json 2> /dev/null |
            jq -e --arg s "$step" '.switchover.step == $s' > /dev/null
    }
    lab_wait 30 at_step || lab_fail "case $n: the sequence never sat at step $step:" \
        "$(lab_mmctl "$via" status --json | jq -c .switchover)"
    kill -KILL "$pid" || lab_fail "case $n: kill $victim's daemon"
    t_kill=$(lab_now_ms)
    lab_mmctl "$via" status --json | jq -c '.switchover | {step, from, to}' | sed 's/^/killed at: /'
    sleep 1
    "$LAB_CMD" heal --dir "$T/lab" "$victim" > "$T/heal$n.log" 2>&1 ||
        { cat "$T/heal$n.log"; lab_fail "case $n: heal $victim"; }
    finished() { lab_mmctl "$via" status --json 2> /dev/null | jq -e '.switchover == null' > /dev/null; }
    lab_wait 60 finished || lab_fail "case $n: a switchover is still in progress 60 s after the" \
        "kill: $(lab_mmctl "$via" status --json | jq -c '.switchover, .decision')"
    lab_wait 60 lab_healthy || lab_fail "case $n: the lab is not healthy 60 s after the kill:" \
        "$(lab_status_json | jq -c '{writer, decision, vip: .vip}') holders $(lab_vip_holders)"
    lab_wait 30 agreed || lab_fail "case $n: the daemons do not agree on leader, writer, epoch"
    st=$(lab_status_json)
    case $(jq -r .writer.node <<< "$st") in
    "$w" | "$to") ;;
    *) lab_fail "case $n: the writer is $(jq -r .writer.node <<< "$st"), neither $w nor $to" ;;
    esac
    outcome=$(lab_mmctl "$via" history --json | jq -r '[.events[] | select(.kind == "switchover")]
        | last | "\(.outcome) (\(.reason // "" | .[0:160]))"')
    echo "case $n: ${outcome}; writer $(jq -r '"\(.writer.node) epoch \(.writer.epoch)"' <<< "$st")," \
        "open and alone on the VIP $(($(lab_now_ms) - t_kill)) ms after the kill"
    wait "$mmctl_pid"
    rc=$?
    out=$(jq -c '{state, to, reason, error}' "$T/case$n.out" 2> /dev/null || tail -n 3 "$T/case$n.out")
    echo "case $n: mmctl switchover via $via: exit $rc: $out"
}

crash_case begun leader
crash_case fenced leader
crash_case caught_up leader
crash_case switched leader
crash_case begun writer
crash_case fenced target
sleep 1
lab_fault_stop

echo "--- checks"
overlap=$(lab_vip_monitor_overlap "$T")
[ "${overlap%% *}" = 0.000 ] || lab_fail "two hosts held the VIP for $overlap (ms, first at)"
echo "never two VIP holders: $(cat "$T"/vip-*.mon | grep -c -F " $(labq .vip)/") address events replayed"
lab_wait_converged swc "$T/acked.log" 30 || lab_fail "acknowledged writes missing (lost), or the servers differ"
echo "no acknowledged write lost: all three servers hold the $(wc -l < "$T/acked.log") acknowledged rows, same checksum"
lab_mmctl s history
lab_test_pass
