#!/usr/bin/env bash
# The main demo: install what is needed, build, and bring up the three-host lab (jepsen/lab:
# network namespaces m1, m2, s and a client, MariaDB m1 <-> m2 plus a replica, one mmcoordd per
# host, which choose and open the writer). It writes through the VIP from the client, shows the
# replicated rows on every server, runs the preflight checks, then kills the writer's mysqld
# with SIGKILL while the client keeps writing, and shows what happened: how fast the VIP moved,
# how long the writes paused, that no acknowledged write was lost, `mmctl status` and
# `mmctl history` before and after.
#   sudo scripts/demo.sh [--keep]     --keep leaves the lab up (stop it: jepsen/lab down)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
keep=no
case "${1:-}" in
--keep) keep=yes ;;
"") ;;
*)
    echo "usage: scripts/demo.sh [--keep]" >&2
    exit 2
    ;;
esac
dir=${MMC_DEMO_DIR:-/tmp/mmcoord-lab}

bash scripts/install-deps.sh
bash scripts/build.sh
jepsen/lab down --dir "$dir" > /dev/null 2>&1 || true
[ "$keep" = yes ] || trap 'jepsen/lab down --dir "$dir" > /dev/null' EXIT

echo "== jepsen/lab up"
jepsen/lab up --dir "$dir"
LAB_JSON=$dir/lab.json
. "$top/tests/lib/labclient.sh"
q() { labq "$1"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
vip=$(q .vip)
db=$(q .client.database)
sql_client() { lab_client_sql "$1"; }
sql_root() { lab_root_sql "$1" "$2"; }
ctl() { "$(q .mmctl)" --socket "$(q ".hosts.$1.control_socket")" "${@:2}"; }

echo
echo "== a client writes through the VIP $vip"
sql_client "CREATE TABLE IF NOT EXISTS demo (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64));
            INSERT INTO demo (note) VALUES ('hello'), ('through the VIP');"
sleep 1
for h in m1 m2 s; do
    echo "$h: $(sql_root "$h" "SELECT COUNT(*) FROM $db.demo") rows, gtid $(sql_root "$h" "SELECT @@gtid_current_pos")"
done

echo
echo "== mmctl check on m1 (preflight, straight to the three MySQL servers)"
in_ns "$(q .hosts.m1.namespace)" "$(q .mmctl)" --config "$(q .hosts.m1.daemon_config)" check || true

echo
echo "== mmctl status and history before"
ctl s status
ctl s history
writer=$(ctl s status --json | jq -r .writer.node)
other=m2
[ "$writer" = m2 ] && other=m1
now_ms() { lab_now_ms; }

echo
echo "== a client writes through the VIP, then $writer's mysqld is killed (SIGKILL)"
sql_client "CREATE TABLE IF NOT EXISTS demo_writes (id INT PRIMARY KEY, at BIGINT)"
acked=$(mktemp)
(
    i=0
    while :; do
        i=$((i + 1))
        if sql_client "INSERT INTO demo_writes VALUES ($i, $(now_ms))" 2> /dev/null; then
            echo "$i $(now_ms)"
        fi
    done
) > "$acked" &
writer_pid=$!
sleep 2
t_kill=$(now_ms)
kill -KILL "$(q ".hosts.$writer.mysql_pid")"
t_moved=""
for _ in $(seq 300); do
    if [ "$(lab_vip_holders)" = "$other," ]; then
        t_moved=$(now_ms)
        break
    fi
    sleep 0.02
done
sleep 2
kill "$writer_pid" 2> /dev/null
wait "$writer_pid" 2> /dev/null || true
last_before=$(awk -v t="$t_kill" '$2 <= t' "$acked" | tail -n 1 | cut -d' ' -f2)
first_after=$(awk -v t="$t_kill" '$2 > t' "$acked" | head -n 1 | cut -d' ' -f2)
n_acked=$(wc -l < "$acked")
n_rows=$(sql_root "$other" "SELECT COUNT(*) FROM $db.demo_writes")
missing=$(cut -d' ' -f1 "$acked" | while read -r id; do
    [ "$(sql_root "$other" "SELECT COUNT(*) FROM $db.demo_writes WHERE id=$id")" = 1 ] || echo "$id"
done | wc -l)
rm -f "$acked"
if [ -n "$t_moved" ]; then
    echo "VIP on $other: $((t_moved - t_kill)) ms after the kill"
else
    echo "VIP NOT on $other 6 s after the kill: see $dir/*/mmcoordd.log"
fi
if [ -n "$first_after" ] && [ -n "$last_before" ]; then
    echo "client write pause: $((first_after - last_before)) ms (each write is a new mariadb"
    echo "  client connection; a SYN lost while the VIP moves costs the client's 1 s retry)"
fi
echo "acknowledged writes: $n_acked; rows on the new writer $other: $n_rows; acknowledged but missing: $missing"

echo
echo "== mmctl status and history after"
ctl s status
ctl s history
if [ "$keep" = yes ]; then
    echo
    echo "The lab keeps running ($writer's mysqld stays down). See: jepsen/lab status --dir $dir"
    echo "Stop it with: jepsen/lab down --dir $dir"
fi
