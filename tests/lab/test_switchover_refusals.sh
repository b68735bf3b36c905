#!/usr/bin/env bash
# Issue 8 on the lab: the refusals tests/lab/test_switchover.sh does not cover, with a client
# writing through the VIP all the time. Each `mmctl switchover` below must exit 1 with the
# reason, and change nothing (same writer, same epoch, the VIP on the writer alone):
#   1. a lagging target: its SQL thread waits for a table lock while the client writes, until
#      it is a few seconds behind; `--timeout 1` is refused because it lags beyond it;
#   2. a target with an errant transaction: a row written on the fenced target as root (SUPER
#      passes read_only) with sql_log_bin=1, so it holds a GTID the writer never saw; the
#      refusal names that GTID and what to do, and `mmctl status` shows it for that node.
# (A target whose SQL thread is stopped by hand cannot be set up here: its daemon restarts the
# thread at its next probe, so the "does not replicate" refusal is not exercised on the lab.)
# Then: never two VIP holders; every acknowledged write on all three servers (none lost).
# Needs root, mariadbd and jq (else skip). MMC_FAULTS_KEEP=DIR keeps the logs.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/lib/labclient.sh"

lab_test_begin switchover-refusals
T=$LAB_DIR_T
db=$(labq .client.database)
ok=""
for _ in $(seq 50); do
    lab_client_sql "CREATE TABLE IF NOT EXISTS swr (id INT PRIMARY KEY, at BIGINT)" 2> /dev/null &&
        ok=1 && break
    sleep 0.2
done
[ -n "$ok" ] || lab_fail "cannot create table swr through the VIP"
lab_vip_monitor_start "$T" LAB_FAULT_PIDS
lab_client_writes "$T/acked.log" swr 1 &
LAB_FAULT_PIDS+=($!)
lab_wait 20 grep -qs . "$T/acked.log" || lab_fail "no write acknowledged through the VIP"
lab_wait 60 lab_healthy || lab_fail "the lab is not healthy"
w=$(lab_writer)
t=m1
[ "$w" = m1 ] && t=m2
epoch=$(lab_epoch)
echo "writer $w (epoch $epoch), target $t"

# The node's field from the status of the leader: `node_field m2 .health.replication.lag_s`.
node_field() {
    lab_status_json | jq -r --arg n "$1" ".nodes[] | select(.id == \$n) | $2"
}
unchanged() {
    local what=$1
    [ "$(lab_writer)" = "$w" ] && [ "$(lab_epoch)" = "$epoch" ] ||
        lab_fail "$what changed the writer: $(lab_status_json | jq -c .writer)"
    [ "$(lab_vip_holders)" = "$w," ] || lab_fail "$what: the VIP is on '$(lab_vip_holders)', not $w alone"
    [ "$(lab_root_sql "$w" "SELECT @@GLOBAL.read_only")" = 0 ] || lab_fail "$what: $w is not open"
    lab_status_json | jq -e '.switchover == null' > /dev/null ||
        lab_fail "$what: a switchover is in progress: $(lab_status_json | jq -c .switchover)"
}
# Writes go on through the writer: one acknowledged after now.
writes_flow() {
    local t0 sid
    t0=$(lab_now_ms)
    sid=$(labq ".hosts.$w.server_id")
    lab_wait 10 awk -v t="$t0" -v s="$sid" '$3 > t && $4 == s { f = 1 } END { exit !f }' \
        "$T/acked.log" || lab_fail "$1: no write acknowledged by $w afterwards"
}

echo "--- 1. a lagging target"
# The SQL thread waits for this lock on the client's table while the writes pile up.
lab_root_sql "$t" "LOCK TABLES $db.swr WRITE; SELECT SLEEP(15); UNLOCK TABLES" > /dev/null 2>&1 &
locker=$!
lagging() { [ "$(node_field "$t" '.health.replication.lag_s')" -ge 3 ] 2> /dev/null; }
lab_wait 14 lagging || lab_fail "$t does not lag 3 s: lag_s $(node_field "$t" '.health.replication.lag_s')"
echo "$t lags $(node_field "$t" '.health.replication.lag_s') s"
out=$(lab_mmctl s switchover --to "$t" --timeout 1 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "behind, beyond the timeout" <<< "$out" || lab_fail "lagging target: exit $rc: $out"
echo "exit 1: $out"
unchanged "a refused switchover (lagging target)"
writes_flow "lagging target"
wait "$locker"
caught_up() { [ "$(node_field "$t" '.health.replication.lag_s')" = 0 ]; }
lab_wait 30 caught_up || lab_fail "$t did not catch up after the lock"

echo "--- 2. a target with an errant transaction"
lab_wait 30 lab_healthy || lab_fail "the lab is not healthy after the lag"
# A table on the target alone (not logged), then one logged row in it: a GTID only it has.
lab_root_sql "$t" "SET SESSION sql_log_bin = 0; CREATE TABLE $db.sw3_errant (id INT PRIMARY KEY);
    SET SESSION sql_log_bin = 1; INSERT INTO $db.sw3_errant VALUES (1)" ||
    lab_fail "cannot write on $t as root"
gtid=$(lab_root_sql "$t" "SELECT @@GLOBAL.gtid_binlog_pos")
echo "$t wrote a row of its own; its binlog position is now $gtid"
errant_shown() { [ -n "$(node_field "$t" '.errant')" ]; }
lab_wait 10 errant_shown || lab_fail "status shows no errant transaction on $t"
errant=$(node_field "$t" '.errant')
why=$(node_field "$t" '.why')
echo "status: $t errant $errant; why: $why"
# "D-S-N" or "D-S-M..N": N is the row just written, the last of domain D on the target.
[[ ,$gtid, == *,"${errant%-*}-${errant##*[-.]}",* ]] ||
    lab_fail "errant '$errant' does not end with the row just written ($t's position $gtid)"
lab_mmctl s status | grep -A1 "^$t " | grep -qF "errant: $errant" ||
    lab_fail "mmctl status does not show $t's errant transactions: $(lab_mmctl s status)"
out=$(lab_mmctl s switchover --to "$t" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -qF "errant transactions $errant" <<< "$out" && grep -q "remove them or rebuild" <<< "$out" ||
    lab_fail "errant target: exit $rc: $out"
echo "exit 1: $out"
json=$(lab_mmctl s switchover --to "$t" --json 2> /dev/null)
rc=$?
[ "$rc" = 1 ] || lab_fail "errant target, --json: exit $rc: $json"
echo "--json: exit 1: $(jq -c . <<< "$json")"
unchanged "a refused switchover (errant target)"
writes_flow "errant target"
sleep 1
lab_fault_stop

echo "--- checks"
overlap=$(lab_vip_monitor_overlap "$T")
[ "${overlap%% *}" = 0.000 ] || lab_fail "two hosts held the VIP for $overlap (ms, first at)"
echo "never two VIP holders: $(cat "$T"/vip-*.mon | grep -c -F " $(labq .vip)/") address events replayed"
lab_wait_converged swr "$T/acked.log" 30 || lab_fail "acknowledged writes missing (lost), or the servers differ"
echo "no acknowledged write lost: all three servers hold the $(wc -l < "$T/acked.log") acknowledged rows, same checksum"
lab_test_pass
