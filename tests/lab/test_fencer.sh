#!/usr/bin/env bash
# mmcoord-fencer against a real MariaDB and a real VIP in a network namespace: the daemon ARMs
# a deadline and "dies" (closes the socket); at the deadline the fencer alone sets read_only,
# kills clients and removes the VIP. Also: DISARM prevents fencing, a re-ARM extends the
# deadline, a SIGSTOPped mysqld times the MySQL step out without delaying the VIP removal (and
# the fence is retried until it lands), stale epochs are refused, a second fencer on the same
# socket refuses to start, a stale socket file is replaced, and SIGTERM while armed fences.
# Needs root, network namespaces, python3 (the test's protocol client) and mariadbd; skips (77)
# otherwise.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
fencer=$top_builddir/coord/mmcoord-fencer
mmc_vip=$top_builddir/netops/mmc-vip

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (network namespaces, mariadbd --user=root)"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "SKIP: needs python3 (the test speaks the fencer's protocol with it)"
    exit 77
fi
# shellcheck source=tests/lib/mariadb.sh
. "$top_srcdir/tests/lib/mariadb.sh"
# shellcheck source=tests/lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"
if ! mariadb_available; then
    echo "SKIP: mariadbd, mariadb-install-db or the mariadb client is not installed"
    exit 77
fi
if ! ip netns add "mmtprobe$$" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here"
    exit 77
fi
ip netns del "mmtprobe$$"
for prog in "$fencer" "$mmc_vip"; do
    [ -x "$prog" ] || { echo "FAIL: $prog is not built"; exit 1; }
done

P=mmf$$
SUBNET=10.78.$(($$ % 200 + 20))
HOST_IP=$SUBNET.1
VIP=$SUBNET.100
IF=$NETNS_IFNAME
work=$(mktemp -d "${TMPDIR:-/tmp}/test_fencer.XXXXXX")
sock=$work/fencer.sock
log=$work/fencer.log
fencer_pid=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "$fencer_pid" ]; then
        kill -KILL "$fencer_pid" 2>/dev/null
        wait "$fencer_pid" 2>/dev/null
    fi
    mariadb_teardown
    netns_segment_down "$P"
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    if [ -f "$log" ]; then
        echo "--- fencer log"
        cat "$log"
    fi
    exit 1
}
step() { echo "=== $*"; }

# Milliseconds on CLOCK_BOOTTIME, the fencer's clock.
boot_ms() { python3 -c 'import time; print(int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000))'; }

# say LINE...: connect, send each line, print each reply, close (the daemon "dies").
say() {
    python3 - "$sock" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rw")
for line in sys.argv[2:]:
    f.write(line + "\n")
    f.flush()
    print(f.readline().rstrip("\n"))
s.close()
PY
}

# expect_reply LINE PATTERN: the reply to LINE matches the extended regex PATTERN.
expect_reply() {
    local got
    got=$(say "$1") || fail "cannot talk to the fencer on $sock"
    [[ $got =~ $2 ]] || fail "'$1' -> '$got', expected /$2/"
    echo "ok: $1 -> $got"
}

start_fencer() {
    ip netns exec "$P-h" "$fencer" --socket "$sock" --vip "$VIP/32" --interface "$IF" \
        --mysql "127.0.0.1:$PORT" --credentials "$cred" --log-level debug >>"$log" 2>&1 &
    fencer_pid=$!
    for _ in $(seq 1 100); do
        say PING >/dev/null 2>&1 && return 0
        kill -0 "$fencer_pid" 2>/dev/null || fail "the fencer exited at start"
        sleep 0.05
    done
    fail "the fencer does not answer on $sock"
}

read_only() { mariadb_sql m1 "SELECT @@GLOBAL.read_only"; }
vip_present() { ip -n "$P-h" -4 -o addr show dev "$IF" | grep -q " $VIP/32 "; }
# A write as the application from the client namespace, to address $1.
app_write() {
    MYSQL_PWD=$MARIADB_APP_PASSWORD ip netns exec "$P-client" mariadb --no-defaults \
        --protocol=TCP --connect-timeout=2 -h "$1" -P "$PORT" -u "$MARIADB_APP_USER" -N -B \
        -e "INSERT INTO mmtest.t (note) VALUES ('$2')" 2>&1
}

# Make the host a serving writer again: read_only OFF, VIP up.
serve() {
    mariadb_sql m1 "SET GLOBAL read_only=OFF" || fail "cannot unfence"
    ip netns exec "$P-h" "$mmc_vip" add "$IF" "$VIP/32" >/dev/null || fail "cannot add the VIP"
    [ "$(read_only)" = 0 ] && vip_present || fail "the host does not serve"
}

