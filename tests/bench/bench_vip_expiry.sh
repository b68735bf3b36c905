#!/usr/bin/env bash
# Benchmark (not a test): how late the kernel removes an IPv4 address whose lifetime ran out,
# the K of the VIP's kernel backstop (vip_lifetime_late_ms, coord/lease.h).
#   tests/bench/bench_vip_expiry.sh [TRIALS] [LIFETIME_S]   (defaults 30 and 1)
# In a network namespace of its own (a veth pair, nothing routed), TRIALS times: set the
# address with valid_lft LIFETIME_S, then wait; `ip -ts monitor address` stamps the add and the
# kernel's removal, and the lateness is (removal - add - LIFETIME_S). Trials are spaced at
# random so that they fall anywhere in the kernel's second. Prints every lateness and the
# median, p99 and max in ms. Nothing else may add addresses in the namespace meanwhile (it is
# private); on kernels that share one lifetime check between namespaces (Debian 12's 6.1),
# address changes elsewhere on the host can add up to a second.
set -u
trials=${1:-30}
lifetime=${2:-1}
[ "$(id -u)" = 0 ] || { echo "bench_vip_expiry: needs root (network namespaces)" >&2; exit 1; }
ns=mmbve$$
raw=$(mktemp /tmp/mmbve.XXXXXX)
ip netns add "$ns" || exit 1
mon=""
cleanup() {
    [ -z "$mon" ] || kill "$mon" 2> /dev/null
    ip netns del "$ns" 2> /dev/null
    rm -f "$raw"
}
trap cleanup EXIT
ip -n "$ns" link add d0 type veth peer name d1
ip -n "$ns" link set d1 up
ip -n "$ns" link set d0 up
ip -n "$ns" -ts monitor address > "$raw" &
mon=$!
sleep 0.3
echo "kernel $(uname -r), valid_lft $lifetime, $trials trials"
for _ in $(seq "$trials"); do
    ip -n "$ns" addr replace 10.99.0.1/32 dev d0 valid_lft "$lifetime" preferred_lft "$lifetime"
    sleep "$(awk -v l="$lifetime" -v r="$RANDOM" 'BEGIN { printf "%.3f", l + 0.6 + r / 32768 * 0.5 }')"
done
sleep 0.5
python3 - "$raw" "$lifetime" << 'EOF'
import datetime, re, sys
lifetime = float(sys.argv[2])
added, late = None, []
for line in open(sys.argv[1]):
    m = re.match(r'\[(\S+)\]\s*(Deleted )?.*10\.99\.0\.1', line)
    if not m:
        continue
    t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
    if m.group(2):
        if added is not None:
            late.append((t - added - lifetime) * 1000)
        added = None
    else:
        added = t
if not late:
    sys.exit("bench_vip_expiry: no removal seen")
print(" ".join("%.0f" % x for x in late))
late.sort()
n = len(late)
med = late[n // 2] if n % 2 else (late[n // 2 - 1] + late[n // 2]) / 2
p99 = late[min(n - 1, int(0.99 * n + 0.999) - 1)]
print("removal after the lifetime (ms): median %.0f   p99 %.0f   max %.0f   (%d trials)"
      % (med, p99, late[-1], n))
EOF
