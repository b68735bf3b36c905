#!/bin/bash
# Three mmcoordd processes on loopback: they agree on a leader; kill -9 of the leader gives a
# new one; the killed node restarts and catches up; a node whose data dir was wiped rejoins;
# a process with the wrong secret is rejected and logged; bad configs exit 2; clean shutdown.
set -u
. "$top_srcdir/tests/lib/cluster.sh"
command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/install-deps.sh)"; exit 77; }

dir=$(mktemp -d /tmp/mmc-cluster.XXXXXX)
cleanup() {
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

cluster_init "$dir"

step "three daemons agree on one leader"
for id in m1 m2 s; do cluster_start "$id"; done
all_agree() {
    local a b c
    a=$(cluster_leader m1) b=$(cluster_leader m2) c=$(cluster_leader s)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}
wait_for 20 all_agree || fail "no common leader within 20 s"
leader=$(cluster_leader m1)
echo "leader: $leader"

step "status shows every node's replicated report"
reports_from_all() {
    [ "$(cluster_ctl "$1" status --json | jq '[.nodes[] | select(.report != null)] | length')" = 3 ]
}
wait_for 10 reports_from_all s || fail "status on s lacks reports: $(cluster_ctl s status --json)"
cluster_ctl s status | grep -q "^cluster test" || fail "status table has no cluster line"
[ "$(cluster_ctl s status --json | jq -r '.leader.id')" = "$leader" ] || fail "status leader"

step "kill -9 of the leader: the others elect a new one"
old=$leader
# A restart must also work from a snapshot (the daemon restores it inside raft_start).
has_snapshot() { compgen -G "$dir/$old/data/snapshot-*" > /dev/null; }
wait_for 30 has_snapshot || fail "$old took no snapshot (snapshot_threshold is 32)"
cluster_kill "$old" KILL
survivors=$(echo m1 m2 s | tr ' ' '\n' | grep -vx "$old" | tr '\n' ' ')
new_leader() {
    local id l
    for id in $survivors; do
        l=$(cluster_leader "$id")
        [ -n "$l" ] && [ "$l" != "$old" ] || return 1
    done
}
wait_for 20 new_leader || fail "no new leader after killing $old"
leader=$(cluster_leader "${survivors%% *}")
echo "new leader: $leader"

step "the killed node restarts and catches up"
cluster_start "$old"
caught_up() {
    local mine theirs
    [ "$(cluster_leader "$old")" = "$leader" ] || return 1
    mine=$(cluster_ctl "$old" status --json | jq '.applied_index')
    theirs=$(cluster_ctl "$leader" status --json | jq '.commit_index')
    [ "$mine" -ge "$theirs" ] && reports_from_all "$old"
}
wait_for 20 caught_up || fail "$old did not catch up"
grep -q "entry refused" "$dir"/*.log && fail "an entry was refused on reload"

step "a process with the wrong secret is rejected"
victim=$(echo m1 m2 s | tr ' ' '\n' | grep -vx "$leader" | head -n1)
cluster_kill "$victim" TERM
cp "$dir/$victim.conf" "$dir/impostor.conf"
sed -i "s#^secret_file = .*#secret_file = $dir/wrong-secret#; s#^data_dir = .*#data_dir = $dir/impostor/data#; s#^control_socket = .*#control_socket = $dir/impostor/ctl.sock#" "$dir/impostor.conf"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/wrong-secret"
chmod 600 "$dir/wrong-secret"
"$MMCOORDD" --config "$dir/impostor.conf" > "$dir/impostor.log" 2>&1 &
echo $! > "$dir/impostor.pid"
rejected() { grep -q "rejected peer 127.0.0.1:[0-9]*: .*MAC" "$dir/$leader.log"; }
wait_for 15 rejected || fail "the leader did not log a rejected peer"
sleep 1
[ -z "$("$MMCTL" --socket "$dir/impostor/ctl.sock" leader 2>/dev/null)" ] ||
    fail "the impostor learned a leader"
"$MMCTL" --socket "$dir/impostor/ctl.sock" leader > /dev/null 2>&1
[ $? = 3 ] || fail "mmctl leader on a node without leader must exit 3"
[ "$(cluster_leader "$leader")" = "$leader" ] || fail "the impostor disturbed the leader"
kill -TERM "$(cat "$dir/impostor.pid")"; wait "$(cat "$dir/impostor.pid")" 2>/dev/null; rm -f "$dir/impostor.pid"

step "a node whose data dir was wiped rejoins"
rm -rf "${dir:?}/$victim/data"
sleep 3 # three election timeouts: the vote it forgets cannot matter any more (docs/DESIGN.md)
cluster_start "$victim"
old=$victim
wait_for 20 caught_up || fail "$victim did not rejoin after its data dir was wiped"

step "bad configuration: exit 2 with file:line and key"
printf '[cluster]\nname = test\nsecret_file = %s\nheartbeat_ms = fast\n' "$dir/secret" > "$dir/bad.conf"
out=$("$MMCOORDD" --config "$dir/bad.conf" 2>&1); rc=$?
[ "$rc" = 2 ] || fail "bad config: exit $rc, expected 2"
echo "$out" | grep -q "bad.conf:4: \[cluster\] heartbeat_ms = fast" || fail "bad config message: $out"
chmod 644 "$dir/secret"
out=$("$MMCOORDD" --config "$dir/m1.conf" 2>&1); rc=$?
chmod 600 "$dir/secret"
[ "$rc" = 2 ] || fail "group-readable secret: exit $rc, expected 2"
echo "$out" | grep -q "chmod 600" || fail "secret mode message: $out"
"$MMCOORDD" --config "$dir/m1.conf" --check > /dev/null || fail "--check on a valid config"
"$MMCOORDD" --help | grep -q -- "--config FILE" || fail "--help"

step "mmctl: usage errors exit 2, an unreachable daemon exits 1"
"$MMCTL" --socket "$dir/m1/ctl.sock" frobnicate > /dev/null 2>&1; [ $? = 2 ] || fail "unknown command"
"$MMCTL" > /dev/null 2>&1; [ $? = 2 ] || fail "no command"
"$MMCTL" --socket "$dir/nowhere.sock" leader > /dev/null 2>&1; [ $? = 1 ] || fail "no daemon"
cluster_ctl m1 status --json | jq -e '.nodes | length == 3' > /dev/null || fail "json nodes"

step "malformed control requests get an error, the daemon stays up"
if command -v python3 > /dev/null; then
    resp=$(python3 - "$dir/m1/ctl.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b'this is not json\n{"cmd":42}\n{"cmd":"nope"}\n')
data = b""
while data.count(b"\n") < 3:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
print(data.decode())
PY
)
    [ "$(echo "$resp" | grep -c '"ok":false')" = 3 ] || fail "malformed requests: $resp"
fi
[ -n "$(cluster_leader m1)" ] || fail "daemon died after malformed requests"

step "SIGTERM: clean exit 0, socket removed"
pid=$(cat "$dir/s.pid")
kill -TERM "$pid"; wait "$pid"; rc=$?
rm -f "$dir/s.pid"
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
[ ! -e "$dir/s/ctl.sock" ] || fail "control socket left behind"
echo "PASS"
