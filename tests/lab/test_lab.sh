#!/usr/bin/env bash
# jepsen/lab end to end: a lab comes up in its own directory, lab.json describes it, the three
# mmcoordd agree on a leader, replication flows m1 -> m2, m2 -> m1 and writer -> s, `status`
# answers, `up` is idempotent, and `down` leaves no namespace, process or file behind. Then an
# `up` made to fail half-way (MMC_LAB_FAIL_AT) must clean up and name its step, and the
# keepalived variant must put the VIP on m1. Needs root and mariadbd; skips (77) otherwise.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# shellcheck source=tests/lib/mariadb.sh
. "$top_srcdir/tests/lib/mariadb.sh"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (network namespaces, mariadbd --user=root)"
    exit 77
fi
if ! mariadb_available; then
    echo "SKIP: mariadbd, mariadb-install-db or the mariadb client is not installed"
    exit 77
fi
for tool in ip jq; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: needs $tool"
        exit 77
    fi
done
if ! ip netns add "mmtprobe$$" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here"
    exit 77
fi
ip netns del "mmtprobe$$"

LAB=$top_srcdir/jepsen/lab
export MMC_BUILD_DIR=$top_builddir
base=$(mktemp -d "${TMPDIR:-/tmp}/mmt-lab.$$.XXXXXX") && base=$(realpath "$base") || exit 1
labs=()

cleanup() {
    local dir
    for dir in "${labs[@]}"; do
        "$LAB" down --dir "$dir" >/dev/null 2>&1
    done
    rm -rf "$base"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    exit 1
}

step() {
    echo "--- $*"
}

# True while PID runs; a zombie waiting for PID 1 to reap it does not count.
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

# jq query on the lab's lab.json.
field() {
    jq -r "$2" "$1/lab.json"
}

# Retry CMD... every 0.2 s for up to SECONDS.
eventually() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# SQL as the client user, from the client namespace, to ADDRESS.
client_sql() {
    local dir=$1 address=$2
    shift 2
    ip netns exec "$(field "$dir" .client.namespace)" mariadb \
        --defaults-extra-file="$(field "$dir" .client.credentials_file)" --protocol=TCP \
        -h "$address" -P 3306 -N -B -e "$*"
}

# SQL as root over HOST's socket, inside its namespace.
root_sql() {
    local dir=$1 host=$2
    shift 2
    ip netns exec "$(field "$dir" ".hosts.$host.namespace")" mariadb --no-defaults -uroot \
        -S "$(field "$dir" ".hosts.$host.mysql_socket")" -N -B -e "$*"
}

has_row() {
    local dir=$1 host=$2 tag=$3
    [ "$(root_sql "$dir" "$host" "SELECT COUNT(*) FROM jepsen.t WHERE tag='$tag'")" = 1 ]
}

# The leader named by HOST's mmcoordd.
leader_of() {
    "$(field "$1" .mmctl)" --socket "$(field "$1" ".hosts.$2.control_socket")" --timeout 1 \
        leader 2>/dev/null | cut -d' ' -f1
}

leaders_agree() {
    local dir=$1 l1 l2 l3
    l1=$(leader_of "$dir" m1) && l2=$(leader_of "$dir" m2) && l3=$(leader_of "$dir" s) || return 1
    [ -n "$l1" ] && [ "$l1" = "$l2" ] && [ "$l2" = "$l3" ]
}

# Hosts whose namespace holds the lab's VIP.
vip_holders() {
    local dir=$1 host vip
    vip=$(field "$dir" .vip)
    for host in m1 m2 s; do
        if ip -n "$(field "$dir" ".hosts.$host.namespace")" -4 -o addr show |
            grep -qF " $vip/"; then
            printf '%s ' "$host"
        fi
    done
}

not_running() {
    ! running "$1"
}

# True when the VIP of lab DIR is on HOST and nowhere else.
# Status (through m1's daemon) lists errant transactions on HOST.
errant_shown() {
    local dir=$1 host=$2
    "$(field "$dir" .mmctl)" --socket "$(field "$dir" .hosts.m1.control_socket)" --json status \
        2>/dev/null |
        jq -e --arg h "$host" '.nodes[] | select(.id == $h) | .errant != ""' >/dev/null
}

vip_on() {
    [ "$(vip_holders "$1")" = "$2 " ]
}

