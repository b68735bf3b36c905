#!/usr/bin/env bash
# vip_lifetime = no (mmcoord.conf(5)): the writer adds the VIP without a kernel lifetime and the
# leader waits out the lease alone after a silent writer. On a lab configured so, with a client
# writing through the VIP and independent watchers of the VIP:
#  1. the writer's VIP shows "valid_lft forever" (the default lab's shows a lifetime of 1 s);
#  2. the writer cut off (its cable unplugged): it fences itself, the other master promotes,
#     never two VIP holders, every acknowledged row on all three servers once healed.
# The leader's wait is printed from the logs (1206 ms by config, not asserted: no timed tests).
# Needs root, mariadbd.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/labclient.sh"
. "$top_srcdir/tests/lib/netns.sh"
export MMC_LAB_CLUSTER_CONF="vip_lifetime = no"
lab_test_begin vlt

other_master() { if [ "$1" = m2 ]; then echo m1; else echo m2; fi; }
leader_elsewhere() { [ "$(lab_leader)" != "$(lab_writer)" ]; }

w=$(lab_writer)
grep -q '^vip_lifetime = no$' "$(labq .dir)/$w/mmcoordd.conf" || lab_fail "the lab did not take MMC_LAB_CLUSTER_CONF"
line=$(ip -n "$(labq ".hosts.$w.namespace")" addr show | grep -A1 "inet $(labq .vip)/")
echo "1. the VIP on $w: $(echo "$line" | tr -s ' ' | tr '\n' ' ')"
grep -q "valid_lft forever" <<< "$line" || lab_fail "1: the VIP carries a lifetime although vip_lifetime = no"

lab_wait 20 lab_healthy || lab_fail "2: the cluster is not healthy before the fault"
lab_wait 10 leader_elsewhere
lab_fault_start s2
w=$FAULT_WRITER
new=$(other_master "$w")
netns_port_down "$(labq .prefix)" "$w"
moved() { [ "$(lab_vip_holders)" = "$new," ]; }
lab_wait 15 moved || lab_fail "2: the VIP is not on $new alone 15 s after the cut: [$(lab_vip_holders)]"
sleep 1
lab_fault_stop
lab_fault_figures s2 "$new"
[ "$(lab_root_sql "$w" "SELECT @@GLOBAL.read_only")" = 1 ] || lab_fail "2: the cut-off $w is still writable"
decided=$(grep -h "decision: epoch $((FAULT_EPOCH + 1)) goes to" "$(labq ".hosts.$(lab_leader).daemon_log")" | tail -n 1)
echo "2: $decided"
"$LAB_CMD" heal --dir "$(labq .dir)" "$w" > "$LAB_DIR_T/heal.log" 2>&1 || { cat "$LAB_DIR_T/heal.log"; lab_fail "2: heal $w"; }
lab_wait 30 lab_rejoined "$w" "$new" || lab_fail "2: $w did not rejoin fenced, replicating from $new"
lab_fault_common s2
lab_test_pass
