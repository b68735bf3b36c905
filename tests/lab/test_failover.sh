#!/usr/bin/env bash
# Automatic failover on the lab, end to end (then, second fault, the new writer's daemon is
# SIGKILLed and its fencer must fence it): a client writes through the VIP all the time and
# independent watchers sample which host holds the VIP; the writer's mysqld is SIGKILLed. The
# VIP must move to the other master, writes must resume there, no two hosts may ever hold the
# VIP, no acknowledged write may be missing (semi-sync), and after the old writer's mysqld is
# restarted all three servers must hold the same rows. Prints the write pause and the time to
# the VIP move (figures, not asserted beyond a generous liveness bound). Needs root, mariadbd.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
. "$top_srcdir/tests/lib/mariadb.sh"
. "$top_srcdir/tests/lib/labclient.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
mariadb_available || { echo "SKIP: mariadbd is not installed"; exit 77; }
command -v jq > /dev/null || { echo "SKIP: needs jq"; exit 77; }

export MMC_BUILD_DIR=$top_builddir
LAB=$top_srcdir/jepsen/lab
dir=$(mktemp -d /tmp/mmt-fo.XXXXXX) && dir=$(realpath "$dir")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
    if [ "${failed:-1}" != 0 ]; then
        for f in "$dir"/lab/{m1,m2,s}/mmcoordd.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 25 "$f"; }; done
    fi
    "$LAB" down --dir "$dir/lab" > /dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
failed=1
fail() { echo "FAIL: $*"; exit 1; }
now_ms() { lab_now_ms; }

"$LAB" up --dir "$dir/lab" > "$dir/up.log" 2>&1 || { cat "$dir/up.log"; fail "lab up"; }
LAB_JSON=$dir/lab/lab.json
q() { labq "$1"; }
vip=$(q .vip)
old=$(q .writer)
other=m2
[ "$old" = m2 ] && other=m1
echo "writer at start: $old"
sql_root() { lab_root_sql "$1" "$2"; }
client() { lab_client_sql "$1"; }
client "CREATE TABLE fo (id INT PRIMARY KEY, at BIGINT)" || fail "create table through the VIP"

# Independent watcher: which hosts hold the VIP, sampled every 20 ms.
lab_watch_vip "$dir/vip.log" &
pids+=($!)

# The client: one insert per new connection, the acknowledged ids recorded.
(
    i=0
    while :; do
        i=$((i + 1))
        t=$(now_ms)
        if client "INSERT INTO fo VALUES ($i, $t)" 2> /dev/null; then
            echo "$i $t $(now_ms)"
        fi
    done
) > "$dir/acked.log" &
pids+=($!)

sleep 2
t_kill=$(now_ms)
kill -KILL "$(q ".hosts.$old.mysql_pid")"
echo "killed $old's mysqld at $t_kill"
moved() { tail -n 1 "$dir/vip.log" | grep -q " $other,\$"; }
for _ in $(seq 300); do moved && break; sleep 0.05; done
moved || fail "the VIP did not move to $other within 15 s: $(tail -n 1 "$dir/vip.log")"
t_moved=$(awk -v t="$t_kill" '$1 >= t && $2 == "'"$other"',"' "$dir/vip.log" | head -n 1 | cut -d' ' -f1)
# Writes must resume on the new writer.
resumed() { awk -v t="$t_kill" '$2 > t' "$dir/acked.log" | grep -q .; }
for _ in $(seq 100); do resumed && break; sleep 0.1; done
resumed || fail "no write acknowledged after the failover"
sleep 1
for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
pids=()

last_before=$(awk -v t="$t_kill" '$3 <= t' "$dir/acked.log" | tail -n 1 | cut -d' ' -f3)
first_after=$(awk -v t="$t_kill" '$2 > t' "$dir/acked.log" | head -n 1 | cut -d' ' -f3)
echo "figures: VIP on $other $((t_moved - t_kill)) ms after the kill; write pause (last ack before to first ack after) $((first_after - last_before)) ms"

# One VIP holder at every sampled instant.
two=$(grep -c ',.*,' "$dir/vip.log")
[ "$two" = 0 ] || fail "$two samples show two VIP holders: $(grep ',.*,' "$dir/vip.log" | head -n 3)"

