# shellcheck shell=bash
# Sourceable helpers over a running jepsen/lab, read from its lab.json, for tests, benchmarks
# and the demo. Set LAB_JSON to the lab.json path first.
#   labq EXPR                  jq -r EXPR on lab.json
#   lab_now_ms                 milliseconds since the epoch
#   lab_vip_holders            the hosts holding the VIP now, as "m1," or "m1,m2," ("" for none)
#   lab_watch_vip OUT          sample the holders every 20 ms (plus the sampling, ~30 ms in
#                              all) into OUT ("<ms> <holders>" lines) until killed (run it in
#                              the background; the caller kills it)
#   lab_client_sql SQL         run SQL through the VIP as the client user, from the client
#                              namespace (1 s connect timeout)
#   lab_root_sql HOST SQL      run SQL as root over HOST's socket
# Fault scenarios (tests/lab/test_failover_*.sh, tests/bench/bench_failover.sh):
#   lab_mmctl HOST ARGS...     mmctl on HOST's control socket (2 s timeout)
#   lab_status_json [HOST...]  `mmctl status --json` of the first HOST that answers (default:
#                              the leader, then s, m1, m2)
#   lab_leader                 the raft leader's host as the daemons name it ("" if none)
#   lab_writer, lab_epoch      the writer's host and the epoch in the record ("" if unknown)
#   lab_fencer_pid HOST        PID of HOST's mmcoord-fencer (found in /proc by its socket
#                              argument), "" when none runs
#   lab_fencer_ping HOST       the fencer's answer to PING on its socket ("OK armed EPOCH
#                              FENCE_AT_MS", "OK disarmed", ...; coord/fencer_proto.h)
#   lab_host_pids HOST         PIDs of every lab process of HOST (mariadbd, daemon, fencer):
#                              the processes in its namespace whose command line names its
#                              directory
#   lab_kill_host HOST         SIGKILL all of them and unplug HOST's cable (a dead host)
#   lab_host_port HOST         the switch port of HOST's cable
#   lab_watch_neigh OUT        sample the client namespace's ARP entry for the VIP every 20 ms
#                              into OUT ("<ms> <lladdr or ->" lines) until killed
#   lab_client_writes OUT TABLE FIRST  insert ids FIRST, FIRST+1, ... into TABLE through the VIP,
#                              one connection each, each attempt bounded by LAB_CLIENT_TIMEOUT
#                              seconds (default 10; the connect alone by 1 s); log each
#                              acknowledged one as "<id> <ms sent> <ms acked> <server_id>" in
#                              OUT; until killed
#   lab_dual_ms VIPLOG         milliseconds during which two hosts held the VIP in a watcher log
#                              (each run of two-holder samples counts until the next sample)
#   lab_missing HOST TABLE ACKED  acknowledged ids (first column of ACKED) missing on HOST
#   lab_wait_converged TABLE ACKED SECS  wait until all three servers hold every acknowledged
#                              row and the same TABLE checksum; fails with why after SECS
#   lab_wait SECS CMD...       run CMD every 0.1 s until it succeeds, at most SECS seconds
#   lab_healthy                one writer holding the VIP alone, every mysqld up and
#                              replicating, every daemon in contact with the raft leader (the
#                              state a scenario starts from)
# A scenario run (the tests/lab/test_failover_*.sh scripts):
#   lab_test_begin NAME [UP ARGS...]  skip (exit 77) without root, mariadbd or jq; bring a lab
#                              up in a fresh directory (removed, with the lab, on exit; the
#                              daemons' last log lines shown when the script did not pass);
#                              sets LAB_JSON, LAB_DIR_T (scratch) and LAB_TOP, LAB_CMD;
#                              MMC_FAULTS_KEEP=DIR keeps the scratch directory and logs in DIR
#   lab_fail MSG               print FAIL: MSG and exit 1
#   lab_test_pass              the script passed: print PASS (the lab goes down on exit)
#   lab_check LABEL MSG        a failed check with a label: FAIL: MSG and exit 1, unless LABEL
#                              is listed in MMC_FAULTS_KNOWN=LABEL,... (a known failure, being
#                              fixed elsewhere): then print KNOWN FAILURE: MSG and go on
#   lab_fault_start NAME       table NAME; the VIP watcher, the ARP watcher and the client
#                              writes into LAB_DIR_T/NAME.{vip,neigh,acked}; returns once a
#                              write is acknowledged and one more second has passed; sets
#                              FAULT_WRITER, FAULT_EPOCH, FAULT_LEADER, FAULT_T0 (now)
#   lab_fault_stop             stop the watchers and the client
#   lab_fault_figures NAME NEW print the figures of the run since FAULT_T0 (NEW: the host the
#                              VIP moved to, "" if it stayed); sets FAULT_REACH_MS (from the
#                              VIP on NEW to the first write NEW's server acknowledged; -1: none)
#   lab_fault_common NAME      after healing: no two VIP holders (known-failure label
#                              NAME-two-holders), all three servers hold every acknowledged
#                              row and the same data
#   lab_rejoined HOST WRITER   HOST is fenced (read_only, no VIP) and replicates from WRITER
#                              with both threads running

