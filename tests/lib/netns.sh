# shellcheck shell=bash
# A small Ethernet segment made of network namespaces, for lab tests, benchmarks and the chaos
# harness. Source this file; it defines functions and changes no shell options.
#
# Layout for `netns_segment_up PREFIX SUBNET a b`:
#
#   PREFIX-switch   a bridge "br0" with one veth port per member ("p1", "p2", ... "pc")
#   PREFIX-a        interface "eth0" at SUBNET.1/24
#   PREFIX-b        interface "eth0" at SUBNET.2/24
#   PREFIX-client   interface "eth0" at SUBNET.254/24
#
# Every member namespace has "lo" up, IPv6 disabled (no DAD or router solicitation noise in
# captures) and its "eth0" plugged into the bridge. Interface names live inside the namespaces,
# so only namespace names need to be unique: make PREFIX unique to the run (e.g. "mmt$$").
# Needs root and iproute2. Use addresses in 10.x/192.168.x: they never leave the namespaces.
#
# Functions (all return non-zero on failure, with a message on stderr):
#   netns_segment_up PREFIX SUBNET NAME...   build it; SUBNET is three octets ("10.77.3");
#                                            NAME: [a-z0-9]{1,12}, not "switch" or "client";
#                                            at most 200 names
#   netns_segment_down PREFIX                remove every namespace PREFIX-*; safe to call on
#                                            a half-built or already removed segment
#   netns_name PREFIX NAME                   print the namespace name of member NAME
#   netns_exec PREFIX NAME CMD...            run CMD inside member NAME. To start a process in
#                                            the background and keep its PID, call
#                                            `ip netns exec "$(netns_name P N)" CMD &` instead:
#                                            a function run with & is a subshell, its $! is not
#                                            CMD's PID
#   netns_ip PREFIX NAME                     print NAME's own address (without /24)
#   netns_mac PREFIX NAME                    print NAME's eth0 MAC address
#   netns_port_down|netns_port_up PREFIX NAME  unplug/replug NAME's cable at the switch
#                                            (its eth0 loses/regains carrier)
#   NETNS_IFNAME                             the members' interface name ("eth0")
#   netns_test_require WHY BIN TOOL...       for a test script: exit 77 (skip, saying why) unless
#                                            root, every TOOL and namespaces are there (WHY:
#                                            what root is needed for); exit 1 when BIN (a
#                                            program of ours) is not built
#   netns_test_start PREFIX NAME             for a test script: pids=() (background PIDs to
#                                            stop), workdir (a scratch dir), an EXIT trap that
#                                            stops pids, removes segment PREFIX and workdir;
#                                            and fail MESSAGE (exit 1) and step MESSAGE
#   netns_test_responder MMC_VIP P NAME IF VIP SECONDS
#                                            for a test script: run `mmc-vip reset IF VIP
#                                            SECONDS` in member NAME, output in
#                                            $workdir/reset.out and .err, until it responds;
#                                            sets reset_pid (also in pids), fails otherwise

NETNS_IFNAME=eth0

netns_test_start() {
    NETNS_TEST_PREFIX=$1
    pids=()
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX") || exit 1
    trap netns_test_cleanup EXIT
    # Defined here, not at the top: other scripts source this file and have their own.
    # shellcheck disable=SC2317 # called by the test script
    fail() {
        echo "FAIL: $*"
        exit 1
    }
    # shellcheck disable=SC2317 # called by the test script
    step() {
        echo "--- $*"
    }
}

netns_test_responder() {
    local bin=$1 prefix=$2 name=$3 ifname=$4 vip=$5 seconds=$6
    ip netns exec "$(netns_name "$prefix" "$name")" "$bin" reset "$ifname" "$vip" "$seconds" \
        >"$workdir/reset.out" 2>"$workdir/reset.err" &
    reset_pid=$!
    pids+=("$reset_pid")
    for _ in $(seq 50); do
        grep -q '^responding$' "$workdir/reset.out" && return 0
        kill -0 "$reset_pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "responder did not start: $(cat "$workdir/reset.out" "$workdir/reset.err")"
}

# shellcheck disable=SC2317 # called by the EXIT trap
netns_test_cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    netns_segment_down "$NETNS_TEST_PREFIX"
    rm -rf "$workdir"
}

