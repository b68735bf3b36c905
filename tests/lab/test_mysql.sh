#!/usr/bin/env bash
# mysql/ against real MariaDB servers: m1 <-> m2 master-master and a replica r1 of m1 on
# loopback, driven through tests/lab/mysql_lab. Skips (77) without mariadbd.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# shellcheck source=tests/lib/mariadb.sh
. "$top_srcdir/tests/lib/mariadb.sh"

if ! mariadb_available; then
    echo "SKIP: mariadbd, mariadb-install-db or the mariadb client is not installed"
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (mariadbd is started with --user=root)"
    exit 77
fi
lab=$top_builddir/tests/lab/mysql_lab
base=$(mktemp -d "${TMPDIR:-/tmp}/mmt-mysql.$$.XXXXXX")
cleanup() {
    mariadb_teardown
    rm -rf "$base"
}
trap cleanup EXIT

run() {
    echo "== mysql_lab $*"
    "$lab" "$@" || { echo "FAILED: mysql_lab $*"; exit 1; }
}
expect_eq() {
    if [ "$1" != "$2" ]; then
        echo "FAILED: $3: '$1' != '$2'"
        exit 1
    fi
}

A=127.0.0.1
P1=$(mariadb_free_port $A) && P2=$(mariadb_free_port $A) && P3=$(mariadb_free_port $A) || exit 1
mariadb_init m1 "$base" $A "$P1" 1 master &&
    mariadb_init m2 "$base" $A "$P2" 2 master &&
    mariadb_init r1 "$base" $A "$P3" 3 replica || exit 1
for n in m1 m2 r1; do mariadb_start $n || exit 1; done
mariadb_setup_topology m1 m2 r1 || exit 1

echo "--- credentials file"
cred=$base/client.cnf
printf '[client]\nuser = %s\npassword = "%s"\n' "$MARIADB_COORD_USER" "$MARIADB_COORD_PASSWORD" >"$cred"
chmod 600 "$cred"
run credentials "$cred" ok
chmod 640 "$cred"
run credentials "$cred" eperm
printf '[client]\npassword = x\n' >"$base/nouser.cnf"
chmod 600 "$base/nouser.cnf"
run credentials "$base/nouser.cnf" einval

echo "--- probes"
run probe $A "$P1" 1 "$P2"
run probe $A "$P2" 2 "$P1"
run probe $A "$P3" 3 "$P1"

echo "--- preflight checks"
nodes="m1:$A:$P1:master m2:$A:$P2:master r1:$A:$P3:replica"
# shellcheck disable=SC2086
run check "" $nodes
# Misconfigurations a running server takes with SET GLOBAL (as root, not replicated).
mariadb_sql m2 "SET GLOBAL binlog_format='STATEMENT'; SET GLOBAL gtid_domain_id=1; SET GLOBAL read_only=OFF;
    SET SESSION sql_log_bin=0; REVOKE CONNECTION ADMIN ON *.* FROM '$MARIADB_COORD_USER'@'%'" || exit 1
mariadb_sql m1 "SET GLOBAL auto_increment_increment=1; SET GLOBAL read_only=OFF" || exit 1
mariadb_sql r1 "SET GLOBAL gtid_strict_mode=OFF; SET GLOBAL server_id=2" || exit 1
# shellcheck disable=SC2086
run check "FAIL/binlog_format/m2 FAIL/gtid_domain_id/m2 FAIL/gtid_domain_id/m1 FAIL/privileges/m2
    FAIL/auto_increment/m1 FAIL/gtid/r1 FAIL/server_id/r1 FAIL/server_id/m2
    FAIL/single_writer/cluster WARN/read_only_at_boot/m1" $nodes
mariadb_sql m2 "SET GLOBAL binlog_format='ROW'; SET GLOBAL gtid_domain_id=2; SET GLOBAL read_only=ON;
    SET SESSION sql_log_bin=0; GRANT CONNECTION ADMIN ON *.* TO '$MARIADB_COORD_USER'@'%'" || exit 1
mariadb_sql m1 "SET GLOBAL auto_increment_increment=2; SET GLOBAL read_only=ON" || exit 1
mariadb_sql r1 "SET GLOBAL gtid_strict_mode=ON; SET GLOBAL server_id=3" || exit 1
# Misconfigurations that take a restart: no binary log and no log_slave_updates on the replica,
# no read_only in a master's my.cnf.
mariadb_stop r1 && mariadb_stop m2
cp "$(mariadb_dir r1)/my.cnf" "$base/r1.cnf" && cp "$(mariadb_dir m2)/my.cnf" "$base/m2.cnf"
sed -i -e 's/^log_slave_updates=ON/log_slave_updates=OFF/' -e 's/^log_bin=binlog/skip-log-bin/' \
    "$(mariadb_dir r1)/my.cnf"
