#!/usr/bin/env bash
# Planned switchover, refusals and maintenance on the lab, end to end (issue 8), with a client
# writing through the VIP all the time. Each write reads the epoch in its transaction and
# records the server, the epoch and the GTID it was given.
#   1. switchover m1 -> m2 -> m1 ... (SWITCHOVERS times, default 4) with `mmctl switchover`:
#      each exits 0 and prints its steps (the last names no target: the other master is picked,
#      with the reason); the write pause of each is printed (the daemons' begun -> opened and
#      the client's longest gap between two acknowledged writes).
#      Then `mmctl failover --force`: not confirmed (exit 1, nothing changes), then with --yes;
#      then a switchover whose target cannot apply the final position (a table lock holds its
#      SQL thread) times out and rolls back: exit 1, the old writer reopens in a new epoch.
#   2. refusals: unknown node and switchover to the current writer exit 2; the target's mysqld
#      stopped exits 1 with the reason; maintenance on exits 1 with the reason; nothing changes.
#   3. maintenance on: SIGKILL the writer's mysqld: no failover for 3 s, status says why
#      (MAINTENANCE line, the leader's decision); maintenance off: the other master takes over.
# Then: never two VIP holders; every acknowledged write on all three servers (none lost); no
# write on a fenced server: every write was made under an epoch its own server held, epochs
# never go back along the client's sequence, and every write the old writer acknowledged in
# the epoch a switchover took from it (done or rolled back) is inside the final position it
# reported when it fenced.
# Needs root, mariadbd and jq (else skip). MMC_FAULTS_KEEP=DIR keeps the logs.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/lib/labclient.sh"
SWITCHOVERS=${SWITCHOVERS:-4}

lab_test_begin switchover
T=$LAB_DIR_T
db=$(labq .client.database)
user=$(labq .client.user)
# The client reads the epoch table inside its write transaction (the shared decision); the lab
# grants the client its own database only.
for h in m1 m2 s; do
    lab_root_sql "$h" "SET SESSION sql_log_bin=0; GRANT SELECT ON mmcoord.* TO '$user'@'%'" ||
        lab_fail "grant SELECT on mmcoord.* on $h"
done
ok=""
for _ in $(seq 50); do
    lab_client_sql "CREATE TABLE IF NOT EXISTS sw (id INT PRIMARY KEY, at BIGINT, epoch BIGINT)" \
        2> /dev/null && ok=1 && break
    sleep 0.2
done
[ -n "$ok" ] || lab_fail "cannot create table sw through the VIP"