netns_test_require() {
    local why=$1 bin=$2 tool
    shift 2
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root ($why)"
        exit 77
    fi
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            echo "SKIP: needs $tool"
            exit 77
        fi
    done
    if ! ip netns add "mmprobe$$" 2>/dev/null; then
        echo "SKIP: cannot create network namespaces here"
        exit 77
    fi
    ip netns del "mmprobe$$"
    if [ ! -x "$bin" ]; then
        echo "FAIL: $bin is not built"
        exit 1
    fi
}

netns_name() {
    printf '%s-%s\n' "$1" "$2"
}

netns_exec() {
    local prefix=$1 name=$2
    shift 2
    ip netns exec "$prefix-$name" "$@"
}

netns_ip() {
    ip -n "$1-$2" -4 -o addr show dev "$NETNS_IFNAME" scope global |
        awk '$4 ~ /\/24$/ { sub(/\/24$/, "", $4); print $4; exit }'
}

netns_mac() {
    ip -n "$1-$2" -o link show dev "$NETNS_IFNAME" |
        sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p'
}

# The switch port of member NAME is recorded as the alias of the member's eth0.
_netns_port_of() {
    ip -n "$1-$2" -o link show dev "$NETNS_IFNAME" | sed -n 's/.* alias \(p[0-9c]*\).*/\1/p'
}

netns_port_down() {
    local port
    port=$(_netns_port_of "$1" "$2") || return 1
    [ -n "$port" ] || { echo "netns: no switch port for $2" >&2; return 1; }
    ip -n "$1-switch" link set dev "$port" down
}

netns_port_up() {
    local port
    port=$(_netns_port_of "$1" "$2") || return 1
    [ -n "$port" ] || { echo "netns: no switch port for $2" >&2; return 1; }
    ip -n "$1-switch" link set dev "$port" up
}

_netns_member() {
    local prefix=$1 name=$2 port=$3 address=$4
    local ns="$prefix-$name"
    ip netns add "$ns" || return 1
    ip -n "$ns" link set dev lo up || return 1
    ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null || return 1
    ip -n "$prefix-switch" link add "$port" type veth peer name "$NETNS_IFNAME" netns "$ns" ||
        return 1
    ip -n "$prefix-switch" link set dev "$port" master br0 up || return 1
    ip -n "$ns" link set dev "$NETNS_IFNAME" alias "$port" || return 1
    ip -n "$ns" addr add "$address/24" dev "$NETNS_IFNAME" || return 1
    ip -n "$ns" link set dev "$NETNS_IFNAME" up || return 1
}

netns_segment_up() {
    if [ $# -lt 3 ]; then
        echo "usage: netns_segment_up PREFIX SUBNET NAME..." >&2
        return 2
    fi
    local prefix=$1 subnet=$2 name index=0
    shift 2
    if ! [[ $subnet =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
        echo "netns: SUBNET must be three octets like 10.77.3, not \"$subnet\"" >&2
        return 2
    fi
    if [ $# -gt 200 ]; then
        echo "netns: at most 200 members" >&2
        return 2
    fi
    for name in "$@"; do
        if ! [[ $name =~ ^[a-z0-9]{1,12}$ ]] || [ "$name" = switch ] || [ "$name" = client ]; then
            echo "netns: bad member name \"$name\" ([a-z0-9]{1,12}, not switch/client)" >&2
            return 2
        fi
    done
    ip netns add "$prefix-switch" || return 1
    ip -n "$prefix-switch" link set dev lo up || return 1
    # STP off and no forward delay: ports forward at once, as on an unmanaged switch.
    ip -n "$prefix-switch" link add br0 type bridge stp_state 0 forward_delay 0 || return 1
    ip -n "$prefix-switch" link set dev br0 up || return 1
    for name in "$@"; do
        index=$((index + 1))
        _netns_member "$prefix" "$name" "p$index" "$subnet.$index" || return 1
    done
    _netns_member "$prefix" client pc "$subnet.254" || return 1
}

netns_segment_down() {
    local prefix=$1 ns
    [ -n "$prefix" ] || { echo "netns_segment_down: PREFIX is empty" >&2; return 2; }
    # Members first, the switch last; deleting a namespace deletes its veth ends.
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case $ns in
        "$prefix-switch") ;;
        "$prefix"-*) ip netns del "$ns" 2>/dev/null ;;
        esac
    done
    if [ -e "/run/netns/$prefix-switch" ]; then
        ip netns del "$prefix-switch" 2>/dev/null
    fi
    return 0
}