labq() { jq -r "$1" "$LAB_JSON"; }

lab_now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

lab_vip_holders() {
    local x h="" vip
    vip=$(labq .vip)
    for x in m1 m2 s; do
        ip -n "$(labq ".hosts.$x.namespace")" -4 -o addr show 2> /dev/null | grep -qF " $vip/" &&
            h="$h$x,"
    done
    echo "$h"
}

# The names are read once: a sample then costs one `ip` per host, so that it comes every ~30 ms
# on a busy 2-core machine rather than every ~150 ms.
lab_watch_vip() {
    local out=$1 x t h a vip ns=()
    vip=$(labq .vip)
    for x in m1 m2 s; do ns+=("$x=$(labq ".hosts.$x.namespace")"); done
    while :; do
        t=$(lab_now_ms)
        h=""
        for x in "${ns[@]}"; do
            a=$(ip -n "${x#*=}" -4 -o addr show 2> /dev/null)
            [[ $a == *" $vip/"* ]] && h="$h${x%%=*},"
        done
        echo "$t $h"
        sleep 0.02
    done > "$out"
}

lab_client_sql() {
    ip netns exec "$(labq .client.namespace)" mariadb \
        --defaults-extra-file="$(labq .client.credentials_file)" --connect-timeout=1 \
        -h "$(labq .vip)" -N -B "$(labq .client.database)" -e "$1"
}

lab_root_sql() {
    mariadb --no-defaults -uroot -S "$(labq ".hosts.$1.mysql_socket")" -N -B -e "$2"
}

lab_mmctl() {
    local host=$1
    shift
    "$(labq .mmctl)" --socket "$(labq ".hosts.$host.control_socket")" --timeout 2 "$@"
}

lab_leader() {
    local x id
    for x in s m1 m2; do
        id=$(lab_mmctl "$x" leader --json 2> /dev/null | jq -r '.leader.id // empty')
        [ -n "$id" ] && { echo "$id"; return 0; }
    done
    echo ""
}