sed -i '/^read_only=ON/d' "$(mariadb_dir m2)/my.cnf"
mariadb_start r1 && mariadb_start m2 || exit 1
# shellcheck disable=SC2086
run check "FAIL/log_bin/r1 FAIL/log_slave_updates/r1 FAIL/read_only_at_boot/m2" $nodes
mariadb_stop r1 && mariadb_stop m2
cp "$base/r1.cnf" "$(mariadb_dir r1)/my.cnf" && cp "$base/m2.cnf" "$(mariadb_dir m2)/my.cnf"
mariadb_start r1 && mariadb_start m2 || exit 1
# shellcheck disable=SC2086
run check "" $nodes
run probe $A "$P3" 3 "$P1"

echo "--- fencing"
run fence $A "$P1"
mariadb_sql m1 "SET GLOBAL read_only=ON"

echo "--- repoint r1 from m1 to m2, writes on both masters"
mariadb_sql m1 "CREATE TABLE mmtest.t (id INT AUTO_INCREMENT PRIMARY KEY, src VARCHAR(8), n INT)" || exit 1
write_rows() { # NAME FROM COUNT (as root: root bypasses read_only)
    local i sql=""
    for i in $(seq "$2" "$(($2 + $3 - 1))"); do sql+="INSERT INTO mmtest.t (src, n) VALUES ('$1', $i);"; done
    mariadb_sql "$1" "$sql"
}
mariadb_wait_sync m2 m1 && mariadb_wait_sync r1 m1 || exit 1
write_rows m1 1 20 && write_rows m2 1 20 || exit 1
# More writes on both masters while the replica moves, one transaction per row.
write_slowly() { # NAME FROM COUNT
    local i
    for i in $(seq "$2" "$(($2 + $3 - 1))"); do
        mariadb_sql "$1" "INSERT INTO mmtest.t (src, n) VALUES ('$1', $i)" || return 1
    done
}
write_slowly m1 21 20 &
w1=$!
write_slowly m2 21 20 &
w2=$!
run repoint $A "$P3" $A "$P2"
if ! wait $w1 || ! wait $w2; then
    echo "FAILED: concurrent writes"
    exit 1
fi
# Wait on r1 at once for the last write of each master: r1 gets m1's through m2 (two hops).
pos="$(mariadb_sql m1 "SELECT @@GLOBAL.gtid_binlog_pos" | tr , '\n' | grep '^1-'),$(
    mariadb_sql m2 "SELECT @@GLOBAL.gtid_binlog_pos" | tr , '\n' | grep '^2-')"
run wait $A "$P3" "$pos" 10000 reached
mariadb_wait_sync m1 m2 && mariadb_wait_sync m2 m1 || exit 1
# A wait that has to wait: r1's SQL thread is stopped while m2 takes one more write.
mariadb_sql r1 "STOP SLAVE SQL_THREAD" || exit 1
mariadb_sql m2 "INSERT INTO mmtest.t (src, n) VALUES ('m2', 41)" || exit 1
pos=$(mariadb_sql m2 "SELECT @@GLOBAL.gtid_binlog_pos")
run wait $A "$P3" "$pos" 300 timeout
"$lab" wait $A "$P3" "$pos" 10000 reached &
waiter=$!
sleep 0.5
mariadb_sql r1 "START SLAVE SQL_THREAD" || exit 1
wait $waiter || { echo "FAILED: wait for $pos on r1"; exit 1; }
expect_eq "$(mariadb_sql r1 "SELECT COUNT(*) FROM mmtest.t WHERE src = 'm2' AND n = 41")" 1 \
    "the awaited row on r1 once the wait returned"
mariadb_wait_sync m1 m2 || exit 1
run probe $A "$P3" 3 "$P2"
for n in m1 m2 r1; do
    count=$(mariadb_sql $n "SELECT COUNT(*), COUNT(DISTINCT src, n) FROM mmtest.t")
    expect_eq "$count" "$(printf '81\t81')" "row count on $n"
done
sum1=$(mariadb_sql m1 "CHECKSUM TABLE mmtest.t" | cut -f2)
expect_eq "$(mariadb_sql m2 "CHECKSUM TABLE mmtest.t" | cut -f2)" "$sum1" "checksum m2 vs m1"
expect_eq "$(mariadb_sql r1 "CHECKSUM TABLE mmtest.t" | cut -f2)" "$sum1" "checksum r1 vs m1"
echo "rows and checksums agree on m1, m2, r1 ($sum1)"

echo "--- waits that time out"
run wait $A "$P3" "1-1-999999" 700 timeout
run wait $A "$P3" "$pos,9-9-5" 300 timeout

echo "--- errant transactions"
run errant $A "$P3" $A "$P2" none
mariadb_sql r1 "INSERT INTO mmtest.t (src, n) VALUES ('r1', 1)" || exit 1
run errant $A "$P3" $A "$P2" some
run errant $A "$P2" $A "$P3" none

echo "--- epoch table"
# Clients read the row: let the app user (as root, not replicated).
for n in m1 m2 r1; do
    mariadb_sql $n "SET SESSION sql_log_bin=0; GRANT SELECT ON mmcoord.* TO '$MARIADB_APP_USER'@'%'" || exit 1
