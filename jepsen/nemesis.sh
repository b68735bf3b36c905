# shellcheck shell=bash
# jepsen/nemesis.sh: the faults of the chaos harness, on a running jepsen/lab. Source it (bash);
# it defines functions and changes no shell options. jepsen/run drives it; tests and people may
# call it by hand. jepsen/README.md ("Nemeses") says what each fault does and what cannot be done.
#
#   nem_init LAB_JSON LOG [LAB_SCRIPT]   read the lab; faults are logged as JSON lines to LOG
#                                        (nemesis.jsonl); LAB_SCRIPT is jepsen/lab (for heal)
#   nem_faults SYSTEM                    the faults that apply to SYSTEM (mmcoord|keepalived)
#   nem_start FAULT TARGET [PARAM]       start FAULT; TARGET is "writer" (the host holding the
#                                        VIP now), a host name (m1, m2, s) or "-" (no target);
#                                        sets NEM_ID (pass it to nem_end) and NEM_TARGET
#   nem_end ID                           undo that fault, then `jepsen/lab heal` its host
#   nem_heal_all                         end every active fault, remove any nft table and
#                                        immutable flag this file makes, SIGCONT every lab
#                                        process, every switch port up, `jepsen/lab heal`
#   nem_now                              CLOCK_MONOTONIC now, in ms (the history's clock)
#   nem_vip_holders                      the hosts whose namespace holds the VIP, one per line
#
# Set NEM_PROTECT to PIDs that kill-host must spare (the observers running in a host's
# namespace). NEM_OBSERVE names jepsen/observe (for nem_now). Every process is found inside its
# host's namespace (`ip netns pids`) and must have the lab's file for that host on its command
# line; it is signalled by that PID only. Every nft rule lives in a table of its own named
# jepsen_<id>, deleted whole at the end. Start and end of each fault go to LOG with the same id:
#   {"type":"nemesis","id":N,"fault":F,"target":"writer->m1","phase":"start","t":T,"detail":".."}

NEM_FAULTS_COMMON="kill-mysqld kill-daemon kill-host pause-daemon pause-mysqld pause-both"
NEM_FAULTS_COMMON+=" partition-host partition-writer-client partition-oneway arp-drop link-down"
NEM_FAULTS_COMMON+=" packet-loss"
NEM_FAULTS_MMCOORD="kill-daemon-fencer raft-unwritable"

nem_faults() {
    case $1 in
    mmcoord) echo "$NEM_FAULTS_COMMON $NEM_FAULTS_MMCOORD" ;;
    keepalived) echo "$NEM_FAULTS_COMMON" ;;
    *) return 1 ;;
    esac
}

nem_init() {
    NEM_LAB_JSON=$1
    NEM_LOG=$2
    NEM_LAB_SCRIPT=${3:-$(dirname "${BASH_SOURCE[0]}")/lab}
    [ -r "$NEM_LAB_JSON" ] || { echo "nemesis: cannot read $NEM_LAB_JSON" >&2; return 1; }
    NEM_DIR=$(jq -r .dir "$NEM_LAB_JSON")
    NEM_SYSTEM=$(jq -r .system "$NEM_LAB_JSON")
    NEM_VIP=$(jq -r .vip "$NEM_LAB_JSON")
    NEM_VIP_LEN=$(jq -r .vip_prefix_length "$NEM_LAB_JSON")
    NEM_IF=$(jq -r .interface "$NEM_LAB_JSON")
    NEM_SWITCH=$(jq -r .switch_namespace "$NEM_LAB_JSON")
    NEM_CLIENT_NS=$(jq -r .client.namespace "$NEM_LAB_JSON")
    read -r -a NEM_HOSTS <<<"$(jq -r '.hosts | keys | join(" ")' "$NEM_LAB_JSON")"
    NEM_NEXT_ID=${NEM_NEXT_ID:-1}
    declare -gA NEM_A_FAULT=() NEM_A_HOST=() NEM_A_PIDS=() NEM_A_TABLE=() NEM_A_PORT=()
    declare -gA NEM_A_TARGET=() NEM_A_RAFT=()
    NEM_PROTECT=${NEM_PROTECT:-}
}

nem_now() {
    "${NEM_OBSERVE:-observe}" --now
}

nem_ns() { jq -r --arg h "$1" '.hosts[$h].namespace' "$NEM_LAB_JSON"; }

# Append one line to the nemesis history, at time T (default: now).
nem_log() {
    local id=$1 fault=$2 target=$3 phase=$4 detail=$5 t=${6:-}
    [ -n "$t" ] || t=$(nem_now) || t=null
    detail=${detail% }
    jq -nc --argjson id "$id" --arg f "$fault" --arg target "$target" --arg phase "$phase" \
        --argjson t "$t" --arg d "$detail" \
        '{type: "nemesis", id: $id, fault: $f, target: $target, phase: $phase, t: $t, detail: $d}' \
        >>"$NEM_LOG"
}