# Every trace of a lab gone: namespaces with its prefix, processes mentioning its directory,
# the directory itself.
assert_gone() {
    local dir=$1 prefix=$2 what=$3 f
    if ip netns list | awk '{print $1}' | grep -q "^$prefix-"; then
        fail "$what: namespaces left: $(ip netns list | grep "^$prefix-" | tr '\n' ' ')"
    fi
    for f in /proc/[0-9]*/cmdline; do
        if tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "$dir/"; then
            fail "$what: process left: ${f%/cmdline}: $(tr '\0' ' ' <"$f")"
        fi
    done
    [ ! -e "$dir" ] || fail "$what: $dir is still there: $(find "$dir" | head)"
}

check_lab_json() {
    local dir=$1 system=$2 mode=$3 host pid f
    [ "$(field "$dir" .format)" = 1 ] || fail "lab.json format is not 1"
    [ "$(field "$dir" .system)" = "$system" ] || fail "lab.json system is not $system"
    [ "$(field "$dir" .replication.mode)" = "$mode" ] || fail "lab.json replication is not $mode"
    [ "$(field "$dir" '.hosts | keys | join(" ")')" = "m1 m2 s" ] || fail "lab.json hosts"
    for host in m1 m2 s; do
        ip netns list | grep -q "^$(field "$dir" ".hosts.$host.namespace")\b" ||
            fail "namespace of $host does not exist"
        pid=$(field "$dir" ".hosts.$host.mysql_pid")
        running "$pid" || fail "mariadbd of $host (PID $pid) is not running"
        [ -S "$(field "$dir" ".hosts.$host.mysql_socket")" ] || fail "no MySQL socket for $host"
        f=$(field "$dir" ".hosts.$host.credentials_file")
        [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not mode 0600"
        [ "$(field "$dir" ".hosts.$host.server_id")" = "$(field "$dir" ".hosts.$host.gtid_domain_id")" ] ||
            fail "gtid_domain_id of $host"
        [ "$(root_sql "$dir" "$host" "SELECT @@gtid_domain_id")" = \
            "$(field "$dir" ".hosts.$host.gtid_domain_id")" ] || fail "server's gtid_domain_id on $host"
    done
    [ "$(field "$dir" .hosts.m1.address | cut -d. -f1-3).100" = "$(field "$dir" .vip)" ] ||
        fail "the VIP is not .100 of the hosts' /24"
    ip netns list | grep -q "^$(field "$dir" .switch_namespace)\b" || fail "no switch namespace"
    ip netns list | grep -q "^$(field "$dir" .client.namespace)\b" || fail "no client namespace"
}

# ---------------------------------------------------------------------------------------------
dir=$base/lab
labs+=("$dir")
step "up (mmcoord, semi-sync) in $dir"
"$LAB" up --dir "$dir" || fail "jepsen/lab up failed"
echo "up took $(field "$dir" .up_ms) ms"
prefix=$(field "$dir" .prefix)
check_lab_json "$dir" mmcoord semisync
for host in m1 m2 s; do
    pid=$(field "$dir" ".hosts.$host.daemon_pid")
    running "$pid" || fail "mmcoordd of $host (PID $pid) is not running"
    [ "$(root_sql "$dir" "$host" "SELECT @@rpl_semi_sync_slave_enabled")" = 1 ] ||
        fail "semi-sync replica side is off on $host"
done
[ "$(root_sql "$dir" m1 "SELECT @@rpl_semi_sync_master_wait_point")" = AFTER_SYNC ] ||
    fail "m1 does not wait AFTER_SYNC"

step "the three daemons agree on a leader"
eventually 15 leaders_agree "$dir" || fail "no common leader: m1=$(leader_of "$dir" m1)" \
    "m2=$(leader_of "$dir" m2) s=$(leader_of "$dir" s)"
echo "leader: $(leader_of "$dir" m1)"

step "writes through the VIP land on the writer and flow to the other master and s"
w=$(field "$dir" .writer)
case $w in m1) o=m2 ;; m2) o=m1 ;; *) fail "lab.json names no master as writer: '$w'" ;; esac
vip_on "$dir" "$w" || fail "VIP holders: '$(vip_holders "$dir")', expected the writer $w"
[ "$(root_sql "$dir" "$o" "SELECT @@read_only")" = 1 ] || fail "$o is writable"
vip=$(field "$dir" .vip)
client_sql "$dir" "$vip" "CREATE TABLE jepsen.t (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(16))
    ; INSERT INTO jepsen.t (tag) VALUES ('from-writer')" || fail "client write through the VIP"
eventually 10 has_row "$dir" "$o" from-writer || fail "$w's write did not reach $o"
eventually 10 has_row "$dir" s from-writer || fail "$w's write did not reach s"

