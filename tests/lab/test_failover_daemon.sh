#!/usr/bin/env bash
# Faults of the writer's coordinator on the lab (issue 7), one lab for both, each with a client
# writing through the VIP and independent watchers of the VIP and of the client's ARP entry:
#  1. kill -9 the writer's mmcoordd and restart it at once (within the lease): no failover (the
#     epoch and the writer stay), no other host ever holds the VIP; the fencer it left behind
#     is found again by the new daemon.
#  2. kill -9 the writer's mmcoordd and its fencer together: nothing on the host can fence it,
#     so the kernel drops the VIP at the end of its address lifetime; the other master takes
#     over, never two holders at once. The old host then comes back fenced, replicating from
#     the new writer.
# After each: replication converges with every acknowledged row on all three servers.
# MMC_FAULTS_KNOWN=s2-two-holders turns the two-holder check of scenario 2 into a report (the
# leader's wait did not yet cover the lifetime's whole-second granularity when this was written),
# MMC_FAULTS_KNOWN=s2-old-writer-sql-fence the check that the old writer's still reachable server
# was fenced over SQL before the new writer opened (issue 7; not done by the daemons yet).
# Needs root, mariadbd, python3.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/labclient.sh"
command -v python3 > /dev/null || { echo "SKIP: needs python3 (to ask the fencer)"; exit 77; }
lab_test_begin fod

# --- 1. the writer's daemon restarted within the lease
lab_fault_start s1
w=$FAULT_WRITER
old_fencer=$(lab_fencer_pid "$w")
[ -n "$old_fencer" ] || lab_fail "s1: no fencer runs on the writer $w"
conf=$(labq ".hosts.$w.daemon_config")
kill -KILL "$(labq ".hosts.$w.daemon_pid")"
# Started at once the way jepsen/lab starts it (heal takes a few hundred ms more: too slow for
# a restart inside the lease on a loaded machine), then heal records it in lab.json.
setsid ip netns exec "$(labq ".hosts.$w.namespace")" "$(labq .mmcoordd)" --config "$conf" \
    < /dev/null >> "$(labq ".hosts.$w.daemon_log")" 2>&1 &
echo $! > "$(dirname "$conf")/mmcoordd.pid"
disown
"$LAB_CMD" heal --dir "$(labq .dir)" "$w" > "$LAB_DIR_T/heal1.log" 2>&1 ||
    { cat "$LAB_DIR_T/heal1.log"; lab_fail "s1: heal $w"; }
t_back=$(lab_now_ms)
ready=$(grep 'control socket .* ready' "$(labq ".hosts.$w.daemon_log")" | tail -n 1)
ready_ms=$(($(date -d "${ready%% *}" +%s%3N) - FAULT_T0))
echo "s1: $w's new mmcoordd was ready $ready_ms ms after the kill"
resumed() { awk -v t="$t_back" '$2 > t' "$LAB_DIR_T/s1.acked" | grep -q .; }
lab_wait 15 resumed || lab_fail "s1: no write acknowledged after the restart"
sleep 2
lab_fault_stop
lab_fault_figures s1 ""
if [ "$(lab_epoch)" != "$FAULT_EPOCH" ]; then
    # With a 1 s lease renewed every 250 ms the leader may promote ~950 ms after the kill: a
    # daemon that needed more than S1_BOUND_MS to start had no time left to renew.
    [ "$ready_ms" -gt "${S1_BOUND_MS:-700}" ] ||
        lab_fail "s1: epoch $FAULT_EPOCH became $(lab_epoch): a failover although $w's daemon was back after $ready_ms ms"
    echo "s1: NOT CHECKED: the restart took $ready_ms ms on this loaded machine, past the lease" \
        "(epoch $FAULT_EPOCH became $(lab_epoch)); the rest of s1 is skipped"
    lab_fault_common s1
