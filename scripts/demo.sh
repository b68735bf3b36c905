#!/usr/bin/env bash
# The main demo: install what is needed, build, and bring up the three-host lab (jepsen/lab:
# network namespaces m1, m2, s and a client, MariaDB m1 <-> m2 plus a replica, one mmcoordd per
# host). It writes through the VIP from the client, shows the replicated rows on every server,
# runs the preflight checks and `mmctl status`, then kills the raft leader's daemon with
# SIGKILL and shows the new leader. Automatic failover of the writer (the VIP moving) arrives
# with the failover issue; this demo will then kill the writer's mysqld instead.
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
lab=$dir/lab.json
q() { jq -r "$1" "$lab"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
vip=$(q .vip)
client_ns=$(q .client.namespace)
client_cnf=$(q .client.credentials_file)
db=$(q .client.database)
sql_client() { in_ns "$client_ns" mariadb --defaults-extra-file="$client_cnf" -h "$vip" -N -B "$db" -e "$1"; }
sql_root() { mariadb --no-defaults -uroot -S "$(q ".hosts.$1.mysql_socket")" -N -B -e "$2"; }
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
echo "== mmctl status"
ctl s status
leader=$(ctl s leader | cut -d' ' -f1)

echo
echo "== kill -9 of the raft leader's daemon ($leader)"
t0=$(date +%s%N)
kill -KILL "$(q ".hosts.$leader.daemon_pid")"
other=$(echo m1 m2 s | tr ' ' '\n' | grep -vx "$leader" | head -n1)
new=""
for _ in $(seq 300); do
    new=$({ ctl "$other" leader 2>/dev/null || true; } | cut -d' ' -f1)
    [ -n "$new" ] && [ "$new" != "$leader" ] && break
    sleep 0.02
done
t1=$(date +%s%N)
echo "new raft leader: $new, seen by $other $(((t1 - t0) / 1000000)) ms after the kill"
ctl "$other" status
if [ "$keep" = yes ]; then
    echo
    echo "The lab keeps running ($leader's daemon stays down). See: jepsen/lab status --dir $dir"
    echo "Stop it with: jepsen/lab down --dir $dir"
fi