assert_serving() {
    [ "$(read_only)" = 0 ] || fail "$1: read_only is ON already"
    vip_present || fail "$1: the VIP is gone already"
    app_write "$VIP" "$1" >/dev/null || fail "$1: a write through the VIP failed"
    echo "ok: $1: writable, VIP present, a write through the VIP works"
}

# wait_fenced LIMIT_MS WHAT: read_only ON and the VIP gone by boot time LIMIT_MS.
wait_fenced() {
    local limit=$1 ro=1 now
    while :; do
        now=$(boot_ms)
        ro=$(read_only)
        if [ "$ro" = 1 ] && ! vip_present; then
            break
        fi
        [ "$now" -le "$limit" ] || fail "$2: not fenced by the deadline + 1 s (read_only=$ro)"
        sleep 0.05
    done
    local out
    if out=$(app_write "$HOST_IP" "$2-after"); then
        fail "$2: a client write to $HOST_IP succeeded after fencing"
    fi
    [[ $out == *read-only* || $out == *READ-ONLY* || $out == *1290* ]] ||
        fail "$2: the write failed for another reason: $out"
    echo "ok: $2: read_only ON, VIP gone, a client write fails ($out)"
}

step "segment $P: host h ($HOST_IP) and a client; MariaDB in h; VIP $VIP/32"
netns_segment_up "$P" "$SUBNET" h || fail "cannot build the segment"
PORT=$(mariadb_free_port) || fail "no free port"
MARIADB_EXEC="ip netns exec $P-h"
mariadb_init m1 "$work" 0.0.0.0 "$PORT" 1 master && mariadb_start m1 || fail "cannot start mariadbd"
mariadb_create_users m1 || fail "cannot create users"
mariadb_sql m1 "CREATE DATABASE mmtest; CREATE TABLE mmtest.t (id INT AUTO_INCREMENT PRIMARY KEY,
    note VARCHAR(64))" || fail "cannot create the table"
cred=$work/client.cnf
printf '[client]\nuser = %s\npassword = "%s"\n' "$MARIADB_COORD_USER" "$MARIADB_COORD_PASSWORD" \
    >"$cred"
chmod 600 "$cred"

step "usage errors exit 2 and name the option"
"$fencer" --help | grep -q -- --fence-timeout-ms || fail "--help says nothing"
out=$("$fencer" --socket "$sock" --vip "$VIP/32" --interface "$IF" --credentials "$cred" 2>&1)
[ $? = 2 ] && [[ $out == *--mysql* ]] || fail "a missing --mysql: '$out'"
out=$("$fencer" --socket "$sock" --vip 10.0.0.1 --interface "$IF" --mysql 127.0.0.1:1 \
    --credentials "$cred" 2>&1)
[ $? = 2 ] && [[ $out == *--vip* ]] || fail "a VIP without prefix: '$out'"
out=$("$fencer" --socket "$sock" --vip "$VIP/32" --interface "$IF" --mysql 127.0.0.1:1 \
    --credentials "$cred" --fence-timeout-ms 0 2>&1)
[ $? = 2 ] && [[ $out == *--fence-timeout-ms* ]] || fail "timeout 0: '$out'"

step "start the fencer in h"
start_fencer
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode is $(stat -c %a "$sock"), not 600"
expect_reply PING '^OK disarmed$'
expect_reply "ARM 1" '^ERR malformed request'

step "ARM 1.5 s ahead, then the daemon dies: the fencer fences alone"
serve
# An application session open across the deadline: fencing must end it.
MYSQL_PWD=$MARIADB_APP_PASSWORD ip netns exec "$P-client" mariadb --no-defaults --protocol=TCP \
    -h "$HOST_IP" -P "$PORT" -u "$MARIADB_APP_USER" -N -B -e "SELECT SLEEP(20)" \
    >"$work/session.out" 2>&1 &
session_pid=$!
deadline=$(($(boot_ms) + 1500))
expect_reply "ARM 1 $deadline" "^OK armed 1 $deadline\$"
sleep 1
assert_serving "before the deadline"
wait_fenced $((deadline + 1000)) "epoch 1"
for _ in $(seq 1 40); do
    kill -0 "$session_pid" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$session_pid" 2>/dev/null && fail "the open application session survived the fence"
wait "$session_pid" && fail "the open application session ended without an error"
echo "ok: the open application session was killed: $(tr '\n' ' ' <"$work/session.out")"
expect_reply PING '^OK fenced 1$'
grep -q "fence: mysql 127.0.0.1:$PORT read_only=ON" "$log" || fail "the MySQL step is not logged"
grep -q "fence: VIP $VIP/32 absent from $IF" "$log" || fail "the VIP step is not logged"
expect_reply "ARM 0 $deadline" '^ERR epoch 0'
expect_reply "ARM 1 $deadline" '^OK armed 1'
expect_reply "DISARM 1" '^OK disarmed$'

