# shellcheck shell=bash
# Test helper: small MariaDB servers for tests, the lab and the chaos harness.
#
# Source it, then:
#   mariadb_available                      exit status 0 when mariadbd and the tools exist
#   mariadb_free_port [ADDR]               print a TCP port free on ADDR (default 127.0.0.1)
#   mariadb_init NAME DIR ADDR PORT SERVER_ID [ROLE]
#                                          create a datadir and my.cnf under DIR/NAME; ROLE is
#                                          master (default) or replica. Each server gets
#                                          gtid_domain_id = SERVER_ID, binlog + log_slave_updates,
#                                          ROW format, gtid_strict_mode, read_only=ON at boot,
#                                          auto_increment_increment=2 with offset 1 or 2.
#   mariadb_start NAME                     start mariadbd (--user=root) and wait until it answers
#   mariadb_stop NAME                      SIGTERM by saved PID, wait, SIGKILL if it hangs
#   mariadb_kill NAME | mariadb_pause NAME | mariadb_resume NAME    SIGKILL / SIGSTOP / SIGCONT
#   mariadb_pid NAME | mariadb_port NAME | mariadb_addr NAME | mariadb_dir NAME
#   mariadb_sql NAME "SQL"                 run SQL as root over the unix socket (tab-separated,
#                                          no column names)
#   mariadb_sql_as NAME USER PASSWORD "SQL"  run SQL as USER over TCP
#   mariadb_create_users NAME              repl, coordinator (docs/mysql.md GRANT) and app users,
#                                          without binary logging
#   mariadb_replicate NAME SOURCE          point NAME at SOURCE with GTID (slave_pos) and start
#   mariadb_setup_topology M1 M2 R1        users everywhere, M1 <-> M2 master-master, R1 replica
#                                          of M1, database mmtest created on M1
#   mariadb_wait_sync NAME SOURCE [SECS]   wait until NAME has applied SOURCE's gtid_binlog_pos
#   mariadb_teardown                       stop every server this shell started (also paused
#                                          ones) and remove their directories
#
# Set MARIADB_EXEC (e.g. "ip netns exec ns1") before mariadb_init to run a server and every
# command for it inside a network namespace. Users and passwords (exported):
#   MARIADB_REPL_USER/PASSWORD, MARIADB_COORD_USER/PASSWORD, MARIADB_APP_USER/PASSWORD.
# Only servers started by this shell are ever signalled, always by their saved PID.

: "${MARIADB_REPL_USER:=repl}"
: "${MARIADB_REPL_PASSWORD:=repl-secret-$$}"
: "${MARIADB_COORD_USER:=mmcoord}"
: "${MARIADB_COORD_PASSWORD:=coord-secret-$$}"
: "${MARIADB_APP_USER:=app}"
: "${MARIADB_APP_PASSWORD:=app-secret-$$}"
export MARIADB_REPL_USER MARIADB_REPL_PASSWORD MARIADB_COORD_USER MARIADB_COORD_PASSWORD \
    MARIADB_APP_USER MARIADB_APP_PASSWORD

declare -gA _MDB_DIR=() _MDB_ADDR=() _MDB_PORT=() _MDB_EXEC=() _MDB_PID=()
declare -ga _MDB_NAMES=()

# The coordinator's privileges on MariaDB 10.11: keep in sync with docs/mysql.md.
MARIADB_COORD_GRANT="PROCESS, CONNECTION ADMIN, READ_ONLY ADMIN, REPLICATION MASTER ADMIN, REPLICATION SLAVE ADMIN, SLAVE MONITOR"
# The writer's daemon writes mmcoord.epoch before it opens (mysql/epoch.h, docs/mysql.md).
MARIADB_COORD_EPOCH_GRANT="CREATE, INSERT, DELETE"

mariadb_available() {
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || return 1
    command -v mariadb-install-db >/dev/null 2>&1 || return 1
    command -v mariadb >/dev/null 2>&1 || return 1
}

_mariadbd() {
    if command -v mariadbd >/dev/null 2>&1; then command -v mariadbd; else echo /usr/sbin/mariadbd; fi
}

