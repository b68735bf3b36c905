#!/usr/bin/env bash
# The main demo: install what is needed, build, and run three mmcoordd daemons on loopback
# (examples/loopback: nodes m1, m2, s on 127.0.0.1:7401-7403, state under /tmp/mmcoord).
# It shows the cluster, kills the raft leader with SIGKILL, shows the new leader, restarts the
# killed node and shows it caught up. With --keep the daemons keep running afterwards
# (stop them with: scripts/demo.sh --stop).
#   sudo scripts/demo.sh [--keep | --stop]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
state=/tmp/mmcoord
mmcoordd=$top/build/coord/mmcoordd
mmctl=$top/build/coord/mmctl

stop_all() {
    local id pid
    for id in m1 m2 s; do
        [ -f "$state/$id.pid" ] || continue
        pid=$(cat "$state/$id.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$state/$id.pid"
    done
}

case "${1:-}" in
--stop)
    stop_all
    echo "demo: stopped"
    exit 0
    ;;
--keep | "") ;;
*)
    echo "usage: scripts/demo.sh [--keep | --stop]" >&2
    exit 2
    ;;
esac

bash scripts/install-deps.sh
bash scripts/build.sh
stop_all
rm -rf "$state"
mkdir -p "$state"
install -m 600 examples/loopback/secret "$state/secret"

start() {
    "$mmcoordd" --config "examples/loopback/$1.conf" >> "$state/$1.log" 2>&1 &
    echo $! > "$state/$1.pid"
    disown
}
leader_seen_by() { { "$mmctl" --socket "$state/$1/mmcoordd.sock" leader 2>/dev/null || true; } | cut -d' ' -f1; }
wait_leader() {
    local except=${2:-} l
    for _ in $(seq 300); do
        l=$(leader_seen_by "$1")
        if [ -n "$l" ] && [ "$l" != "$except" ]; then
            echo "$l"
            return 0
        fi
        sleep 0.05
    done
    return 1
}
[ "${1:-}" = --keep ] || trap stop_all EXIT

echo "== starting m1, m2 and s on 127.0.0.1:7401-7403 (logs in $state/*.log)"
for id in m1 m2 s; do start "$id"; done
leader=$(wait_leader s) || { echo "demo: no leader elected; see $state/*.log" >&2; exit 1; }
sleep 2
"$mmctl" --socket "$state/s/mmcoordd.sock" status
echo
echo "== kill -9 of the raft leader $leader"
t0=$(date +%s%N)
kill -KILL "$(cat "$state/$leader.pid")"
rm -f "$state/$leader.pid"
other=$(echo m1 m2 s | tr ' ' '\n' | grep -vx "$leader" | head -n1)
new=$(wait_leader "$other" "$leader") || { echo "demo: no new leader" >&2; exit 1; }
t1=$(date +%s%N)
echo "new leader: $new, seen by $other $(((t1 - t0) / 1000000)) ms after the kill"
echo
echo "== restarting $leader: it rejoins and catches up from its log"
start "$leader"
wait_leader "$leader" > /dev/null
sleep 2
"$mmctl" --socket "$state/$leader/mmcoordd.sock" status
if [ "${1:-}" = --keep ]; then
    echo
    echo "The daemons keep running. Try: $mmctl --socket $state/m1/mmcoordd.sock status"
    echo "Stop them with: scripts/demo.sh --stop"
fi
