#!/usr/bin/env bash
# Faults that must NOT cause a failover, and the loss of every candidate, on one lab (issue 7),
# each with a client writing through the VIP and an independent watcher of the VIP:
#  5. the raft leader, not the writer's host, cut off: a new leader is elected among the others,
#     the writer keeps its epoch, the VIP never leaves it.
#  6. the candidate's (the other master's) mysqld stopped: no failover; `mmctl status` shows that
#     the writer has no standby now (STANDBY_JQ below says how that is read).
#  7. both masters' mysqld stopped: no writer, the VIP on no host, status says why; both
#     restarted, the cluster opens a writer again.
# After each: healed, replication converges with every acknowledged row on all three servers,
# never two VIP holders. Needs root, mariadbd.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/labclient.sh"
. "$top_srcdir/tests/lib/netns.sh"
lab_test_begin fos

# Whether the writer $w has a standby, from `mmctl status --json`: a node's "promotable" when
# status offers it (being added), else a candidate other than the writer whose MySQL is up.
# shellcheck disable=SC2016 # jq program
STANDBY_JQ='[.nodes[] | select(.candidate and .id != $w)
    | if has("promotable") then .promotable else .health.mysql == "up" end] | any'
# Where status says why a node cannot take over: its "why" when offered, else the decision.
# shellcheck disable=SC2016 # jq program
WHY_JQ='[.nodes[] | select(.candidate and .id != $w) | .why // empty] + [.decision.reason] | join("; ")'

# The epoch and the writer as before, the VIP never on another host, writes go on. The writer
# may drop the VIP for a moment: when renewing its lease waits for a new raft leader longer
# than the lease allows, it fences itself and opens again in the same epoch (reported).
stays() { # name
    local name=$1 elsewhere absent
    [ "$(lab_epoch)" = "$FAULT_EPOCH" ] || lab_fail "$name: epoch $FAULT_EPOCH became $(lab_epoch): a failover"
    [ "$(lab_writer)" = "$FAULT_WRITER" ] || lab_fail "$name: the writer is now $(lab_writer), not $FAULT_WRITER"
    elsewhere=$(awk -v t="$FAULT_T0" -v h="$FAULT_WRITER," '$1 >= t && $2 != "" && $2 != h' "$LAB_DIR_T/$name.vip" | head -n 3)
    [ -z "$elsewhere" ] || lab_fail "$name: the VIP was on another host than $FAULT_WRITER: $elsewhere"
    absent=$(awk -v t="$FAULT_T0" '$1 >= t { if ($2 == "" && s == "") s = $1; if ($2 != "" && s != "") { n += $1 - s; s = "" } }
        END { print n + 0 }' "$LAB_DIR_T/$name.vip")
    echo "$name: no failover; the VIP was on no host for about $absent ms in all"
    awk -v t=$(($(lab_now_ms) - 1500)) '$3 > t' "$LAB_DIR_T/$name.acked" | grep -q . ||
        lab_fail "$name: no write acknowledged in the last 1.5 s"
}

heal() {
    "$LAB_CMD" heal --dir "$(labq .dir)" "$@" > "$LAB_DIR_T/heal.log" 2>&1 ||
        { cat "$LAB_DIR_T/heal.log"; lab_fail "heal $*"; }
}

# --- 5. the leader, not the writer, cut off
leader_elsewhere() { [ -n "$(lab_leader)" ] && [ "$(lab_leader)" != "$(lab_writer)" ]; }
lab_wait 10 leader_elsewhere || lab_fail "s5: the leader stays on the writer's host $(lab_writer)"
lab_fault_start s5
lead=$FAULT_LEADER
netns_port_down "$(labq .prefix)" "$lead"
others=$(for x in m1 m2 s; do [ "$x" != "$lead" ] && echo "$x"; done)
new_leader() { local l; l=$(lab_status_json $others | jq -r '.leader.id // empty'); [ -n "$l" ] && [ "$l" != "$lead" ]; }
lab_wait 10 new_leader || lab_fail "s5: no new leader among the others after the cut of $lead"
echo "s5: leader now $(lab_status_json $others | jq -r .leader.id) (was $lead)"
sleep 3
lab_fault_stop
lab_fault_figures s5 ""
stays s5
heal "$lead"
lab_fault_common s5

# --- 6. the candidate's mysqld stopped
lab_wait 20 lab_healthy || lab_fail "s6: the cluster is not healthy before the fault"
lab_fault_start s6
w=$FAULT_WRITER
cand=m2
[ "$w" = m2 ] && cand=m1
jq -e --arg w "$w" "$STANDBY_JQ" <<< "$(lab_status_json)" > /dev/null ||
    lab_fail "s6: status shows no standby for $w before the fault"
kill -TERM "$(labq ".hosts.$cand.mysql_pid")"
no_standby() { jq -e --arg w "$w" "($STANDBY_JQ) | not" <<< "$(lab_status_json)" > /dev/null; }
lab_wait 20 no_standby || lab_fail "s6: status still shows a standby for $w with $cand's mysqld stopped"
echo "s6: status: $w has no standby; why: $(lab_status_json | jq -r --arg w "$w" "$WHY_JQ")"
sleep 2
lab_fault_stop
lab_fault_figures s6 ""
stays s6
heal "$cand"
has_standby() { jq -e --arg w "$w" "$STANDBY_JQ" <<< "$(lab_status_json)" > /dev/null; }
lab_wait 20 has_standby || lab_fail "s6: status shows no standby after $cand's mysqld is back"
lab_fault_common s6

# --- 7. both masters' mysqld stopped
lab_wait 20 lab_healthy || lab_fail "s7: the cluster is not healthy before the fault"
lab_fault_start s7
kill -TERM "$(labq .hosts.m1.mysql_pid)" "$(labq .hosts.m2.mysql_pid)"
no_vip() { [ -z "$(lab_vip_holders)" ]; }
lab_wait 20 no_vip || lab_fail "s7: the VIP is still on $(lab_vip_holders) with both masters' mysqld stopped"
sleep 2
no_vip || lab_fail "s7: the VIP came back on $(lab_vip_holders) with both masters' mysqld stopped"
st=$(lab_status_json)
jq -e '.decision.kind != "none" and (.decision.reason | length > 0)' <<< "$st" > /dev/null ||
    lab_fail "s7: status does not say why there is no writer: $(jq -c .decision <<< "$st")"
echo "s7: no VIP anywhere; status: writer $(jq -r '.writer.node + " released=" + (.writer.released | tostring)' <<< "$st");" \
    "decision $(jq -r '.decision.kind + ": " + .decision.reason' <<< "$st")"
heal m1 m2
writer_back() { lab_healthy; }
lab_wait 30 writer_back || lab_fail "s7: no healthy writer 30 s after both masters' mysqld came back"
t_back=$(lab_now_ms)
resumed() { awk -v t="$t_back" '$2 > t' "$LAB_DIR_T/s7.acked" | grep -q .; }
lab_wait 15 resumed || lab_fail "s7: no write acknowledged after the recovery"
lab_fault_stop
lab_fault_figures s7 ""
echo "s7: writer $(lab_writer) in epoch $(lab_epoch) (was $FAULT_WRITER in $FAULT_EPOCH)"
lab_fault_common s7
lab_mmctl s history
lab_test_pass