done
run epoch-read $A "$P1" none - 0
run epoch-write $A "$P2" 5 m2 ok
for p in "$P1" "$P2" "$P3"; do run epoch-read $A "$p" 5 m2 5000; done
seq_before=$(mariadb_sql m1 "SELECT @@GLOBAL.gtid_binlog_pos" | tr ',' '\n' | awk -F- '$1 == 1 {print $3}')
run epoch-write $A "$P1" 6 m1 ok
seq_after=$(mariadb_sql m1 "SELECT @@GLOBAL.gtid_binlog_pos" | tr ',' '\n' | awk -F- '$1 == 1 {print $3}')
# The schema exists (m2 created it, replicated): only the row is written, one transaction, no DDL.
expect_eq "$((${seq_after:-0} - ${seq_before:-0}))" 1 "transactions m1 wrote for its epoch row"
for p in "$P1" "$P2" "$P3"; do run epoch-read $A "$p" 6 m1 5000; done
mariadb_sql m1 "SET SESSION sql_log_bin=0; REVOKE DELETE ON mmcoord.* FROM '$MARIADB_COORD_USER'@'%'" || exit 1
run epoch-write $A "$P1" 7 m1 denied
run epoch-read $A "$P1" 6 m1 0
mariadb_sql m1 "SET SESSION sql_log_bin=0; GRANT DELETE ON mmcoord.* TO '$MARIADB_COORD_USER'@'%'" || exit 1
run epoch-write $A "$P1" 7 m1 ok
run epoch-read $A "$P3" 7 m1 5000

echo "--- semi-sync: a new writer waits for a replica to acknowledge before its first write"
run semisync-wait $A "$P3" 2000 off
mariadb_sql m2 "SET GLOBAL rpl_semi_sync_master_enabled=ON" || exit 1
run semisync-wait $A "$P2" 1000 timeout
# m1 replicates from m2: once its IO thread restarts with the replica side on, m2 has one.
"$lab" semisync-wait $A "$P2" 10000 ok &
waiter=$!
sleep 0.3
mariadb_sql m1 "SET GLOBAL rpl_semi_sync_slave_enabled=ON; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD" || exit 1
wait $waiter || { echo "FAILED: semisync-wait on m2 while m1 connects"; exit 1; }
run semisync-wait $A "$P2" 2000 ok
mariadb_sql m1 "SET GLOBAL rpl_semi_sync_slave_enabled=OFF; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD" || exit 1
# A commit nobody will acknowledge (no semi-sync replica now) waits; a new writer releases it.
mariadb_sql m2 "SET GLOBAL rpl_semi_sync_master_timeout=60000" || exit 1
run semisync-release $A "$P2" 0
mariadb_sql m2 "INSERT INTO mmtest.t (src, n) VALUES ('m2', 90)" &
inserter=$!
sleep 0.5
kill -0 $inserter 2> /dev/null || { echo "FAILED: the commit on m2 did not wait for an acknowledgement"; exit 1; }
run semisync-release $A "$P2" 1
for _ in $(seq 50); do kill -0 $inserter 2> /dev/null || break; sleep 0.1; done
kill -0 $inserter 2> /dev/null && { echo "FAILED: the waiting commit on m2 was not released"; exit 1; }
wait $inserter || { echo "FAILED: the released commit on m2 failed"; exit 1; }
# A writer cut off from its replicas: a client's commit waits for an acknowledgement that will
# not come. Fencing kills it first (its client gets an error, never a late acknowledgement once
# the wait times out), then read_only goes on at once.
ro_before=$(mariadb_sql m2 "SELECT @@GLOBAL.read_only")
mariadb_sql m2 "SET GLOBAL read_only=OFF" || exit 1
mariadb_sql_as m2 "$MARIADB_APP_USER" "$MARIADB_APP_PASSWORD" \
    "INSERT INTO mmtest.t (src, n) VALUES ('m2', 91)" > "$base/waiting.out" 2>&1 &
inserter=$!
sleep 0.5
kill -0 $inserter 2> /dev/null || { echo "FAILED: the client's commit on m2 did not wait for an acknowledgement"; exit 1; }
run fence-only $A "$P2"
for _ in $(seq 50); do kill -0 $inserter 2> /dev/null || break; sleep 0.1; done
if wait $inserter; then echo "FAILED: the waiting commit was acknowledged to its client after the fence"; exit 1; fi
echo "the waiting client got: $(tr '\n' ' ' < "$base/waiting.out")"
[ "$ro_before" = 1 ] || mariadb_sql m2 "SET GLOBAL read_only=OFF" || exit 1
mariadb_sql m2 "SET GLOBAL rpl_semi_sync_master_enabled=OFF; SET GLOBAL rpl_semi_sync_master_timeout=10000" || exit 1

echo "--- paused server (SIGSTOP)"
run paused $A "$P2" "$(mariadb_pid m2)" 300

echo "--- a killed server is an event: the worker watches its idle connection (no periodic probe)"
run down-event $A "$P2" "$(mariadb_pid m2)" 0 test

echo "--- stopped server"
mariadb_stop r1
run refused $A "$P3"
echo "PASS"