# One write per connection: "<id> <ms sent> <ms acked> <server_id> <epoch> <gtid>".
client_writes() {
    local out=$1 i=1 t ns cnf vip row
    ns=$(labq .client.namespace)
    cnf=$(labq .client.credentials_file)
    vip=$(labq .vip)
    while :; do
        t=$(lab_now_ms)
        if row=$(timeout -k 1 10 ip netns exec "$ns" mariadb --defaults-extra-file="$cnf" \
            --connect-timeout=1 -h "$vip" -N -B "$db" -e "BEGIN;
                SELECT epoch INTO @e FROM mmcoord.epoch WHERE id = 1 LOCK IN SHARE MODE;
                INSERT INTO sw VALUES ($i, $t, @e); COMMIT;
                SELECT @@server_id, @e, @@last_gtid" 2> /dev/null) && [ -n "$row" ]; then
            echo "$i $t $(lab_now_ms) $(echo "$row" | tr '\t' ' ')"
        fi
        i=$((i + 1))
    done > "$out"
}
vip=$(labq .vip)
lab_vip_monitor_start "$T" LAB_FAULT_PIDS
client_writes "$T/acked.log" &
LAB_FAULT_PIDS+=($!)
lab_wait 20 grep -qs . "$T/acked.log" || lab_fail "no write acknowledged through the VIP"
sleep 1

other_of() { [ "$1" = m1 ] && echo m2 || echo m1; }
# The client's longest gap between two acknowledged writes, from the last one before FROM (ms)
# to the first one acknowledged by server SERVER_ID.
client_gap() {
    awk -v a="$1" -v s="$2" '$3 < a { last = $3; next }
        { if (last != "" && $3 - last > max) max = $3 - last; last = $3 }
        $4 == s { exit } END { print max + 0 }' "$T/acked.log"
}

echo "--- 1. $SWITCHOVERS switchovers with writes flowing"
echo "(the client's gap includes its own write latency, and about 1 s more when a connection it"
echo " opened while the VIP moved lost its SYN: TCP retransmits it after 1 s)"
pauses=""
for n in $(seq "$SWITCHOVERS"); do
    w=$(lab_writer)
    to=$(other_of "$w")
    lab_wait 10 lab_healthy || lab_fail "switchover $n: the lab is not healthy before it"
    # The last one names no target: the only other candidate is picked, and the reason says so.
    target=(--to "$to")
    [ "$n" = "$SWITCHOVERS" ] && target=()
    out=$(lab_mmctl s switchover "${target[@]}" --timeout 10 --json)
    rc=$?
    [ "$rc" = 0 ] || lab_fail "switchover $n $w -> $to: exit $rc: $out"
    [ "$(jq -r .state <<< "$out")" = "done" ] && [ "$(jq -r .to <<< "$out")" = "$to" ] ||
        lab_fail "switchover $n: not done, or not to $to: $out"
    [ ${#target[@]} != 0 ] || jq -e '.request.reason | test("picked")' <<< "$out" > /dev/null ||
        lab_fail "switchover $n without --to: no reason for the pick: $out"
    begun=$(jq -r .begun_wall_ms <<< "$out")
    ended=$(jq -r .ended_wall_ms <<< "$out")
    daemons=$(jq -r .write_pause_ms <<< "$out")
    # Writes resume on the new writer: wait for one acknowledged by its server.
    sid=$(labq ".hosts.$to.server_id")
    lab_wait 10 awk -v t="$ended" -v s="$sid" '$3 >= t && $4 == s { f = 1 } END { exit !f }' \
        "$T/acked.log" || lab_fail "switchover $n: no write acknowledged by $to afterwards"
    gap=$(client_gap "$begun" "$sid")
    steps=$(jq -r '[(.fenced_wall_ms - .begun_wall_ms), (.caught_up_wall_ms - .fenced_wall_ms),
        (.switched_wall_ms - .caught_up_wall_ms), (.opened_wall_ms - .switched_wall_ms)]
        | map(tostring) | join("/")' <<< "$out")
    echo "switchover $n: $w -> $to done, epoch $(jq -r .new_epoch <<< "$out"); write pause" \
        "${daemons} ms (begun -> opened; steps fenced/caught_up/switched/opened $steps ms)," \
        "client's longest gap between acknowledged writes ${gap} ms"
    pauses="$pauses $daemons"
    sleep 0.5
done
echo "write pauses (begun -> opened, ms):$pauses"

echo "--- 1b. forced failover: not confirmed, then confirmed with --yes"
w=$(lab_writer)
to=$(other_of "$w")
epoch=$(lab_epoch)
out=$(echo no | lab_mmctl s failover --to "$to" --force 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "not confirmed" <<< "$out" || lab_fail "failover not confirmed: exit $rc: $out"
[ "$(lab_writer)" = "$w" ] && [ "$(lab_epoch)" = "$epoch" ] || lab_fail "an unconfirmed failover changed the writer"
out=$(lab_mmctl s failover --to "$to" --force --yes 2>&1)
rc=$?
[ "$rc" = 0 ] || lab_fail "failover --force --yes $w -> $to: exit $rc: $out"
echo "$out"
sid=$(labq ".hosts.$to.server_id")
t_forced=$(lab_now_ms)
lab_wait 10 awk -v t="$t_forced" -v s="$sid" '$3 >= t && $4 == s { f = 1 } END { exit !f }' \
    "$T/acked.log" || lab_fail "no write acknowledged by $to after the forced failover"

echo "--- 1c. a switchover that times out rolls back: the old writer reopens in a new epoch"
lab_wait 10 lab_healthy || lab_fail "the lab is not healthy before the rollback"
w=$(lab_writer)
to=$(other_of "$w")
epoch=$(lab_epoch)
# The target's SQL thread waits for this lock, so it cannot apply the old writer's final position.
lab_root_sql "$to" "LOCK TABLES $db.sw WRITE; SELECT SLEEP(4); UNLOCK TABLES" > /dev/null 2>&1 &
locker=$!
sleep 0.5
out=$(lab_mmctl s switchover --to "$to" --timeout 1 2>&1)
rc=$?
wait "$locker"
[ "$rc" = 1 ] && grep -q "^rolled back: " <<< "$out" && grep -q "^$w reopened in epoch $((epoch + 1))" <<< "$out" ||
    lab_fail "switchover that times out: exit $rc: $out"
echo "$out"
[ "$(lab_writer)" = "$w" ] && [ "$(lab_epoch)" = $((epoch + 1)) ] || lab_fail "no rollback to $w"
t_back=$(lab_now_ms)
sid=$(labq ".hosts.$w.server_id")
lab_wait 10 awk -v t="$t_back" -v s="$sid" '$3 >= t && $4 == s { f = 1 } END { exit !f }' \
    "$T/acked.log" || lab_fail "no write acknowledged by $w after the rollback"

echo "--- 2. refusals"
w=$(lab_writer)
t=$(other_of "$w")
epoch=$(lab_epoch)
out=$(lab_mmctl s switchover --to m9 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "unknown node 'm9'" <<< "$out" || lab_fail "unknown node: exit $rc: $out"
echo "unknown node: exit 2: $out"
out=$(lab_mmctl s switchover --to "$w" 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -q "writer already" <<< "$out" || lab_fail "to the writer: exit $rc: $out"
echo "to the current writer: exit 2: $out"
out=$(lab_mmctl s failover --to "$t" 2>&1)
rc=$?
[ "$rc" = 2 ] || lab_fail "failover without --force: exit $rc: $out"

kill -TERM "$(labq ".hosts.$t.mysql_pid")"
down() { lab_status_json | jq -e --arg t "$t" '.nodes[] | select(.id == $t) | .health.mysql == "down"' > /dev/null; }
lab_wait 30 down || lab_fail "$t's mysqld is not reported down"
out=$(lab_mmctl s switchover --to "$t" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "mysqld down" <<< "$out" || lab_fail "target mysqld stopped: exit $rc: $out"
echo "target's mysqld stopped: exit 1: $out"
"$LAB_CMD" heal --dir "$T/lab" "$t" > "$T/heal1.log" 2>&1 || { cat "$T/heal1.log"; lab_fail "heal $t"; }
lab_wait 30 lab_healthy || lab_fail "the lab is not healthy after $t's mysqld came back"

out=$(lab_mmctl m1 maintenance on --reason "test: no automatic failover" 2>&1)
rc=$?
[ "$rc" = 0 ] && grep -q "MAINTENANCE ON" <<< "$out" || lab_fail "maintenance on: exit $rc: $out"
echo "maintenance on: $out"
out=$(lab_mmctl s switchover --to "$t" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "maintenance is on" <<< "$out" || lab_fail "maintenance on: switchover exit $rc: $out"
echo "switchover under maintenance: exit 1: $out"
[ "$(lab_writer)" = "$w" ] && [ "$(lab_epoch)" = "$epoch" ] || lab_fail "a refusal changed the writer"

echo "--- 3. maintenance on: the writer's mysqld killed, no failover"
t_kill=$(lab_now_ms)
kill -KILL "$(labq ".hosts.$w.mysql_pid")"
sleep 3
st=$(lab_status_json)
[ "$(jq -r .writer.node <<< "$st")" = "$w" ] && [ "$(jq -r .writer.epoch <<< "$st")" = "$epoch" ] ||
    lab_fail "failover under maintenance: $(jq -c .writer <<< "$st")"
case ,$(lab_vip_holders) in *",$t,"*) lab_fail "$t took the VIP under maintenance" ;; esac
reason=$(jq -r '.decision.reason // empty' <<< "$st")
grep -q "maintenance on" <<< "$reason" || lab_fail "the leader's decision does not say maintenance: $reason"
lab_mmctl s status | grep -q "^MAINTENANCE ON" || lab_fail "mmctl status shows no MAINTENANCE line"
echo "3 s after the kill: writer still $w (epoch $epoch); decision: $(jq -r .decision.kind <<< "$st"): $reason"
lab_mmctl m2 maintenance off > /dev/null || lab_fail "maintenance off"
t_off=$(lab_now_ms)
took() { [ "$(lab_writer)" = "$t" ] && [ "$(lab_vip_holders)" = "$t," ]; }
lab_wait 20 took || lab_fail "no failover to $t after maintenance off"
echo "maintenance off: $t writes after $(($(lab_now_ms) - t_off)) ms (the kill was $((t_off - t_kill)) ms before)"
sid=$(labq ".hosts.$t.server_id")
lab_wait 10 awk -v t="$t_off" -v s="$sid" '$3 >= t && $4 == s { f = 1 } END { exit !f }' \
    "$T/acked.log" || lab_fail "no write acknowledged by $t after the failover"
"$LAB_CMD" heal --dir "$T/lab" "$w" > "$T/heal2.log" 2>&1 || { cat "$T/heal2.log"; lab_fail "heal $w"; }
lab_wait 30 lab_rejoined "$w" "$t" || lab_fail "$w did not rejoin fenced, replicating from $t"
sleep 1
lab_fault_stop

echo "--- checks"
# Replay the address events of the three hosts in time order: never two holders at once.
overlap=$(lab_vip_monitor_overlap "$T")
[ "${overlap%% *}" = 0.000 ] || lab_fail "two hosts held the VIP for $overlap (ms, first at)"
echo "never two VIP holders: $(cat "$T"/vip-*.mon | grep -c -F " $vip/") address events replayed"
lab_wait_converged sw "$T/acked.log" 30 || lab_fail "acknowledged writes missing (lost)"
hist=$(lab_mmctl s history --json) || lab_fail "history"
# epoch -> its writer's server_id; the switchovers whose old writer fenced (done or rolled
# back): from's server_id, epoch, final position.
jq -r --slurpfile lab "$LAB_JSON" '.epochs[] | "E \(.epoch) \($lab[0].hosts[.new_writer].server_id)"' \
    <<< "$hist" > "$T/facts"
jq -r --slurpfile lab "$LAB_JSON" '.events[] | select(.kind == "switchover" and .fenced_wall_ms > 0)
    | "S \(.epoch) \($lab[0].hosts[.from].server_id) \(.gtid)"' <<< "$hist" >> "$T/facts"
bad=$(awk 'FNR == NR { if ($1 == "E") writer[$2] = $3
                       else { final_epoch[$2] = $3; n = split($4, g, ",")
                              for (i = 1; i <= n; i++) { split(g[i], p, "-"); final[$2, p[1]] = p[3] } }
                       next }
    { id = $1; sid = $4; e = $5; split($6, g, "-")
      if (e == "NULL" || !(e in writer)) { print "write " id ": epoch " e " unknown"; next }
      if (writer[e] != sid) print "write " id ": epoch " e " belongs to server " writer[e] ", made on " sid
      if (e < last) print "write " id ": epoch " e " after a write in epoch " last
      last = e
      if ((e in final_epoch) && final_epoch[e] == sid && g[3] + 0 > final[e, g[1]] + 0)
          print "write " id ": gtid " $6 " beyond the final position of epoch " e }' \
    "$T/facts" "$T/acked.log")
[ -z "$bad" ] || lab_fail "writes on a fenced server: $(head -n 5 <<< "$bad")"
echo "no write on a fenced server: $(wc -l < "$T/acked.log") acknowledged writes, each under its" \
    "server's epoch, epochs in order, none beyond a switched writer's final position" \
    "($(grep -c '^S' "$T/facts") switchovers checked)"
lab_mmctl s history
lab_test_pass