# No acknowledged write lost.
acked=$(wc -l < "$dir/acked.log")
have=$(sql_root "$other" "SELECT COUNT(*) FROM $(q .client.database).fo")
missing=$(cut -d' ' -f1 "$dir/acked.log" | while read -r id; do
    [ "$(sql_root "$other" "SELECT COUNT(*) FROM $(q .client.database).fo WHERE id=$id")" = 1 ] || echo "$id"
done | head -n 5)
echo "acknowledged $acked writes; $other holds $have rows"
[ -z "$missing" ] || fail "acknowledged writes missing on $other: $missing"

# The old writer comes back: fenced, replicating from the new one, converged.
hdir=$(dirname "$(q ".hosts.$old.mysql_config")")
ip netns exec "$(q ".hosts.$old.namespace")" "$(command -v mariadbd || echo /usr/sbin/mariadbd)" \
    --defaults-file="$hdir/my.cnf" --user=root >> "$hdir/stdout.log" 2>&1 &
echo $! > "$hdir/mariadbd.pid"
disown
converged() {
    local a b c
    a=$(sql_root m1 "CHECKSUM TABLE $(q .client.database).fo" 2> /dev/null | cut -f2)
    b=$(sql_root m2 "CHECKSUM TABLE $(q .client.database).fo" 2> /dev/null | cut -f2)
    c=$(sql_root s "CHECKSUM TABLE $(q .client.database).fo" 2> /dev/null | cut -f2)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}
for _ in $(seq 300); do converged && break; sleep 0.1; done
converged || fail "the three servers do not converge after $old came back"
[ "$(sql_root "$old" "SELECT @@GLOBAL.read_only")" = 1 ] || fail "$old came back writable"
ctl=$(q ".hosts.s.control_socket")
"$top_builddir/coord/mmctl" --socket "$ctl" history
"$top_builddir/coord/mmctl" --socket "$ctl" history --json |
    jq -e --arg o "$old" --arg n "$other" '.epochs[-1] | .old_writer == $o and .new_writer == $n and (.reason | test("released"))' > /dev/null ||
    fail "history does not record the failover with its reason"

# Second fault: the new writer's mmcoordd is SIGKILLed. Its fencer must fence it at the lease
# deadline, and the leader must promote the other master only after the lease: never two
# holders, nothing acknowledged lost, the killed daemon's server left read_only.
echo "--- kill -9 of $other's mmcoordd"
lab_watch_vip "$dir/vip2.log" &
pids+=($!)
(
    i=100000
    while :; do
        i=$((i + 1))
        if client "INSERT INTO fo VALUES ($i, $(now_ms))" 2> /dev/null; then echo "$i"; fi
    done
) > "$dir/acked2.log" &
pids+=($!)
sleep 1
t_kill=$(now_ms)
kill -KILL "$(cat "$dir/lab/$other/mmcoordd.pid")"
back() { tail -n 1 "$dir/vip2.log" | grep -q " $old,\$"; }
for _ in $(seq 300); do back && break; sleep 0.05; done
back || fail "the VIP did not move back to $old within 15 s of killing $other's daemon"
t_back=$(now_ms)
sleep 1
for p in "${pids[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
pids=()
echo "figures: VIP on $old $((t_back - t_kill)) ms after $other's daemon was killed"
two=$(grep -c ',.*,' "$dir/vip2.log")
[ "$two" = 0 ] || fail "$two samples show two VIP holders after the daemon kill"
[ "$(sql_root "$other" "SELECT @@GLOBAL.read_only")" = 1 ] || fail "$other is still writable: its fencer did not fence it"
grep -q "fence:.*read_only=ON" "$dir/lab/$other/fencer.sock.log" || fail "no fencing in $other's fencer log"
missing=$(while read -r id; do
    [ "$(sql_root "$old" "SELECT COUNT(*) FROM $(q .client.database).fo WHERE id=$id")" = 1 ] || echo "$id"
done < "$dir/acked2.log" | head -n 5)
[ -z "$missing" ] || fail "acknowledged writes missing on $old after the daemon kill: $missing"
failed=0
echo PASS
