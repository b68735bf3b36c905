# Sourceable helpers to run mmcoordd clusters on loopback for tests and benchmarks.
# Requires: $top_builddir (the build tree), jq. All state lives under $CLUSTER_DIR.
#
#   cluster_init DIR [ids...]   write configs and a secret for nodes (default m1 m2 s) on free
#                               loopback ports; m1 and m2 candidates
#   cluster_start ID            start a daemon, record its PID in DIR/ID.pid, log in DIR/ID.log
#                               ($CLUSTER_WRAPPER, if set, is put in front of the command)
#   cluster_kill ID [SIGNAL]    signal a daemon by its recorded PID (default KILL) and reap it
#   cluster_stop_all            SIGTERM every daemon still running, then SIGKILL stragglers
#   cluster_ctl ID ARGS...      run mmctl against node ID's control socket
#   cluster_leader ID           print the leader id seen by node ID (empty if none)
#   wait_for SECONDS CMD...     retry CMD every 0.1 s until it succeeds or time runs out

MMCOORDD=${MMCOORDD:-$top_builddir/coord/mmcoordd}
MMCTL=${MMCTL:-$top_builddir/coord/mmctl}
CLUSTER_WRAPPER=${CLUSTER_WRAPPER:-}

free_port() {
    # Ask the kernel for a free port, then release it (a small race, acceptable for tests).
    local port
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

cluster_init() {
    CLUSTER_DIR=$1
    shift
    CLUSTER_IDS=${*:-m1 m2 s}
    mkdir -p "$CLUSTER_DIR"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$CLUSTER_DIR/secret"
    chmod 600 "$CLUSTER_DIR/secret"
    local id nodes=""
    for id in $CLUSTER_IDS; do
        local port candidate=no
        port=$(free_port)
        case $id in m1 | m2) candidate=yes ;; esac
        nodes="$nodes
[node $id]
raft_address = 127.0.0.1:$port
mysql_address = 127.0.0.1:3306
candidate = $candidate
"
    done
    for id in $CLUSTER_IDS; do
        cat > "$CLUSTER_DIR/$id.conf" <<CONF
[cluster]
name = test
secret_file = $CLUSTER_DIR/secret
heartbeat_ms = ${CLUSTER_HEARTBEAT_MS:-100}
election_timeout_ms = ${CLUSTER_ELECTION_MS:-1000}
lease_ms = ${CLUSTER_LEASE_MS:-2000}
# Small, so that restarts in the tests load a snapshot as a long-lived daemon does.
snapshot_threshold = ${CLUSTER_SNAPSHOT_THRESHOLD:-32}
snapshot_trailing = 32
$nodes
[local]
id = $id
data_dir = $CLUSTER_DIR/$id/data
control_socket = $CLUSTER_DIR/$id/ctl.sock
CONF
    done
}

cluster_start() {
    local id=$1
    # CLUSTER_WRAPPER (e.g. "valgrind --quiet") is split into words on purpose.
    # shellcheck disable=SC2086
    $CLUSTER_WRAPPER "$MMCOORDD" --config "$CLUSTER_DIR/$id.conf" ${CLUSTER_LOG_LEVEL:+--log-level "$CLUSTER_LOG_LEVEL"} \
        >> "$CLUSTER_DIR/$id.log" 2>&1 &
    echo $! > "$CLUSTER_DIR/$id.pid"
}

cluster_kill() {
    local id=$1 sig=${2:-KILL} pid
    pid=$(cat "$CLUSTER_DIR/$id.pid" 2>/dev/null) || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$CLUSTER_DIR/$id.pid"
}

cluster_stop_all() {
    local f pid
    for f in "$CLUSTER_DIR"/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill -TERM "$pid" 2>/dev/null || true
    done
    for f in "$CLUSTER_DIR"/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

cluster_ctl() {
    local id=$1
    shift
    "$MMCTL" --socket "$CLUSTER_DIR/$id/ctl.sock" --timeout 2 "$@"
}

cluster_leader() {
    cluster_ctl "$1" leader 2>/dev/null | cut -d' ' -f1
}

wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    while ! "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
