#!/usr/bin/env bash
# A new writer whose own applier (SQL thread) is stopped while its relay log holds acknowledged
# writes of the old writer (issue 7; host.c:open_after_catch_up, commit ebe890f). On one lab
# (semi-sync, AFTER_SYNC), twice, the candidate master C's SQL thread is stopped, writes are
# acknowledged through the VIP (C's IO thread receives and acknowledges them; its SQL thread
# applies none), then the writer W's mariadbd is SIGKILLed:
#  a1. the replica s receives the writes too: the open job must apply them from C's own relay
#      log (not wait on an applier that never runs: a chaos run stalled 187 s that way);
#  a2. s is cut off from W's server meanwhile (an nft rule in s's namespace): C's relay log is
#      the only live copy of those acknowledged writes.
# Asserted: C becomes the writer and opens within 30 s of the kill (a bound that only catches
# the stall, not a speed figure), every acknowledged write is on C, its daemon's "opened" line
# says it started its stopped applier, and after W is healed all three servers converge.
#  a3 (not run by default; MMC_STOPPED_APPLIER_ONLY=a3): as a2 with C's IO thread stopped too.
#      It fails today: MariaDB (GTID mode) discards the relay log when a replication thread is
#      started while both are stopped, so START SLAVE SQL_THREAD loses the writes it should apply.
#
# The recipe: C's daemon restarts a stopped SQL thread whenever it reconciles as a non-writer
# (a repoint to its source: STOP SLAVE, START SLAVE, which also discards the relay log), so C's
# mmcoordd is SIGSTOPped, just after its health report reached the leader, while its SQL thread
# is stopped and the writes are made, and W's mariadbd is killed while it is still stopped. The
# leader (s) then names C (its last report is still fresh: health_stale_ms is 2.3 s in the
# lab). C's mariadbd is SIGSTOPped just before C's daemon is continued, and continued once C's
# daemon itself says it is the writer: the daemon's first probe (which would show the stopped
# SQL thread to a reconcile that still replicates from W) cannot return before that, and as the
# writer it never repoints. The "opened" line then proves that the open job started the applier.
# MMC_STOPPED_APPLIER_ONLY="a1" (or "a2") runs one scenario. Needs root, mariadbd, jq, nft.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/labclient.sh"
command -v nft > /dev/null || { echo "SKIP: needs nft (to cut s off from the writer's server)"; exit 77; }
WRITES=${MMC_STOPPED_APPLIER_WRITES:-5}
OPEN_BOUND_MS=30000
lab_test_begin fsa
# Whatever this script paused goes on before the lab goes down (a stopped process ignores the
# lab's SIGTERM until then).
PAUSED=()
# kill returns before every thread of the process has stopped: wait until they all have.
stopped() { ! grep -L '^State:[[:space:]]*T' /proc/"$1"/task/*/status 2> /dev/null | grep -q .; }
pause() {
    kill -STOP "$1" || lab_fail "cannot stop PID $1"
    PAUSED+=("$1")
    lab_wait 2 stopped "$1" || lab_fail "PID $1 did not stop"
}
go_on() { kill -CONT "$1"; }
trap 'for p in "${PAUSED[@]}"; do kill -CONT "$p" 2> /dev/null; done; _lab_test_end' EXIT

other_master() { if [ "$1" = m2 ]; then echo m1; else echo m2; fi; }
leader_is_s() { [ "$(lab_leader)" = s ]; }
rows_on() { # host table: how many rows of TABLE HOST's server holds
    lab_root_sql "$1" "SELECT COUNT(*) FROM $(labq .client.database).$2"
}
semisync_no_tx() { # host
    lab_root_sql "$1" "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_no_tx'" | cut -f2
}
slave_field() { # host field
    mariadb --no-defaults -uroot -S "$(labq ".hosts.$1.mysql_socket")" -E -e "SHOW SLAVE STATUS" |
        awk -F': ' -v f="$2" '$1 ~ "^ *" f "$" { print $2 }'
}
c_health_seq() { # host: the sequence number of its last health report in the leader's record
    lab_status_json s | jq -r --arg h "$1" '.nodes[] | select(.id == $h) | .health.seq // empty'
}
own_view_writer() { # host: the writer in HOST's daemon's own copy of the record
    lab_mmctl "$1" status --json 2> /dev/null | jq -r '.writer.node // empty'
}
log_ms() { # a daemon log line: its timestamp in ms since the epoch
    date -d "${1%% *}" +%s%3N
}

scenario() { # name cut_s stop_receiver
    local name=$1 cut_s=$2 stop_receiver=$3 w c i gtid acked_file t_kill t_wake lines opened
    local opened_ms no_tx0 c_daemon c_mysqld c_log missing io_pos sql_running on_c on_s seq0
    acked_file=$LAB_DIR_T/$name.acked
    : > "$acked_file"
    lab_wait 30 lab_healthy || lab_fail "$name: the cluster is not healthy before the fault"
    w=$(lab_writer)
    c=$(other_master "$w")
    # C's daemon is paused below: it must not be the raft leader. The writer hands leadership to
    # s by itself; the other master keeps it until it loses it, so pause it briefly if needed.
    if ! lab_wait 5 leader_is_s; then
        [ "$(lab_leader)" = "$c" ] || lab_fail "$name: the raft leader is $(lab_leader), not s"
        echo "--- $name: $c leads raft: pausing its daemon for a second to move leadership"
        pause "$(labq ".hosts.$c.daemon_pid")"
        sleep 1
        go_on "$(labq ".hosts.$c.daemon_pid")"
        lab_wait 15 leader_is_s || lab_fail "$name: the raft leader is $(lab_leader), not s"
        lab_wait 30 lab_healthy || lab_fail "$name: the cluster is not healthy after moving leadership"
    fi
    c_daemon=$(labq ".hosts.$c.daemon_pid")
    c_mysqld=$(labq ".hosts.$c.mysql_pid")
    c_log=$(labq ".hosts.$c.daemon_log")
    echo "--- $name: writer $w, candidate $c, leader s, epoch $(lab_epoch)"
    lab_client_sql "CREATE TABLE $name (id INT PRIMARY KEY, at BIGINT)" ||
        lab_fail "$name: cannot create table $name through the VIP"
    lab_client_sql "INSERT INTO $name VALUES (0, $(lab_now_ms))" || lab_fail "$name: first write"
    echo 0 >> "$acked_file"
    row0_everywhere() { [ "$(rows_on "$c" "$name")" = 1 ] && [ "$(rows_on s "$name")" = 1 ]; }
    lab_wait 10 row0_everywhere || lab_fail "$name: row 0 did not reach $c and s"
    if [ "$cut_s" = yes ]; then
        ip netns exec "$(labq .hosts.s.namespace)" nft -f - << EOF || lab_fail "$name: nft"
table inet mmt_$name {
    chain input {
        type filter hook input priority 0; policy accept;
        ip saddr $(labq ".hosts.$w.address") tcp sport $(labq ".hosts.$w.mysql_port") drop
    }
}
EOF
    fi
    # The leader names C only while C's last health report is fresh (health_stale_ms, 2.3 s in
    # the lab; a report goes every second): pause C's daemon just after one arrived.
    seq0=$(c_health_seq "$c")
    reported() { [ "$(c_health_seq "$c")" != "$seq0" ]; }
    lab_wait 3 reported || lab_fail "$name: no health report from $c in 3 s"

    pause "$c_daemon"
    # A probe the daemon sent just before the pause is answered before the SQL thread stops: the
    # daemon wakes up with the health of a running applier, which a reconcile leaves alone.
    sleep 0.2
    lab_root_sql "$c" "STOP SLAVE SQL_THREAD" || lab_fail "$name: STOP SLAVE SQL_THREAD on $c"
    no_tx0=$(semisync_no_tx "$w")
    for i in $(seq 1 "$WRITES"); do
        # The GTID each commit got on W, to find the last one in C's relay log below.
        if gtid=$(lab_client_sql "INSERT INTO $name VALUES ($i, $(lab_now_ms)); SELECT @@last_gtid"); then
            echo "$i" >> "$acked_file"
        fi
    done
    # Each of them waited for a replica's acknowledgement (none fell back to asynchronous).
    [ "$(semisync_no_tx "$w")" = "$no_tx0" ] ||
        lab_fail "$name: $w committed without a semi-sync acknowledgement"
    if [ "$stop_receiver" = yes ]; then
        lab_root_sql "$c" "STOP SLAVE IO_THREAD" || lab_fail "$name: STOP SLAVE IO_THREAD on $c"
    fi
    kill -KILL "$(labq ".hosts.$w.mysql_pid")"
    t_kill=$(lab_now_ms)
    [ "$cut_s" = yes ] && ip netns exec "$(labq .hosts.s.namespace)" nft delete table inet "mmt_$name"
    [ "$(wc -l < "$acked_file")" -gt 1 ] || lab_fail "$name: no write acknowledged while $c's applier was stopped"
    # C received them all and applied none; with s cut off, only C acknowledged them.
    io_pos=$(slave_field "$c" Gtid_IO_Pos)
    sql_running=$(slave_field "$c" Slave_SQL_Running)
    on_c=$(rows_on "$c" "$name")
    on_s=$(rows_on s "$name")
    echo "$name: $(($(wc -l < "$acked_file") - 1)) writes acknowledged by $w (last $gtid);" \
        "$c: SQL thread running=$sql_running, IO thread running=$(slave_field "$c" Slave_IO_Running)," \
        "received $io_pos, holds $on_c row(s); s holds $on_s"
    case ",$io_pos," in *",$gtid,"*) ;; *) lab_fail "$name: $c did not receive $gtid (its IO position: $io_pos)" ;; esac
    if [ "$sql_running" != No ] || [ "$on_c" != 1 ]; then
        lab_fail "$name: $c applied what it received: its SQL thread was restarted"
    fi
    if [ "$cut_s" = yes ]; then
        [ "$on_s" = 1 ] || lab_fail "$name: s received the writes although it was cut off"
    fi

    named() { [ "$(lab_writer)" = "$c" ]; }
    lab_wait 2 named || echo "$name: $c not named writer yet $(($(lab_now_ms) - t_kill)) ms after the kill: continuing its daemon all the same"
    lines=$(wc -l < "$c_log")
    [ "$(basename "$(readlink "/proc/$c_mysqld/exe")")" = mariadbd ] ||
        lab_fail "$name: PID $c_mysqld is not $c's mariadbd"
    pause "$c_mysqld"
    go_on "$c_daemon"
    t_wake=$(lab_now_ms)
    knows() { [ "$(own_view_writer "$c")" = "$c" ]; }
    # Its first probe times out after 300 ms (probe_timeout_ms): C's server goes on before.
    until knows || [ $(($(lab_now_ms) - t_wake)) -ge 250 ]; do sleep 0.01; done
    go_on "$c_mysqld"
    echo "$name: $c's daemon continued $((t_wake - t_kill)) ms after the kill; its own view of" \
        "the writer: $(own_view_writer "$c") ($(($(lab_now_ms) - t_wake)) ms later, its server continued)"

    opened_line() { tail -n +"$((lines + 1))" "$c_log" | grep -m 1 'host: opened: '; }
    lab_wait $((OPEN_BOUND_MS / 1000)) opened_line ||
        lab_fail "$name: $c did not open within $((OPEN_BOUND_MS / 1000)) s of the kill (writer: $(lab_writer)): $(tail -n +"$((lines + 1))" "$c_log" | grep -E 'host: (not opened|repoint|replication now)' | tail -n 3)"
    opened=$(opened_line)
    opened_ms=$(($(log_ms "$opened") - t_kill))
    echo "$name: $c opened $opened_ms ms after the kill:"
    echo "    ${opened#* host: }"
    [ "$opened_ms" -le "$OPEN_BOUND_MS" ] || lab_fail "$name: $c opened only $opened_ms ms after the kill"
    [ "$(lab_writer)" = "$c" ] || lab_fail "$name: the writer is $(lab_writer), not $c"
    moved() { [ "$(lab_vip_holders)" = "$c," ]; }
    lab_wait 10 moved || lab_fail "$name: the VIP is not on $c alone: [$(lab_vip_holders)]"
    # Starting a thread while both are stopped makes MariaDB (GTID mode) discard the relay log:
    # a repoint to the dead W before C was named (the recipe did not hold), or the open job's
    # start of the applier when the receiver is stopped too (a3), loses these writes.
    missing=$(lab_missing "$c" "$name" "$acked_file")
    [ -z "$missing" ] || lab_fail "$name: acknowledged writes missing on the new writer $c: $(echo "$missing" | tr '\n' ' ')$(tail -n +"$((lines + 1))" "$c_log" | grep -m 1 "replication now from $(labq ".hosts.$w.address")" | sed 's/^/ (after a repoint to the dead writer: /; s/$/)/')"
    echo "$name: all $(wc -l < "$acked_file") acknowledged rows are on $c"
    # The open job says what it did; without this line the applier was started some other way
    # and the path is untested.
    case $opened in
    *"started its stopped applier to apply its relay log"*) ;;
    *) lab_fail "$name: $c's open job did not start its stopped applier: $(tail -n +"$((lines + 1))" "$c_log" | grep -E 'replication now from|repoint' | head -n 3)" ;;
    esac
    # Clients write to the new writer.
    lab_wait 10 lab_client_sql "INSERT IGNORE INTO $name VALUES (1000, $(lab_now_ms))" ||
        lab_fail "$name: no write through the VIP after the failover"
    echo 1000 >> "$acked_file"

    "$LAB_CMD" heal --dir "$(labq .dir)" "$w" > "$LAB_DIR_T/heal-$name.log" 2>&1 ||
        { cat "$LAB_DIR_T/heal-$name.log"; lab_fail "$name: heal $w"; }
    lab_wait 30 lab_rejoined "$w" "$c" || lab_fail "$name: $w did not rejoin fenced, replicating from $c"
    lab_wait_converged "$name" "$acked_file" 30 || lab_fail "$name: replication did not converge"
    echo "$name: $w rejoined; all three servers hold the $(wc -l < "$acked_file") acknowledged rows"
}

only=" ${MMC_STOPPED_APPLIER_ONLY:-a1 a2} "
case $only in *" a1 "*) scenario a1 no no ;; esac
case $only in *" a2 "*) scenario a2 yes no ;; esac
case $only in *" a3 "*) scenario a3 yes yes ;; esac
lab_mmctl s history
lab_test_pass