nem_vip_holders() {
    local host
    for host in "${NEM_HOSTS[@]}"; do
        ip -n "$(nem_ns "$host")" -4 -o addr show 2>/dev/null | grep -qF " $NEM_VIP/" &&
            echo "$host"
    done
    return 0
}

# True while PID runs (a zombie does not count).
nem_running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

# PIDs of the processes in HOST's namespace whose command line holds the word WORD exactly
# (e.g. "--defaults-file=DIR/m1/my.cnf"), one per line.
nem_pids_with() {
    local host=$1 word=$2 pid
    for pid in $(ip netns pids "$(nem_ns "$host")" 2>/dev/null); do
        nem_running "$pid" || continue
        tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qxF -- "$word" && echo "$pid"
    done
    return 0
}

# The lab's processes of HOST by kind: mysqld, daemon (mmcoordd, or keepalived with its
# children), fencer.
nem_pids() {
    local host=$1 kind=$2 hdir=$NEM_DIR/$1
    case $kind in
    mysqld) nem_pids_with "$host" "--defaults-file=$hdir/my.cnf" ;;
    daemon)
        if [ "$NEM_SYSTEM" = mmcoord ]; then
            nem_pids_with "$host" "$hdir/mmcoordd.conf"
        else
            nem_pids_with "$host" "$hdir/keepalived.conf"
        fi
        ;;
    fencer) nem_pids_with "$host" "$hdir/fencer.sock" ;;
    esac
}

# Every process in HOST's namespace but the protected ones.
nem_all_pids() {
    local pid
    for pid in $(ip netns pids "$(nem_ns "$1")" 2>/dev/null); do
        case " $NEM_PROTECT " in *" $pid "*) continue ;; esac
        nem_running "$pid" && echo "$pid"
    done
    return 0
}

# The switch port (in the switch namespace) of HOST, or of "client".
nem_port() {
    local ns
    if [ "$1" = client ]; then ns=$NEM_CLIENT_NS; else ns=$(nem_ns "$1"); fi
    ip -n "$ns" -o link show dev "$NEM_IF" | sed -n 's/.* alias \(p[0-9c]*\).*/\1/p'
}

# nft set syntax for the ports of HOSTS...: { "p1", "p2" }
nem_port_set() {
    local host out=""
    for host in "$@"; do
        out+="\"$(nem_port "$host")\", "
    done
    printf '{ %s }' "${out%, }"
}

# Load an nft bridge table named TABLE in the switch namespace whose forward chain holds RULES
# (one per line). The bridge family sees every frame between two ports, ARP included.
nem_bridge_table() {
    local table=$1 rules=$2
    ip netns exec "$NEM_SWITCH" nft -f - <<EOF
table bridge $table {
    chain forward {
        type filter hook forward priority -100; policy accept;
$rules
    }
}
EOF
}

nem_delete_table() {
    ip netns exec "$NEM_SWITCH" nft delete table bridge "$1" 2>/dev/null
    return 0
}

nem_host_known() {
    local host
    for host in "${NEM_HOSTS[@]}"; do [ "$host" = "$1" ] && return 0; done
    return 1
}

# Resolve TARGET to a host name in NEM_HOST and its log form in NEM_TARGET.
nem_resolve() {
    local target=$1 holders
    case $target in
    writer)
        holders=$(nem_vip_holders)
        NEM_HOST=$(head -n 1 <<<"$holders")
        if [ -z "$NEM_HOST" ]; then
            # Nobody holds the VIP (a failover under way): the first master stands in.
            NEM_HOST=$(jq -r '[.hosts | to_entries[] | select(.value.role == "master") | .key][0]' \
                "$NEM_LAB_JSON")
            NEM_TARGET="writer(none)->$NEM_HOST"
        else
            NEM_TARGET="writer->$NEM_HOST"
        fi
        ;;
    -) NEM_HOST="" NEM_TARGET="-" ;;
    *)
        nem_host_known "$target" || { echo "nemesis: unknown host \"$target\"" >&2; return 1; }
        NEM_HOST=$target NEM_TARGET=$target
        ;;
    esac
}

# Send SIGNAL to each PID of the blank-separated list PIDS.
nem_signal() {
    local signal=$1 pid
    for pid in $2; do
        kill "-$signal" "$pid" 2>/dev/null
    done
    return 0
}