else
    [ "$(lab_writer)" = "$w" ] || lab_fail "s1: the writer is now $(lab_writer), not $w"
    elsewhere=$(awk -v t="$FAULT_T0" -v h="$w," '$1 >= t && $2 != "" && $2 != h' "$LAB_DIR_T/s1.vip" | head -n 3)
    [ -z "$elsewhere" ] || lab_fail "s1: the VIP left $w: $elsewhere"
    absent=$(awk -v t="$FAULT_T0" '$1 >= t { if ($2 == "" && s == "") s = $1; if ($2 != "" && s != "") { n += $1 - s; s = "" } }
        END { print n + 0 }' "$LAB_DIR_T/s1.vip")
    echo "s1: the VIP was on no host for about $absent ms in all (the restarted daemon fences" \
        "until it has renewed its own lease)"
    [ "$(lab_fencer_pid "$w")" = "$old_fencer" ] || lab_fail "s1: the fencer changed ($old_fencer -> $(lab_fencer_pid "$w"))"
    # The restarted daemon must have taken the fencer over: it keeps extending the deadline.
    p1=$(lab_fencer_ping "$w")
    sleep 0.6
    p2=$(lab_fencer_ping "$w")
    echo "s1: fencer after the restart: '$p1', 0.6 s later '$p2'"
    [ "${p1% *}" = "OK armed $FAULT_EPOCH" ] && [ "${p2% *}" = "OK armed $FAULT_EPOCH" ] &&
        [ "${p2##* }" -gt "${p1##* }" ] || lab_fail "s1: the restarted daemon does not keep its fencer armed"
    flog=$(dirname "$(labq ".hosts.$w.control_socket")")/fencer.sock.log
    if awk -v t="$(date -u -d "@$((FAULT_T0 / 1000))" +%Y-%m-%dT%H:%M:%S)" '$1 >= t' "$flog" | grep -q 'fence: attempt'; then
        echo "s1: the fencer fenced $w during the restart (the restart outlasted the lease left):"
    else
        echo "s1: the fencer kept its deadline and did not need to fence; its log:"
    fi
    tail -n 4 "$flog" | sed 's/^/    /'
    lab_fault_common s1
fi

# --- 2. the writer's daemon and fencer killed together
lab_wait 20 lab_healthy || lab_fail "s2: the cluster is not healthy before the fault"
lab_fault_start s2
w=$FAULT_WRITER
other=m2
[ "$w" = m2 ] && other=m1
dpid=$(labq ".hosts.$w.daemon_pid")
fpid=$(lab_fencer_pid "$w")
[ -n "$fpid" ] || lab_fail "s2: no fencer runs on $w"
kill -KILL "$dpid" "$fpid"
moved() { [ "$(lab_vip_holders)" = "$other," ]; }
lab_wait 15 moved || lab_fail "s2: the VIP is not on $other alone 15 s after the kill: [$(lab_vip_holders)]"
resumed() { awk -v t="$FAULT_T0" '$2 > t' "$LAB_DIR_T/s2.acked" | grep -q .; }
lab_wait 10 resumed || lab_fail "s2: no write acknowledged after the failover"
sleep 1
lab_fault_stop
lab_fault_figures s2 "$other"
t_gone=$(awk -v t="$FAULT_T0" -v h="$w," '$1 >= t && index($2, h) == 0 { print $1; exit }' "$LAB_DIR_T/s2.vip")
echo "s2: the VIP left $w by itself $((t_gone - FAULT_T0)) ms after the kill (kernel address lifetime)"
[ "$FAULT_REACH_MS" -ge 0 ] && [ "$FAULT_REACH_MS" -le 10000 ] ||
    lab_fail "s2: the client did not reach the new writer $other within 10 s"
[ "$(lab_epoch)" = $((FAULT_EPOCH + 1)) ] || lab_fail "s2: epoch $(lab_epoch), expected $((FAULT_EPOCH + 1))"
[ "$(lab_writer)" = "$other" ] || lab_fail "s2: the writer is $(lab_writer), not $other"
ro=$(lab_root_sql "$w" "SELECT @@GLOBAL.read_only")
echo "s2: $w's server (no coordinator left on its host) has read_only=$ro after the failover"
[ "$ro" = 1 ] || lab_check s2-old-writer-sql-fence "s2: $w's reachable server (read_only=$ro) was not fenced over SQL before $other opened"
"$LAB_CMD" heal --dir "$(labq .dir)" "$w" > "$LAB_DIR_T/heal2.log" 2>&1 ||
    { cat "$LAB_DIR_T/heal2.log"; lab_fail "s2: heal $w"; }
[ -n "$(lab_fencer_pid "$w")" ] || lab_fail "s2: $w's restarted daemon started no fencer"
lab_wait 20 lab_rejoined "$w" "$other" || lab_fail "s2: $w did not rejoin fenced, replicating from $other"
lab_fault_common s2
lab_mmctl s history
lab_test_pass