step "the fenced master takes no client write, and the writer applies nothing from it"
client_sql "$dir" "$(field "$dir" ".hosts.$o.address")" "INSERT INTO jepsen.t (tag) VALUES ('x')" \
    2>/dev/null && fail "the client could write on read-only $o"
root_sql "$dir" "$o" "INSERT INTO jepsen.t (tag) VALUES ('errant')" || fail "root write on $o"
sleep 1
has_row "$dir" "$w" errant && fail "the writer $w applied a transaction written on fenced $o"
has_row "$dir" s errant && fail "s got a transaction written on fenced $o"
eventually 10 errant_shown "$dir" "$o" || fail "status does not show $o's errant transaction"

step "status"
out=$("$LAB" status --dir "$dir") || fail "status failed"
echo "$out"
for word in "m1 " "m2 " "s " "mmctl status" "VIP $vip on: $w"; do
    grep -qF -- "$word" <<<"$out" || fail "status does not show '$word'"
done
[ "$(grep -c "Yes/Yes" <<<"$out")" = 2 ] ||
    fail "status does not show two running replications (the writer's applier is stopped)"

step "up again: already up; another system in the same dir is refused"
out=$("$LAB" up --dir "$dir" 2>&1) || fail "second up failed: $out"
grep -q "already up" <<<"$out" || fail "second up did not say 'already up': $out"
out=$("$LAB" up --dir "$dir" --system keepalived 2>&1) && fail "keepalived up over mmcoord lab ran"
grep -q "down --dir" <<<"$out" || fail "the refusal does not say what to do: $out"

step "the daemons' logs show no sanitizer report"
for host in m1 m2 s; do
    log=$(field "$dir" ".hosts.$host.daemon_log")
    if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$log"; then
        fail "sanitizer report in $log"
    fi
done

step "down"
pids=$(field "$dir" '[.hosts[] | .mysql_pid, .daemon_pid] | join(" ")')
"$LAB" down --dir "$dir" || fail "down failed"
for pid in $pids; do
    ! running "$pid" || fail "PID $pid still runs after down"
done
assert_gone "$dir" "$prefix" "after down"
"$LAB" down --dir "$dir" >/dev/null || fail "a second down failed"

# ---------------------------------------------------------------------------------------------
step "up that fails half-way cleans up and names the step"
dir=$base/fail
labs+=("$dir")
out=$(MMC_LAB_FAIL_AT=daemons "$LAB" up --dir "$dir" 2>&1) && fail "up with MMC_LAB_FAIL_AT ran"
echo "$out" | tail -n 2
grep -q "step 'daemons' failed" <<<"$out" || fail "the failure does not name the step: $out"
prefix=mml$(printf '%s' "$dir" | sha1sum | cut -c1-6)
assert_gone "$dir" "$prefix" "after a failed up"

# ---------------------------------------------------------------------------------------------
if command -v keepalived >/dev/null || [ -x /usr/sbin/keepalived ]; then
    step "keepalived lab (async): the VIP sits on m1, both masters writable"
    dir=$base/ka
    labs+=("$dir")
    "$LAB" up --dir "$dir" --system keepalived --async || fail "keepalived up failed"
    prefix=$(field "$dir" .prefix)
    check_lab_json "$dir" keepalived async
    vip_on "$dir" m1 || fail "VIP holders: '$(vip_holders "$dir")', expected m1"
    for host in m1 m2; do
        pid=$(field "$dir" ".hosts.$host.daemon_pid")
        running "$pid" || fail "keepalived of $host (PID $pid) is not running"
        [ "$(root_sql "$dir" "$host" "SELECT @@read_only")" = 0 ] || fail "$host is read-only"
    done
    [ "$(field "$dir" .hosts.s.daemon)" = null ] || fail "s has a daemon in the keepalived lab"
    [ "$(root_sql "$dir" m1 "SELECT @@rpl_semi_sync_master_enabled")" = 0 ] ||
        fail "semi-sync is on in an --async lab"
    step "keepalived: mysqld on m1 dies, the check kills m1's keepalived, the VIP moves to m2"
    kill -KILL "$(field "$dir" .hosts.m1.mysql_pid)"
    pid=$(field "$dir" .hosts.m1.daemon_pid)
    eventually 20 not_running "$pid" || fail "m1's keepalived still runs without its mysqld"
    eventually 20 vip_on "$dir" m2 || fail "VIP holders: '$(vip_holders "$dir")', expected m2"
    "$LAB" down --dir "$dir" || fail "keepalived down failed"
    assert_gone "$dir" "$prefix" "after keepalived down"
else
    echo "--- keepalived is not installed: its lab is not tested"
fi
echo "PASS"