# Start FAULT on TARGET (PARAM: packet-loss percentage, partition-oneway direction "in" or
# "out"). Prints nothing; the start line goes to the log, timed just before the first action. Fails (non-zero, message on stderr)
# for an unknown fault or target, or when the fault could not be made.
nem_start() {
    local fault=$1 target=$2 param=${3:-} id detail="" pids rules others host table port h t
    case " $(nem_faults "$NEM_SYSTEM") " in
    *" $fault "*) ;;
    *)
        echo "nemesis: unknown fault \"$fault\" for $NEM_SYSTEM (faults: $(nem_faults "$NEM_SYSTEM"))" >&2
        return 1
        ;;
    esac
    case $fault in arp-drop) target=- ;; esac
    nem_resolve "$target" || return 1
    id=$NEM_NEXT_ID
    NEM_NEXT_ID=$((NEM_NEXT_ID + 1))
    host=$NEM_HOST
    table=jepsen_$id
    NEM_A_FAULT[$id]=$fault
    NEM_A_HOST[$id]=$host
    NEM_A_TARGET[$id]=$NEM_TARGET
    others=()
    for h in "${NEM_HOSTS[@]}"; do [ "$h" = "$host" ] || others+=("$h"); done
    # The fault starts with its first action: effects (a VIP removed by kill-host, say) must
    # never precede the start line.
    t=$(nem_now)
    case $fault in
    kill-mysqld)
        pids=$(nem_pids "$host" mysqld | tr '\n' ' ')
        nem_signal KILL "$pids"
        detail="SIGKILL mariadbd ${pids:-(none running)}"
        ;;
    kill-daemon)
        pids=$(nem_pids "$host" daemon | tr '\n' ' ')
        nem_signal KILL "$pids"
        detail="SIGKILL $NEM_SYSTEM daemon ${pids:-(none running)}"
        ;;
    kill-daemon-fencer)
        pids=$(nem_pids "$host" daemon | tr '\n' ' ')$(nem_pids "$host" fencer | tr '\n' ' ')
        nem_signal KILL "$pids"
        detail="SIGKILL mmcoordd and mmcoord-fencer ${pids:-(none running)}"
        ;;
    kill-host)
        port=$(nem_port "$host")
        ip -n "$NEM_SWITCH" link set dev "$port" down
        pids=$(nem_all_pids "$host" | tr '\n' ' ')
        nem_signal KILL "$pids"
        # A host that lost power holds no address: it comes back without the VIP.
        ip -n "$(nem_ns "$host")" addr del "$NEM_VIP/$NEM_VIP_LEN" dev "$NEM_IF" 2>/dev/null
        NEM_A_PORT[$id]=$port
        detail="switch port $port down, SIGKILL of every process in the namespace ${pids:-(none)}, VIP address removed (power loss)"
        ;;
    pause-daemon | pause-mysqld | pause-both)
        pids=""
        case $fault in pause-daemon | pause-both) pids+=$(nem_pids "$host" daemon | tr '\n' ' ') ;; esac
        case $fault in pause-mysqld | pause-both) pids+=$(nem_pids "$host" mysqld | tr '\n' ' ') ;; esac
        nem_signal STOP "$pids"
        NEM_A_PIDS[$id]=$pids
        detail="SIGSTOP ${pids:-(none running)}"
        ;;
    partition-host)
        rules="        iifname \"$(nem_port "$host")\" drop
        oifname \"$(nem_port "$host")\" drop"
        nem_bridge_table "$table" "$rules" || return 1
        NEM_A_TABLE[$id]=$table
        detail="bridge drops every frame to and from $host (port $(nem_port "$host")); nft table bridge $table"
        ;;
    partition-writer-client)
        local side_a side_b
        side_a=$(nem_port_set "$host" client)
        side_b=$(nem_port_set "${others[@]}")
        rules="        iifname $side_a oifname $side_b drop
        iifname $side_b oifname $side_a drop"
        nem_bridge_table "$table" "$rules" || return 1
        NEM_A_TABLE[$id]=$table
        detail="bridge splits $host + client | ${others[*]}; nft table bridge $table"
        ;;
    partition-oneway)
        [ -n "$param" ] || param=in
        if [ "$param" = in ]; then
            rules="        oifname \"$(nem_port "$host")\" drop"
            detail="bridge drops every frame to $host (it sends but hears nothing)"
        else
            rules="        iifname \"$(nem_port "$host")\" drop"
            detail="bridge drops every frame from $host (it hears but nobody hears it)"
        fi
        nem_bridge_table "$table" "$rules" || return 1
        NEM_A_TABLE[$id]=$table
        NEM_A_TARGET[$id]=$NEM_TARGET:$param
        detail+="; nft table bridge $table"
        ;;
    arp-drop)
        nem_bridge_table "$table" "        ether type arp drop" || return 1
        NEM_A_TABLE[$id]=$table
        detail="bridge drops every ARP frame (requests, replies, gratuitous); IP passes; nft table bridge $table"
        ;;
    link-down)
        port=$(nem_port "$host")
        ip -n "$NEM_SWITCH" link set dev "$port" down || return 1
        NEM_A_PORT[$id]=$port
        detail="switch port $port down ($host's eth0 loses carrier; its processes run on)"
        ;;
    packet-loss)
        [ -n "$param" ] || param=30
        port=$(nem_port "$host")
        rules="        iifname \"$port\" numgen random mod 100 < $param drop
        oifname \"$port\" numgen random mod 100 < $param drop"
        nem_bridge_table "$table" "$rules" || return 1
        NEM_A_TABLE[$id]=$table
        NEM_A_TARGET[$id]=$NEM_TARGET
        detail="bridge drops $param% of the frames from and to $host (each way); nft table bridge $table"
        ;;
    raft-unwritable)
        local raft=$NEM_DIR/$host/raft
        chattr -R +i "$raft" 2>/dev/null || {
            echo "nemesis: chattr +i $raft failed (filesystem without the immutable flag?)" >&2
            return 1
        }
        NEM_A_RAFT[$id]=$raft
        detail="chattr -R +i $raft: no file in it can be created, removed, renamed or opened for writing"
        ;;
    esac
    # shellcheck disable=SC2034 # read by the caller
    NEM_ID=$id
    NEM_TARGET=${NEM_A_TARGET[$id]}
    nem_log "$id" "$fault" "$NEM_TARGET" start "$detail" "$t"
}