mariadb_free_port() {
    local addr=${1:-127.0.0.1} port
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket,sys
s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$addr" && return 0
    fi
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! ss -ltnH "sport = :$port" | grep -q .; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

mariadb_dir() { echo "${_MDB_DIR[$1]}"; }
mariadb_addr() { echo "${_MDB_ADDR[$1]}"; }
mariadb_port() { echo "${_MDB_PORT[$1]}"; }
mariadb_pid() { cat "${_MDB_DIR[$1]}/mariadbd.pid" 2>/dev/null; }

mariadb_init() {
    local name=$1 base=$2 addr=$3 port=$4 id=$5 role=${6:-master}
    local dir=$base/$name
    if [ -z "$name" ] || [ -z "$base" ] || [ -z "$addr" ] || [ -z "$port" ] || [ -z "$id" ]; then
        echo "mariadb_init NAME DIR ADDR PORT SERVER_ID [ROLE]" >&2
        return 2
    fi
    mkdir -p "$dir/data" "$dir/tmp" || return 1
    _MDB_DIR[$name]=$dir
    _MDB_ADDR[$name]=$addr
    _MDB_PORT[$name]=$port
    _MDB_EXEC[$name]=${MARIADB_EXEC:-}
    _MDB_NAMES+=("$name")
    local offset=$(((id - 1) % 2 + 1))
    cat >"$dir/my.cnf" <<CNF
[mariadbd]
datadir=$dir/data
tmpdir=$dir/tmp
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
log-error=$dir/error.log
port=$port
bind-address=$addr
skip-name-resolve
server_id=$id
gtid_domain_id=$id
log_bin=binlog
log_slave_updates=ON
binlog_format=ROW
gtid_strict_mode=ON
relay_log=relay
auto_increment_increment=2
auto_increment_offset=$offset
read_only=ON
# small: several servers share a 2-core machine with other tests
innodb_buffer_pool_size=32M
innodb_log_file_size=16M
innodb_log_buffer_size=2M
key_buffer_size=1M
aria_pagecache_buffer_size=4M
performance_schema=OFF
max_connections=60
table_open_cache=200
table_definition_cache=200
thread_cache_size=4
query_cache_size=0
query_cache_type=0
innodb_flush_log_at_trx_commit=2
sync_binlog=0
slave_net_timeout=5
loose-feedback=OFF
CNF
    echo "# role=$role" >>"$dir/my.cnf"
    # shellcheck disable=SC2086
    ${_MDB_EXEC[$name]} mariadb-install-db --no-defaults --datadir="$dir/data" --user=root \
        --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 || {
        echo "mariadb_init $name: mariadb-install-db failed, see $dir/install.log" >&2
        tail -n 20 "$dir/install.log" >&2
        return 1
    }
}

mariadb_sql() {
    local name=$1
    shift
    # shellcheck disable=SC2086
    # SQL on stdin, not in argv: statements with passwords stay out of the process list.
    printf '%s\n' "$*" | ${_MDB_EXEC[$name]} mariadb --no-defaults \
        -S "${_MDB_DIR[$name]}/mysqld.sock" -uroot -N -B
}

mariadb_sql_as() {
    local name=$1 user=$2 password=$3
    shift 3
    # shellcheck disable=SC2086
    MYSQL_PWD=$password ${_MDB_EXEC[$name]} mariadb --no-defaults --protocol=TCP \
        -h "${_MDB_ADDR[$name]}" -P "${_MDB_PORT[$name]}" -u "$user" -N -B <<<"$*"
}

mariadb_start() {
    local name=$1 dir=${_MDB_DIR[$1]}
    [ -n "$dir" ] || { echo "mariadb_start: unknown server $name" >&2; return 2; }
    # shellcheck disable=SC2086
    ${_MDB_EXEC[$name]} "$(_mariadbd)" --defaults-file="$dir/my.cnf" --user=root \
        >>"$dir/stdout.log" 2>&1 &
    local pid=$!
    # Not a job of this shell: no "Killed" notices when a test kills it on purpose.
    disown "$pid" 2>/dev/null
    echo "$pid" >"$dir/mariadbd.pid"
    _MDB_PID[$name]=$pid
    for _ in $(seq 1 300); do
        if ! _mariadb_alive "$pid"; then
            echo "mariadb_start $name: mariadbd exited; last lines of $dir/error.log:" >&2
            tail -n 20 "$dir/error.log" >&2
            return 1
        fi
        if mariadb_sql "$name" "SELECT 1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "mariadb_start $name: no answer after 30 s" >&2
    return 1
}

_mariadb_alive() { # a zombie waiting to be reaped counts as gone
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

_mariadb_wait_gone() {
    local pid=$1 tenths=$2
    for _ in $(seq 1 "$tenths"); do
        _mariadb_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

mariadb_stop() {
    local name=$1 pid
    pid=$(mariadb_pid "$name") || return 0
    [ -n "$pid" ] || return 0
    if _mariadb_alive "$pid"; then
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        if ! _mariadb_wait_gone "$pid" 300; then
            kill -KILL "$pid" 2>/dev/null
            _mariadb_wait_gone "$pid" 50
        fi
    fi
    rm -f "${_MDB_DIR[$name]}/mariadbd.pid"
    return 0
}

mariadb_kill() {
    local pid
    pid=$(mariadb_pid "$1") || return 1
    kill -CONT "$pid" 2>/dev/null
    kill -KILL "$pid" && _mariadb_wait_gone "$pid" 100
    rm -f "${_MDB_DIR[$1]}/mariadbd.pid"
    return 0
}

mariadb_pause() { kill -STOP "$(mariadb_pid "$1")"; }
mariadb_resume() { kill -CONT "$(mariadb_pid "$1")"; }

mariadb_create_users() {
    local name=$1
    mariadb_sql "$name" "SET SESSION sql_log_bin=0;
        CREATE USER IF NOT EXISTS '$MARIADB_REPL_USER'@'%' IDENTIFIED BY '$MARIADB_REPL_PASSWORD';
        GRANT REPLICATION SLAVE ON *.* TO '$MARIADB_REPL_USER'@'%';
        CREATE USER IF NOT EXISTS '$MARIADB_COORD_USER'@'%' IDENTIFIED BY '$MARIADB_COORD_PASSWORD';
        GRANT $MARIADB_COORD_GRANT ON *.* TO '$MARIADB_COORD_USER'@'%';
        GRANT $MARIADB_COORD_EPOCH_GRANT ON mmcoord.* TO '$MARIADB_COORD_USER'@'%';
        CREATE USER IF NOT EXISTS '$MARIADB_APP_USER'@'%' IDENTIFIED BY '$MARIADB_APP_PASSWORD';
        GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP ON mmtest.* TO '$MARIADB_APP_USER'@'%';"
}

mariadb_replicate() {
    local name=$1 source=$2
    mariadb_sql "$name" "STOP SLAVE;
        CHANGE MASTER TO MASTER_HOST='${_MDB_ADDR[$source]}', MASTER_PORT=${_MDB_PORT[$source]},
            MASTER_USER='$MARIADB_REPL_USER', MASTER_PASSWORD='$MARIADB_REPL_PASSWORD',
            MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
        START SLAVE;"
}

mariadb_wait_sync() {
    local name=$1 source=$2 secs=${3:-20} pos
    pos=$(mariadb_sql "$source" "SELECT @@GLOBAL.gtid_binlog_pos") || return 1
    [ -n "$pos" ] || return 0
    local got
    got=$(mariadb_sql "$name" "SELECT MASTER_GTID_WAIT('$pos', $secs)") || return 1
    if [ "$got" != 0 ]; then
        echo "mariadb_wait_sync: $name did not reach $source's position $pos in ${secs}s" >&2
        mariadb_sql "$name" "SHOW SLAVE STATUS\G" >&2
        return 1
    fi
}

mariadb_setup_topology() {
    local m1=$1 m2=$2 r1=$3 n
    for n in "$m1" "$m2" "$r1"; do
        mariadb_create_users "$n" || return 1
    done
    mariadb_replicate "$m2" "$m1" || return 1
    mariadb_replicate "$m1" "$m2" || return 1
    mariadb_replicate "$r1" "$m1" || return 1
    mariadb_sql "$m1" "CREATE DATABASE IF NOT EXISTS mmtest" || return 1
    mariadb_wait_sync "$m2" "$m1" && mariadb_wait_sync "$r1" "$m1"
}

mariadb_teardown() {
    local name
    for name in "${_MDB_NAMES[@]}"; do
        mariadb_stop "$name"
    done
    for name in "${_MDB_NAMES[@]}"; do
        [ -n "${_MDB_DIR[$name]}" ] && [ -z "${MARIADB_KEEP:-}" ] && rm -rf "${_MDB_DIR[$name]}"
    done
    _MDB_NAMES=()
}
