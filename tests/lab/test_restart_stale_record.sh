#!/usr/bin/env bash
# A restarted daemon must not act on a record that stops short of the cluster's (issue 7).
# On start a node's record is its last raft snapshot: the entries after it apply only once a
# leader says they are committed. A 30-minute chaos run saw a master restarted that way name
# the writer of its snapshot, a deposed one, and repoint its server to it: it replicated that
# writer's unacknowledged tail, whose row images overwrote acknowledged updates (259 lost).
# Here: snapshots every 64 entries; right after the new master N has taken a snapshot, a
# switchover W -> N; then N's mmcoordd is killed and started again while its raft port is cut
# off, so that its record stays the snapshot's (writer W) for the 3 s watched. Asserted: in that
# time N's daemon changes nothing in replication (no "replication now from"); once the cut is
# lifted it says its record caught up with the cluster, and the lab becomes healthy again with
# one writer. Needs root, mariadbd, jq, nft.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/labclient.sh"
command -v nft > /dev/null || { echo "SKIP: needs nft (to cut a node's raft port)"; exit 77; }
export MMC_LAB_CLUSTER_CONF="snapshot_threshold = 64
snapshot_trailing = 8"
lab_test_begin rsr

lab_wait 30 lab_healthy || lab_fail "the lab is not healthy after up"
w=$(lab_writer)
n=m1
[ "$w" = m1 ] && n=m2
ndir=$(dirname "$(labq ".hosts.$n.daemon_config")")
nlog=$(labq ".hosts.$n.daemon_log")
ns=$(labq ".hosts.$n.namespace")
raft_port=$(labq ".hosts.$n.raft_address")
raft_port=${raft_port##*:}
snapshots() { find "$ndir/raft" -maxdepth 1 -name 'snapshot-*' ! -name '*.meta' | sort; }
# Wait for a fresh snapshot on N: the switchover then comes well inside the next 64 entries.
before=$(snapshots | tail -n 1)
fresh() { [ "$(snapshots | tail -n 1)" != "$before" ]; }
lab_wait 30 fresh || lab_fail "$n took no new snapshot in 30 s (snapshot_threshold = 64)"
out=$(lab_mmctl s switchover --to "$n" --timeout 10 --json)
[ "$(jq -r .state <<< "$out" 2> /dev/null)" = "done" ] || lab_fail "switchover $w -> $n: $out"
[ "$(lab_writer)" = "$n" ] || lab_fail "the writer is $(lab_writer) after the switchover to $n"

# N's raft port cut off, then its daemon killed and started again at once.
ip netns exec "$ns" nft -f - << EOF || lab_fail "nft"
table inet mmt_rsr {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport $raft_port drop
        tcp sport $raft_port drop
    }
}
EOF
uncut() { ip netns exec "$ns" nft delete table inet mmt_rsr 2> /dev/null; }
conf=$(labq ".hosts.$n.daemon_config")
kill -KILL "$(labq ".hosts.$n.daemon_pid")"
mark=$(wc -l < "$nlog")
setsid ip netns exec "$ns" "$(labq .mmcoordd)" --config "$conf" < /dev/null >> "$nlog" 2>&1 &
echo $! > "$ndir/mmcoordd.pid"
disown
"$LAB_CMD" heal --dir "$(labq .dir)" "$n" > "$LAB_DIR_T/heal.log" 2>&1 ||
    { cat "$LAB_DIR_T/heal.log"; lab_fail "heal $n"; }
started() { tail -n +"$((mark + 1))" "$nlog" | grep -q 'control socket .* ready'; }
lab_wait 10 started || lab_fail "$n's daemon did not start again"
sleep 3
since_start=$(tail -n +"$((mark + 1))" "$nlog")
grep -q 'record: caught up with the cluster' <<< "$since_start" &&
    lab_fail "$n's record caught up although its raft port was cut: the test did not hold it back"
repointed=$(grep 'replication now from' <<< "$since_start")
[ -z "$repointed" ] ||
    lab_fail "$n's restarted daemon changed replication on a record it had not caught up: $repointed"
echo "cut off: $n's daemon left replication alone for 3 s after its restart"

uncut
caught() { tail -n +"$((mark + 1))" "$nlog" | grep -q 'record: caught up with the cluster'; }
lab_wait 20 caught || lab_fail "$n's record did not catch up once its raft port was open again"
grep 'record: caught up with the cluster' "$nlog" | tail -n 1
lab_wait 60 lab_healthy || lab_fail "the lab did not become healthy again (writer $(lab_writer))"
echo "healthy again: writer $(lab_writer), epoch $(lab_epoch)"
lab_test_pass