# End fault ID: undo it, then heal its host (start what is not running, wait until it
# answers). Returns non-zero when the heal failed (the end line says so).
nem_end() {
    local id=$1 fault host detail="" rc=0 out t=""
    fault=${NEM_A_FAULT[$id]:-}
    [ -n "$fault" ] || { echo "nemesis: no active fault $id" >&2; return 1; }
    host=${NEM_A_HOST[$id]}
    if [ -n "${NEM_A_PIDS[$id]:-}" ]; then
        nem_signal CONT "${NEM_A_PIDS[$id]}"
        detail="SIGCONT ${NEM_A_PIDS[$id]}; "
    fi
    if [ -n "${NEM_A_TABLE[$id]:-}" ]; then
        nem_delete_table "${NEM_A_TABLE[$id]}"
        detail+="nft table bridge ${NEM_A_TABLE[$id]} deleted; "
    fi
    if [ -n "${NEM_A_PORT[$id]:-}" ]; then
        ip -n "$NEM_SWITCH" link set dev "${NEM_A_PORT[$id]}" up
        detail+="switch port ${NEM_A_PORT[$id]} up; "
    fi
    if [ -n "${NEM_A_RAFT[$id]:-}" ]; then
        chattr -R -i "${NEM_A_RAFT[$id]}" 2>/dev/null
        detail+="chattr -R -i ${NEM_A_RAFT[$id]}; "
    fi
    # A fault that killed something ends when heal has restarted it; any other ends when undone.
    case $fault in kill-* | raft-unwritable) ;; *) t=$(nem_now) ;; esac
    if [ -n "$host" ]; then
        if out=$("$NEM_LAB_SCRIPT" heal --dir "$NEM_DIR" "$host" 2>&1); then
            detail+="heal $host: $(tr '\n' ' ' <<<"${out:-ok}")"
        else
            detail+="heal $host FAILED: $(tr '\n' ' ' <<<"$out")"
            rc=1
        fi
    fi
    nem_log "$id" "$fault" "${NEM_A_TARGET[$id]}" end "${detail%; }" "$t"
    unset "NEM_A_FAULT[$id]" "NEM_A_HOST[$id]" "NEM_A_PIDS[$id]" "NEM_A_TABLE[$id]" \
        "NEM_A_PORT[$id]" "NEM_A_RAFT[$id]" "NEM_A_TARGET[$id]"
    return $rc
}

# End every active fault, then make sure nothing of this file's making is left (also after a
# crash of the caller: tables jepsen_*, immutable raft directories, stopped processes, ports
# down), and heal every host.
nem_heal_all() {
    local id host table pid rc=0
    for id in "${!NEM_A_FAULT[@]}"; do
        nem_end "$id" || rc=1
    done
    for table in $(ip netns exec "$NEM_SWITCH" nft list tables bridge 2>/dev/null |
        awk '$3 ~ /^jepsen_/ {print $3}'); do
        nem_delete_table "$table"
    done
    for host in "${NEM_HOSTS[@]}"; do
        [ -d "$NEM_DIR/$host/raft" ] && chattr -R -i "$NEM_DIR/$host/raft" 2>/dev/null
        for pid in $(ip netns pids "$(nem_ns "$host")" 2>/dev/null); do
            kill -CONT "$pid" 2>/dev/null
        done
        ip -n "$NEM_SWITCH" link set dev "$(nem_port "$host")" up 2>/dev/null
    done
    "$NEM_LAB_SCRIPT" heal --dir "$NEM_DIR" >/dev/null || rc=1
    return $rc
}
