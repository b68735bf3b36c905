#!/usr/bin/env bash
# jepsen/client against a real mariadbd on loopback: a few seconds of workload during which
# the server is killed (SIGKILL) and restarted. The history must hold ok operations on the
# server with its epoch, failed or unknown ones while it is down, sane monotonic times, ok
# operations again after the restart, and pass jepsen/check (no acknowledged write lost against
# the server's final tables). Then SIGTERM must stop a client cleanly with a complete history.
# Skips (77) without root, mariadbd or python3.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
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
if ! command -v python3 >/dev/null 2>&1; then
    echo "SKIP: needs python3 to read the history"
    exit 77
fi
client=$top_builddir/jepsen/client
check=$top_builddir/jepsen/check
base=$(mktemp -d "${TMPDIR:-/tmp}/mmt-jclient.$$.XXXXXX")
client_pid=
cleanup() {
    [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null
    mariadb_teardown
    rm -rf "$base"
}
trap cleanup EXIT
die() {
    echo "FAILED: $*"
    exit 1
}
monotonic_ms() { python3 -c 'import time; print("%.3f" % (time.monotonic() * 1000))'; }

A=127.0.0.1
P=$(mariadb_free_port $A) || die "no free port"
mariadb_init m1 "$base" $A "$P" 1 master || die "mariadb_init"
mariadb_start m1 || die "mariadb_start"
mariadb_create_users m1 || die "users"
mariadb_sql m1 "SET GLOBAL read_only=OFF;
    CREATE DATABASE jepsen;
    CREATE TABLE jepsen.rows (id BIGINT PRIMARY KEY, worker INT, created DATETIME(6));
    CREATE TABLE jepsen.counters (id INT PRIMARY KEY, v BIGINT NOT NULL);
    INSERT INTO jepsen.counters VALUES (1, 0), (2, 0), (3, 0);
    CREATE DATABASE mmcoord;
    CREATE TABLE mmcoord.epoch (id TINYINT UNSIGNED PRIMARY KEY, epoch BIGINT UNSIGNED NOT NULL,
        writer VARCHAR(31) NOT NULL, opened_at DATETIME(6) NOT NULL) ENGINE=InnoDB;
    REPLACE INTO mmcoord.epoch VALUES (1, 5, 'm1', NOW(6));
    GRANT SELECT, INSERT, UPDATE, DELETE ON jepsen.* TO '$MARIADB_APP_USER'@'%';
    GRANT SELECT ON mmcoord.* TO '$MARIADB_APP_USER'@'%';" || die "schema"

cred=$base/client.cnf
printf '[client]\nuser = %s\npassword = "%s"\n' "$MARIADB_APP_USER" "$MARIADB_APP_PASSWORD" >"$cred"
chmod 600 "$cred"
cat >"$base/lab.json" <<JSON
{"format": 1, "system": "mmcoord", "vip": "$A",
 "client": {"credentials_file": "$cred", "user": "$MARIADB_APP_USER", "database": "jepsen"},
 "hosts": {"m1": {"mysql_port": $P, "server_id": 1}}}
JSON

run=$base/run
mkdir -p "$run"
t_begin=$(monotonic_ms)
echo "--- 4 workers for 8 s; mariadbd killed at 2 s, restarted, then paused (SIGSTOP) for 1 s"
"$client" --lab "$base/lab.json" --out "$run/client.jsonl" --workers 4 --time 8 --seed 3 \
    --timeout-ms 500 2>"$base/client.err" &
client_pid=$!
sleep 2
t_kill=$(monotonic_ms)
mariadb_kill m1 || die "kill"
sleep 1
mariadb_start m1 || die "restart"
mariadb_sql m1 "SET GLOBAL read_only=OFF" || die "read_only"
t_back=$(monotonic_ms)
sleep 1
t_pause=$(monotonic_ms)
mariadb_pause m1
sleep 1
mariadb_resume m1
t_resume=$(monotonic_ms)
wait "$client_pid"
rc=$?
client_pid=
cat "$base/client.err"
[ $rc = 0 ] || die "jepsen/client exited $rc"
t_end=$(monotonic_ms)

# What jepsen/run would add: the fault, the final state of the one server.
nemesis() { # FAULT PHASE T
    printf '{"type":"nemesis","fault":"%s","target":"m1","phase":"%s","t":%s,"detail":""}\n' "$@"
}
{
    nemesis kill-mysqld start "$t_kill"
    nemesis kill-mysqld end "$t_back"
    nemesis pause-mysqld start "$t_pause"
    nemesis pause-mysqld end "$t_resume"
} >"$run/nemesis.jsonl"
rows=$(mariadb_sql m1 "SELECT GROUP_CONCAT(id) FROM jepsen.rows")
counters=$(mariadb_sql m1 "SELECT GROUP_CONCAT(CONCAT('\"', id, '\":', v)) FROM jepsen.counters")
[ "$rows" = NULL ] && rows=
printf '{"servers":{"m1":{"server_id":1,"rows":[%s],"counters":{%s},"reachable":true}}}\n' \
    "$rows" "$counters" >"$run/final.json"

echo "--- the history"
python3 - "$run/client.jsonl" "$t_begin" "$t_kill" "$t_back" "$t_end" "$t_pause" "$t_resume" \
    <<'PY' || die "history"
import json, sys
path, t_begin, t_kill, t_back, t_end, t_pause, t_resume = sys.argv[1], *map(float, sys.argv[2:])
raw = open(path).read()
assert raw.endswith("\n"), "the history does not end with a complete line"
ops = [json.loads(l) for l in raw.splitlines()]
n = {o: sum(1 for x in ops if x["outcome"] == o) for o in ("ok", "fail", "unknown")}
print("ops", len(ops), n)
ok = [x for x in ops if x["outcome"] == "ok"]
for x in ops:
    assert x["type"] == "op" and x["f"] in ("insert", "incr") and x["conn"] in ("new", "long"), x
    assert t_begin <= x["start"] <= x["end"] <= t_end, ("times outside the run", x)
    assert x["end"] - x["start"] < 5000, ("an operation longer than its deadlines allow", x)
for x in ok:
    assert x["server_id"] == 1 and x["epoch"] == 5, ("ok without its server or epoch", x)
    assert x["error"] is None, x
for x in ops:
    if x["outcome"] != "ok":
        assert x["error"], ("a failure without its error", x)
assert any(x["end"] < t_kill for x in ok), "no ok operation before the kill"
assert any(x["start"] > t_back for x in ok), "no ok operation after the restart"
assert n["fail"] + n["unknown"] > 0, "no failed or unknown operation while mariadbd was down"
assert {x["worker"] for x in ops} == {0, 1, 2, 3}, "a worker recorded nothing"
assert {x["conn"] for x in ops} == {"new", "long"}, "not both connection kinds"
ids = [x["value"] for x in ops if x["f"] == "insert"]
assert len(ids) == len(set(ids)), "an insert id used twice"
down = [x for x in ops if x["outcome"] != "ok" and t_kill < x["start"] < t_back]
assert down, "no failed operation inside the outage"
paused = [x for x in ops
          if x["outcome"] != "ok" and t_pause < x["start"] and x["end"] < t_resume + 2000]
assert paused, "no operation failed against the paused server"
# A figure, not an assertion: how long an operation against a paused server took to give up
# with --timeout-ms 500 (the connector's own timeouts count in whole seconds).
print("longest failed operation against the paused server: %.0f ms" %
      max(x["end"] - x["start"] for x in paused))
PY

echo "--- jepsen/check on it"
"$check" --dir "$run" || die "jepsen/check does not pass the run"

echo "--- SIGTERM stops a client cleanly"
# Row ids are unique within a run; a new run starts from empty tables, as jepsen/run does.
mariadb_sql m1 "TRUNCATE jepsen.rows" || die "truncate"
errlog=$(mariadb_dir m1)/error.log
errlog_lines=$(wc -l <"$errlog")
"$client" --lab "$base/lab.json" --out "$base/term.jsonl" --workers 2 --time 600 \
    2>"$base/term.err" &
client_pid=$!
sleep 1
kill -TERM "$client_pid"
for _ in $(seq 1 50); do
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$client_pid" 2>/dev/null && die "the client still runs 5 s after SIGTERM"
wait "$client_pid"
rc=$?
client_pid=
cat "$base/term.err"
[ $rc = 0 ] || die "exit status $rc after SIGTERM"
grep -q Terminated "$base/term.err" || die "no summary after SIGTERM"
if [ ! -s "$base/term.jsonl" ] || [ -n "$(tail -c 1 "$base/term.jsonl")" ]; then
    die "the history after SIGTERM is empty or ends in a torn line"
fi
# A healthy server and a client that quits: every connection said goodbye (COM_QUIT), so the
# server logged no "Aborted connection" for the client user (one per new-connection operation
# and one per worker at the end before the client did so).
sleep 0.5
aborted=$(tail -n +"$((errlog_lines + 1))" "$errlog" |
    grep -c "Aborted connection .* user: '$MARIADB_APP_USER'")
[ "$aborted" = 0 ] || die "the server logged $aborted aborted connection(s) of the client:
$(tail -n +"$((errlog_lines + 1))" "$errlog" | grep "Aborted connection" | head -n 3)"
echo "jepsen/client smoke test passed"