step "a stale epoch is refused"
expect_reply "ARM 2 $(($(boot_ms) + 60000))" '^OK armed 2'
expect_reply "ARM 1 $(($(boot_ms) + 60000))" '^ERR epoch 1 is older than epoch 2'
expect_reply "DISARM 1" '^ERR epoch 1 is older'
expect_reply PING '^OK armed 2'
expect_reply "DISARM 2" '^OK disarmed$'

step "DISARM prevents fencing"
serve
# Far enough ahead that the DISARM lands before the deadline on a loaded machine too.
deadline=$(($(boot_ms) + 3000))
expect_reply "ARM 3 $deadline" '^OK armed 3'
expect_reply "DISARM 3" '^OK disarmed$'
while [ "$(boot_ms)" -lt $((deadline + 1000)) ]; do sleep 0.2; done
assert_serving "1 s after a disarmed deadline"

step "a re-ARM extends the deadline"
t0=$(boot_ms)
expect_reply "ARM 4 $((t0 + 1000))" '^OK armed 4'
sleep 0.5
deadline=$((t0 + 2500))
expect_reply "ARM 4 $deadline" "^OK armed 4 $deadline\$"
sleep 1.2 # past the first deadline by about 0.7 s
assert_serving "past the replaced deadline"
wait_fenced $((deadline + 1000)) "epoch 4"

step "SIGSTOP of mysqld: the MySQL step times out, the VIP goes on time; the fence is retried"
serve
deadline=$(($(boot_ms) + 1000))
expect_reply "ARM 5 $deadline" '^OK armed 5'
mariadb_pause m1
while ! [ "$(boot_ms)" -gt $((deadline + 1000)) ]; do
    vip_present || break
    sleep 0.05
done
vip_present && { mariadb_resume m1; fail "the VIP is still present 1 s after the deadline"; }
echo "ok: VIP gone at $(($(boot_ms) - deadline)) ms after the deadline with mysqld stopped"
expect_reply PING '^OK fencing 5$'
grep -q "fence: mysql 127.0.0.1:$PORT NOT fenced" "$log" || fail "the MySQL timeout is not logged"
mariadb_resume m1
for _ in $(seq 1 60); do
    [ "$(read_only)" = 1 ] && break
    sleep 0.1
done
[ "$(read_only)" = 1 ] || fail "read_only is still OFF after mysqld resumed"
expect_reply PING '^OK fenced 5$'
echo "ok: the retry fenced mysqld once it resumed"

step "a second fencer on the same socket refuses to start"
out=$(ip netns exec "$P-h" "$fencer" --socket "$sock" --vip "$VIP/32" --interface "$IF" \
    --mysql "127.0.0.1:$PORT" --credentials "$cred" 2>&1)
rc=$?
[ $rc = 1 ] || fail "the second fencer exited $rc: $out"
[[ $out == *"another fencer"* ]] || fail "the second fencer says: $out"
[[ $out == *Sanitizer* ]] && fail "sanitizer report from the second fencer: $out"
expect_reply PING '^OK fenced 5$'
echo "ok: $out"

step "a stale socket file is replaced"
kill -KILL "$fencer_pid"
wait "$fencer_pid" 2>/dev/null
[ -S "$sock" ] || fail "expected the killed fencer's socket file to stay"
start_fencer
grep -q "removed stale socket $sock" "$log" || fail "the stale socket is not reported"

step "SIGTERM while disarmed exits without fencing"
serve
kill -TERM "$fencer_pid"
wait "$fencer_pid"
rc=$?
[ $rc = 0 ] || fail "SIGTERM while disarmed: exit $rc"
assert_serving "after SIGTERM while disarmed"
[ ! -e "$sock" ] || fail "the socket file is left behind"

step "SIGTERM while armed fences, then exits"
start_fencer
expect_reply "ARM 6 $(($(boot_ms) + 60000))" '^OK armed 6'
kill -TERM "$fencer_pid"
wait "$fencer_pid"
rc=$?
fencer_pid=
[ $rc = 0 ] || fail "SIGTERM while armed: exit $rc"
[ "$(read_only)" = 1 ] || fail "read_only is OFF after SIGTERM while armed"
vip_present && fail "the VIP is present after SIGTERM while armed"
grep -q "fencer stopping while armed" "$log" || fail "the SIGTERM fence is not logged"
echo "ok: SIGTERM while armed fenced"
grep -q "Sanitizer\|runtime error" "$log" && fail "sanitizer report in the fencer log"
echo "--- fencer log"
cat "$log"
echo PASS
