#!/bin/bash
# `mmctl check` against three real MariaDB servers: a correct master-master + replica setup
# has no FAIL (exit 0, JSON ok), and a misconfiguration made at run time (binlog_format
# STATEMENT on m2) is reported as FAIL with its fix (exit 1). The password never shows.
set -u
. "$top_srcdir/tests/lib/mariadb.sh"
. "$top_srcdir/tests/lib/cluster.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mariadbd runs as root here)"; exit 77; }
mariadb_available || { echo "SKIP: mariadbd is not installed (scripts/install-deps.sh)"; exit 77; }
command -v jq > /dev/null || { echo "SKIP: jq is not installed"; exit 77; }

dir=$(mktemp -d /tmp/mmc-check.XXXXXX)
trap 'mariadb_teardown; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

id=1
for n in m1 m2 s; do
    role=master
    [ "$n" = s ] && role=replica
    mariadb_init "$n" "$dir" 127.0.0.1 "$(mariadb_free_port)" "$id" "$role" || fail "init $n"
    mariadb_start "$n" || fail "start $n"
    id=$((id + 1))
done
mariadb_setup_topology m1 m2 s || fail "topology"

cluster_init "$dir/coord"
printf '[client]\nuser = %s\npassword = %s\n' "$MARIADB_COORD_USER" "$MARIADB_COORD_PASSWORD" \
    > "$dir/coord/mysql.cnf"
chmod 600 "$dir/coord/mysql.cnf"
conf=$dir/coord/m1.conf
for n in m1 m2 s; do
    # Point each [node] at its server.
    sed -i "/^\[node $n\]/,/^\[/ s/^mysql_address = .*/mysql_address = 127.0.0.1:$(mariadb_port "$n")/" "$conf"
done
echo "mysql_credentials_file = $dir/coord/mysql.cnf" >> "$conf"

out=$("$MMCTL" --config "$conf" check 2>&1); rc=$?
echo "$out"
[ "$rc" = 0 ] || fail "check on a good setup: exit $rc"
echo "$out" | grep -q "FAIL" && fail "a FAIL on a good setup"
"$MMCTL" --config "$conf" check --json | jq -e '.ok == true and (.checks | length > 5)' > /dev/null ||
    fail "json"

mariadb_sql m2 "SET GLOBAL binlog_format = 'STATEMENT'" || fail "set binlog_format"
out=$("$MMCTL" --config "$conf" check 2>&1); rc=$?
echo "$out"
[ "$rc" = 1 ] || fail "check with binlog_format STATEMENT on m2: exit $rc, expected 1"
echo "$out" | grep "FAIL" | grep -q "binlog_format" || fail "no FAIL line naming binlog_format"
echo "$out" | grep -q "$MARIADB_COORD_PASSWORD" && fail "the password appears in the output"
"$MMCTL" --config "$conf" check --json | jq -e '.ok == false and .worst == "FAIL"' > /dev/null ||
    fail "json after misconfiguration"

chmod 644 "$dir/coord/mysql.cnf"
out=$("$MMCTL" --config "$conf" check 2>&1); rc=$?
[ "$rc" = 2 ] || fail "credentials readable by others: exit $rc, expected 2"
echo "$out" | grep -q "chmod" || fail "no chmod advice: $out"
echo PASS
