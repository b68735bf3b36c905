#!/bin/bash
# Three mmcoordd processes on loopback; one node's raft data dir is made immutable while it runs
# (the chaos harness's raft-unwritable fault: chattr -R +i), first a follower's, then the
# leader's. The node must leave with status 3 at its next raft write, logging at ERROR what
# failed and on which data dir (libraft 0.15 alone goes on with entries its disk lacks and
# writes later ones behind the gap); once the dir is writable again it restarts, rejoins, and
# its record carries every node's report like the others'.
# Needs root, a /tmp that takes the immutable flag, and jq; skips otherwise.
set -u
. "$top_srcdir/tests/lib/cluster.sh"
command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/install-deps.sh)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to set the immutable flag (chattr)"; exit 77; }

dir=$(mktemp -d /tmp/mmc-unwritable.XXXXXX)
cleanup() {
    chattr -R -i "$dir" 2>/dev/null
    cluster_stop_all
    if [ "${failed:-0}" != 0 ]; then
        for f in "$dir"/*.log; do echo "---- $f"; tail -n 30 "$f"; done
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
failed=0
step() { echo "== $*"; }
fail() { echo "FAIL: $*"; failed=1; exit 1; }

mkdir "$dir/probe"
chattr +i "$dir/probe" 2>/dev/null || { echo "SKIP: $dir takes no immutable flag"; exit 77; }
chattr -i "$dir/probe"

cluster_init "$dir"
for id in m1 m2 s; do cluster_start "$id"; done
all_agree() {
    local a b c
    a=$(cluster_leader m1) b=$(cluster_leader m2) c=$(cluster_leader s)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}
wait_for 20 all_agree || fail "no common leader within 20 s"

# Every node's record holds a report from all three.
reports_from_all() {
    [ "$(cluster_ctl "$1" status --json | jq '[.nodes[] | select(.report != null)] | length')" = 3 ]
}

# Make node $1's data dir immutable; it must exit with status 3 and say why.
unwritable() {
    local id=$1 pid rc
    pid=$(cat "$dir/$id.pid")
    chattr -R +i "$dir/$id/data" || fail "chattr -R +i $dir/$id/data"
    # Reports are appended every second: the next one fails. wait_for cannot wait for a child.
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "$id still runs 10 s after its data dir became immutable"
    wait "$pid"
    rc=$?
    rm -f "$dir/$id.pid"
    [ "$rc" = 3 ] || fail "$id exited with status $rc, not 3"
    grep -q " $id ERROR raft storage: .* failed in data dir $dir/$id/data: .*immutable flag" \
        "$dir/$id.log" || fail "$id did not log the failed write at ERROR"
    echo "$id exited with status 3: $(grep -o 'raft storage: [^;]*' "$dir/$id.log" | tail -1)"
    chattr -R -i "$dir/$id/data" || fail "chattr -R -i $dir/$id/data"
    cluster_start "$id"
}

step "a follower whose data dir becomes immutable leaves with status 3, then rejoins"
leader=$(cluster_leader m1)
follower=$(echo m1 m2 s | tr ' ' '\n' | grep -vx "$leader" | head -1)
wait_for 10 reports_from_all "$follower" || fail "$follower lacks reports before the fault"
unwritable "$follower"
rejoined() { [ "$(cluster_leader "$1")" = "$2" ] && reports_from_all "$1"; }
wait_for 20 rejoined "$follower" "$leader" || fail "$follower did not rejoin leader $leader"

step "the leader whose data dir becomes immutable leaves with status 3; a new one is elected"
unwritable "$leader"
old=$leader
new_leader() {
    local l
    l=$(cluster_leader m1)
    [ -n "$l" ] && [ "$l" != "$old" ] && [ "$(cluster_leader m2)" = "$l" ] &&
        [ "$(cluster_leader s)" = "$l" ]
}
wait_for 20 new_leader || fail "no common new leader after $old left"
leader=$(cluster_leader m1)
for id in m1 m2 s; do
    wait_for 20 reports_from_all "$id" || fail "$id lacks reports after the restart"
done
echo "new leader $leader; $old rejoined"
echo "PASS"