# shellcheck disable=SC2120 # callers may name the hosts to ask
lab_status_json() {
    local x hosts=("$@")
    [ ${#hosts[@]} -gt 0 ] || hosts=("$(lab_leader)" s m1 m2)
    for x in "${hosts[@]}"; do
        [ -n "$x" ] || continue
        lab_mmctl "$x" status --json 2> /dev/null && return 0
    done
    return 1
}

lab_writer() { lab_status_json | jq -r '.writer.node // empty'; }
lab_epoch() { lab_status_json | jq -r '.writer.epoch // empty'; }

lab_fencer_pid() {
    local sock pid
    sock=$(dirname "$(labq ".hosts.$1.control_socket")")/fencer.sock
    for pid in $(ip netns pids "$(labq ".hosts.$1.namespace")" 2> /dev/null); do
        tr '\0' '\n' < "/proc/$pid/cmdline" 2> /dev/null | grep -qxF -- "$sock" &&
            [ "$(readlink "/proc/$pid/exe" 2> /dev/null)" = "$(dirname "$(labq .mmcoordd)")/mmcoord-fencer" ] &&
            { echo "$pid"; return 0; }
    done
    echo ""
}

lab_fencer_ping() {
    python3 - "$(dirname "$(labq ".hosts.$1.control_socket")")/fencer.sock" << 'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b"PING\n")
line = b""
while not line.endswith(b"\n"):
    chunk = s.recv(96)
    if not chunk:
        break
    line += chunk
print(line.decode().strip())
PY
}

lab_host_pids() {
    local hdir pid
    hdir=$(dirname "$(labq ".hosts.$1.mysql_config")")
    for pid in $(ip netns pids "$(labq ".hosts.$1.namespace")" 2> /dev/null); do
        tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -qF -- "$hdir/" && echo "$pid"
    done
}

# The switch port of HOST's cable.
lab_host_port() {
    ip -n "$(labq ".hosts.$1.namespace")" -o link show dev "$(labq .interface)" |
        sed -n 's/.* alias \(p[0-9c]*\).*/\1/p'
}

# lab_kill_host HOST [PIDS PORT]: PIDS and PORT looked up beforehand (lab_host_pids,
# lab_host_port) make the kill and the unplug one instant, for a timed fault.
lab_kill_host() {
    local pids=${2-} port=${3-}
    [ -n "$port" ] || {
        pids=$(lab_host_pids "$1")
        port=$(lab_host_port "$1")
    }
    # shellcheck disable=SC2086 # one word per PID
    [ -z "$pids" ] || kill -KILL $pids
    ip -n "$(labq .switch_namespace)" link set dev "$port" down
}

lab_watch_neigh() {
    local out=$1 vip ns t n
    vip=$(labq .vip)
    ns=$(labq .client.namespace)
    while :; do
        t=$(lab_now_ms)
        n=$(ip -n "$ns" neigh show "$vip" 2> /dev/null)
        n=${n#* lladdr }
        [[ $n == *:* ]] && n=${n%% *} || n=-
        echo "$t $n"
        sleep 0.02
    done > "$out"
}

lab_client_writes() {
    local out=$1 table=$2 i=$3 t ns cnf vip db sid
    ns=$(labq .client.namespace)
    cnf=$(labq .client.credentials_file)
    vip=$(labq .vip)
    db=$(labq .client.database)
    while :; do
        t=$(lab_now_ms)
        # A statement sent to a host that was cut off never returns by itself.
        if sid=$(timeout -k 1 "${LAB_CLIENT_TIMEOUT:-10}" ip netns exec "$ns" mariadb --defaults-extra-file="$cnf" \
            --connect-timeout=1 -h "$vip" -N -B "$db" \
            -e "INSERT INTO $table VALUES ($i, $t); SELECT @@server_id" 2> /dev/null); then
            echo "$i $t $(lab_now_ms) $sid"
        fi
        i=$((i + 1))
    done > "$out"
}

lab_dual_ms() {
    awk '{ dual = ($2 ~ /,.*,/) }
         dual && start == "" { start = $1 }
         !dual && start != "" { total += $1 - start; start = "" }
         { last = $1 }
         END { if (start != "") total += last - start; print total + 0 }' "$1"
}

lab_missing() {
    local host=$1 table=$2 acked=$3 have
    have=$(mktemp)
    lab_root_sql "$host" "SELECT id FROM $(labq .client.database).$table" 2> /dev/null |
        sort > "$have"
    cut -d' ' -f1 "$acked" | sort | comm -23 - "$have"
    rm -f "$have"
}

lab_wait_converged() {
    local table=$1 acked=$2 secs=$3 x sums why
    for _ in $(seq $((secs * 5))); do
        why=""
        for x in m1 m2 s; do
            [ -z "$(lab_missing "$x" "$table" "$acked" | head -n 1)" ] ||
                why="$why $x lacks acknowledged rows ($(lab_missing "$x" "$table" "$acked" | wc -l), e.g. $(lab_missing "$x" "$table" "$acked" | head -n 3 | tr '\n' ' '));"
        done
        if [ -z "$why" ]; then
            sums=$(for x in m1 m2 s; do
                lab_root_sql "$x" "CHECKSUM TABLE $(labq .client.database).$table" 2> /dev/null | cut -f2
            done | sort -u)
            [ "$(echo "$sums" | wc -l)" = 1 ] && [ -n "$sums" ] && return 0
            why="checksums differ: $(echo "$sums" | tr '\n' ' ')"
            _lab_errant_only "$table" "$acked" && return 0
        fi
        sleep 0.2
    done
    echo "not converged after $secs s:$why" >&2
    return 1
}

# The servers differ only by rows nobody acknowledged, all on one server that status reports
# with errant transactions: a commit killed by the fence while it waited for a semi-sync
# acknowledgement (its client got an error) stays on the old writer, never replicated. That is
# the documented outcome (the operator undoes it, mmctl(8) "errant"), not a convergence failure.
_lab_errant_only() {
    local table=$1 acked=$2 x d=$LAB_DIR_T/errant-check holders extra errant
    mkdir -p "$d"
    for x in m1 m2 s; do
        lab_root_sql "$x" "SELECT id FROM $(labq .client.database).$table" 2> /dev/null | sort > "$d/$x" || return 1
    done
    sort -u "$d/m1" "$d/m2" "$d/s" > "$d/all"
    extra=$(comm -23 "$d/all" <(comm -12 <(comm -12 "$d/m1" "$d/m2") "$d/s"))
    [ -n "$extra" ] || return 1
    awk '{ print $1 }' "$acked" | sort > "$d/acked"
    [ -z "$(comm -12 <(echo "$extra") "$d/acked")" ] || return 1
    holders=$(for x in m1 m2 s; do [ -n "$(comm -12 <(echo "$extra") "$d/$x")" ] && echo "$x"; done)
    [ "$(echo "$holders" | wc -l)" = 1 ] || return 1
    errant=$(lab_status_json | jq -r --arg h "$holders" '.nodes[] | select(.id == $h) | .errant // empty')
    [ -n "$errant" ] || return 1
    echo "converged but for $(echo "$extra" | wc -l) unacknowledged row(s) only $holders holds: its errant transactions $errant (a commit the fence killed while it waited for a semi-sync acknowledgement)"
}

lab_wait() {
    local secs=$1
    shift
    for _ in $(seq $((secs * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

lab_healthy() {
    local st w
    st=$(lab_status_json) || return 1
    w=$(jq -r '.writer.node // empty' <<< "$st")
    [ -n "$w" ] && [ "$(lab_vip_holders)" = "$w," ] || return 1
    # Every server up and in touch; every one but the writer replicating (a writer applies
    # nothing it is sent: its SQL thread stops when it opens).
    jq -e --arg w "$w" '.decision.kind == "none" and ([.nodes[] | .health.mysql == "up"
        and (.id == $w or (.health.replication.io_running == true
                           and .health.replication.sql_running == true))
        and (.raft_role == "leader" or .last_contact_ms < 2500)] | all)' \
        <<< "$st" > /dev/null || return 1
    [ "$(lab_root_sql "$w" "SELECT @@GLOBAL.read_only")" = 0 ]
}

lab_test_begin() {
    local name=$1
    shift
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
    command -v mariadbd > /dev/null || [ -x /usr/sbin/mariadbd ] ||
        { echo "SKIP: mariadbd is not installed"; exit 77; }
    command -v jq > /dev/null || { echo "SKIP: needs jq"; exit 77; }
    LAB_TOP=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    export MMC_BUILD_DIR=${top_builddir:-${MMC_BUILD_DIR:-$LAB_TOP/build}}
    LAB_CMD=$LAB_TOP/jepsen/lab
    LAB_DIR_T=$(mktemp -d "/tmp/mmt-$name.XXXXXX") && LAB_DIR_T=$(realpath "$LAB_DIR_T")
    LAB_FAULT_PIDS=()
    LAB_PASSED=0
    trap _lab_test_end EXIT
    "$LAB_CMD" up --dir "$LAB_DIR_T/lab" "$@" > "$LAB_DIR_T/up.log" 2>&1 ||
        { cat "$LAB_DIR_T/up.log"; lab_fail "jepsen/lab up $*"; }
    LAB_JSON=$LAB_DIR_T/lab/lab.json
}

_lab_test_end() {
    lab_fault_stop
    if [ "$LAB_PASSED" != 1 ]; then
        local f
        for f in "$LAB_DIR_T"/lab/{m1,m2,s}/mmcoordd.log "$LAB_DIR_T"/lab/{m1,m2}/fencer.sock.log; do
            [ -f "$f" ] && { echo "---- $f"; grep -v 'replication now from' "$f" | tail -n 30; }
        done
    fi
    # MMC_FAULTS_KEEP=DIR: keep the watchers' files and the lab's logs for a look.
    if [ -n "${MMC_FAULTS_KEEP:-}" ]; then
        mkdir -p "$MMC_FAULTS_KEEP" && cp -r "$LAB_DIR_T" "$MMC_FAULTS_KEEP"/ 2> /dev/null &&
            echo "kept $LAB_DIR_T in $MMC_FAULTS_KEEP"
    fi
    "$LAB_CMD" down --dir "$LAB_DIR_T/lab" > /dev/null 2>&1
    rm -rf "$LAB_DIR_T"
}

lab_fail() {
    echo "FAIL: $*"
    exit 1
}

lab_test_pass() {
    LAB_PASSED=1
    echo PASS
}

lab_check() {
    local label=$1
    shift
    case ",${MMC_FAULTS_KNOWN:-}," in
    *",$label,"*) echo "KNOWN FAILURE ($label, listed in MMC_FAULTS_KNOWN): $*" ;;
    *) lab_fail "$* [known-failure label: $label]" ;;
    esac
}

lab_fault_start() {
    local name=$1 ok=""
    for _ in $(seq 50); do
        lab_client_sql "CREATE TABLE IF NOT EXISTS $name (id INT PRIMARY KEY, at BIGINT)" 2> /dev/null &&
            ok=1 && break
        sleep 0.2
    done
    [ -n "$ok" ] || lab_fail "$name: cannot create table $name through the VIP"
    lab_watch_vip "$LAB_DIR_T/$name.vip" &
    LAB_FAULT_PIDS+=($!)
    lab_watch_neigh "$LAB_DIR_T/$name.neigh" &
    LAB_FAULT_PIDS+=($!)
    lab_client_writes "$LAB_DIR_T/$name.acked" "$name" 1 &
    LAB_FAULT_PIDS+=($!)
    lab_wait 20 grep -qs . "$LAB_DIR_T/$name.acked" || lab_fail "$name: no write acknowledged"
    sleep 1
    FAULT_WRITER=$(lab_writer)
    FAULT_EPOCH=$(lab_epoch)
    FAULT_LEADER=$(lab_leader)
    FAULT_T0=$(lab_now_ms)
    echo "--- $name: writer $FAULT_WRITER, epoch $FAULT_EPOCH, leader $FAULT_LEADER"
}

lab_fault_stop() {
    local p
    for p in "${LAB_FAULT_PIDS[@]}"; do kill "$p" 2> /dev/null; done
    for p in "${LAB_FAULT_PIDS[@]}"; do wait "$p" 2> /dev/null; done
    LAB_FAULT_PIDS=()
}

lab_fault_figures() {
    local name=$1 new=$2 b=$LAB_DIR_T/$1 t_move mac t_arp pause first acked
    acked=$(wc -l < "$b.acked")
    pause=$(awk -v t="$FAULT_T0" '{ if ($3 <= t) { last = $3; next }
        if (last != "" && $3 - last > max) max = $3 - last; last = $3 } END { print max + 0 }' "$b.acked")
    FAULT_REACH_MS=-1
    if [ -z "$new" ]; then
        echo "figures $name: $acked writes acknowledged; longest write pause from the fault on ${pause} ms"
        return 0
    fi
    t_move=$(awk -v t="$FAULT_T0" -v h="$new," '$1 >= t && $2 == h { print $1; exit }' "$b.vip")
    [ -n "$t_move" ] || { echo "figures $name: the VIP never reached $new alone"; return 0; }
    first=$(awk -v t="$t_move" -v s="$(labq ".hosts.$new.server_id")" '$3 >= t && $4 == s { print $3; exit }' "$b.acked")
    [ -n "$first" ] && FAULT_REACH_MS=$((first - t_move))
    mac=$(labq ".hosts.$new.mac")
    t_arp=$(awk -v t="$FAULT_T0" -v m="$mac" '$1 >= t && $2 == m { print $1; exit }' "$b.neigh")
    local arp_text="never" reach_text="never"
    [ -z "$t_arp" ] || arp_text="$((t_arp - t_move)) ms after the VIP appeared there"
    [ -z "$first" ] || reach_text="$FAULT_REACH_MS ms"
    echo "figures $name: VIP on $new $((t_move - FAULT_T0)) ms after the fault;" \
        "client's ARP entry for the VIP -> $new's MAC $arp_text (negative: before the watcher" \
        "saw the VIP there); first write acknowledged by $new's server $reach_text after the move;" \
        "longest write pause ${pause} ms; $acked writes acknowledged"
}

lab_fault_common() {
    local name=$1 b=$LAB_DIR_T/$1 dual
    dual=$(lab_dual_ms "$b.vip")
    [ "$dual" = 0 ] || lab_check "$name-two-holders" "$name: two hosts held the VIP for about ${dual} ms: $(grep ',.*,' "$b.vip" | head -n 3 | tr '\n' ' ')"
    lab_wait_converged "$name" "$b.acked" 30 || lab_fail "$name: replication did not converge"
    echo "$name: never two VIP holders ($(wc -l < "$b.vip") samples); all three servers hold the $(wc -l < "$b.acked") acknowledged rows"
}

lab_rejoined() {
    local host=$1 writer=$2 line
    [ "$(lab_root_sql "$host" "SELECT @@GLOBAL.read_only" 2> /dev/null)" = 1 ] || return 1
    case ,$(lab_vip_holders) in *",$host,"*) return 1 ;; esac
    line=$(mariadb --no-defaults -uroot -S "$(labq ".hosts.$host.mysql_socket")" -E \
        -e "SHOW SLAVE STATUS" 2> /dev/null | awk -F': ' '/ Master_Host:/ {h=$2}
            / Slave_IO_Running:/ {io=$2} / Slave_SQL_Running:/ {sql=$2} END {print h, io, sql}')
    [ "$line" = "$(labq ".hosts.$writer.address") Yes Yes" ]
}

# The kernel's own account of the VIP on each host: `ip -ts monitor address` per host namespace
# into DIR/vip-H.mon, in the background (PIDs appended to the array named by PIDS_VAR), and
# the holders at the start in DIR/vip-start. A sampler that reads the hosts one after the other
# would see a move between two reads as two holders; these events have microsecond stamps.
lab_vip_monitor_start() {
    local dir=$1 pids_var=$2 h
    for h in m1 m2 s; do
        ip -n "$(labq ".hosts.$h.namespace")" -ts monitor address > "$dir/vip-$h.mon" 2>&1 &
        eval "$pids_var+=($!)"
    done
    sleep 0.2
    lab_vip_holders > "$dir/vip-start"
}

# Replay DIR's monitor files in time order: prints "TOTAL_MS FIRST", the time two hosts held
# the VIP at once (0.000 when never) and when that first happened.
lab_vip_monitor_overlap() {
    local dir=$1 vip h
    vip=$(labq .vip)
    for h in m1 m2 s; do
        awk -v h="$h" -v vip=" $vip/" 'index($0, vip) && /^\[/ {
            print substr($1, 2, 26), h, (/ Deleted / ? "del" : "add") }' "$dir/vip-$h.mon"
    done | sort | awk -v start="$(cat "$dir/vip-start")" '
        function ms(ts,   d, t) { d = substr(ts, 1, 10); t = substr(ts, 12)
            if (day == "") day = d
            split(t, p, ":"); return ((d != day) * 86400 + p[1] * 3600 + p[2] * 60 + p[3]) * 1000 }
        BEGIN { n = split(start, s0, ","); for (i = 1; i <= n; i++) if (s0[i] != "") held[s0[i]] = 1 }
        { t = ms($1); c = 0; for (x in held) c += held[x]
          if (c > 1) total += t - since
          held[$2] = ($3 == "add"); c = 0; for (x in held) c += held[x]
          if (c > 1) { since = t; if (first == "") first = $1 } }
        END { printf "%.3f %s\n", total, first }'
}
