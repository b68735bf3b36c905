#!/usr/bin/env bash
# jepsen/check against small hand-made histories (jepsen/testdata/CASE/): a clean run passes,
# each kind of violation fails exactly the invariant it breaks, with its evidence, and bad input
# exits 2. Shows that the checkers can fail.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
check=$top_builddir/jepsen/check
data=$top_srcdir/jepsen/testdata
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmt-jcheck.$$.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAILED: $*"
    failures=$((failures + 1))
}

# expect CASE STATUS "inv=VERDICT ..." [EVIDENCE-PATTERN]
expect() {
    local name=$1 status=$2 verdicts=$3 pattern=${4:-} out rc pair inv want got
    out=$("$check" --dir "$data/$name" --md "$tmp/$name.md" --svg "$tmp/$name.svg" 2>&1)
    rc=$?
    echo "== $name: exit $rc"
    [ "$rc" = "$status" ] || fail "$name: exit status $rc, expected $status"$'\n'"$out"
    for pair in $verdicts; do
        inv=${pair%%=*}
        want=${pair#*=}
        got=$(awk -v inv="$inv" '$1 == inv { print $2; exit }' <<<"$out")
        [ "$got" = "$want" ] || fail "$name: $inv is '$got', expected $want"
    done
    if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
        fail "$name: no evidence matching /$pattern/ in:"$'\n'"$out"
    fi
    grep -q '^| one-vip-holder |' "$tmp/$name.md" || fail "$name: no invariant table in --md"
    head -c 200 "$tmp/$name.svg" | grep -q '<svg' || fail "$name: --svg is not an SVG"
    tail -n 1 "$tmp/$name.svg" | grep -q '</svg>' || fail "$name: --svg is cut short"
}

all_pass="one-vip-holder=PASS one-writer=PASS no-lost-write=PASS convergence=PASS liveness=PASS"
only() { # the verdicts with $1 failing and every other invariant passing
    echo "${all_pass/$1=PASS/$1=FAIL}"
}

expect clean 0 "$all_pass"
expect keepalived-failback 0 "$all_pass"
expect two-holders 1 "$(only one-vip-holder)" \
    'm1\+m2 hold the VIP together from \+3.100s to \+3.200s \(100.0 ms\)'
expect same-epoch 1 "$(only one-writer)" 'epoch 2 has ok writes on two servers'
expect stale-epoch 1 "$(only one-writer)" 'an ok write of epoch 1 on m1 began'
expect two-writers-no-epoch 1 \
    "one-vip-holder=FAIL one-writer=FAIL no-lost-write=PASS convergence=PASS liveness=PASS" \
    'ok writes on m1, then m2, then m1 again'
expect lost-insert 1 "$(only no-lost-write)" 'acknowledged row [0-9]+ is missing on m1, m2, s'
expect lost-increment 1 "$(only no-lost-write)" 'below the acknowledged value 74'
expect lost-update 1 "$(only no-lost-write)" 'both wrote 40'
expect divergence 1 "$(only convergence)" 'row 1000000999 is on m2, not on m1'
expect failover-without-fault 1 "$(only liveness)" 'epoch 1 -> 2 .* with no fault'
expect pause-without-fault 1 "$(only liveness)" 'no fault active or just ended'
expect stalled-after-heal 1 "$(only liveness)" 'no ARP announcement of the VIP after the heal'
expect stalled-refused 1 "$(only liveness)" \
    '25 time\(s\): MySQL [^ ]+: cannot connect \(error 1040: Too many connections\)'

# The evidence is the history itself: the record that proves the failure, quoted.
"$check" --dir "$data/stale-epoch" |
    grep -q '^    client.jsonl:100: {"type":"op".*"value":1999999999' ||
    fail "stale-epoch: the offending record is not quoted with its file and line"

# --json: one document with a verdict per invariant.
"$check" --dir "$data/lost-insert" --json >"$tmp/lost.json"
[ $? = 1 ] || fail "--json: exit status"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = {i["name"]: i["verdict"] for i in d["invariants"]}
assert d["verdict"] == "FAIL", d["verdict"]
assert v["no-lost-write"] == "FAIL" and v["one-writer"] == "PASS", v
lost = [i for i in d["invariants"] if i["name"] == "no-lost-write"][0]
assert lost["counts"]["missing_inserts"] == 1, lost
assert d["pauses"][0]["fault"] == "kill-mysqld"' "$tmp/lost.json" || fail "--json content"
fi

# Bad input exits 2 and names the file and line.
mkdir -p "$tmp/bad" "$tmp/empty" "$tmp/nemesis"
cp "$data/clean/"* "$tmp/bad/"
sed -i '3s/.*/{"type":"op", broken/' "$tmp/bad/client.jsonl"
out=$("$check" --dir "$tmp/bad" 2>&1)
rc=$?
[ $rc = 2 ] || fail "a broken line: exit $rc, expected 2"
grep -q 'client.jsonl:3' <<<"$out" || fail "a broken line is not named: $out"
"$check" --dir "$tmp/empty" >/dev/null 2>&1
[ $? = 2 ] || fail "a directory without client.jsonl: expected exit 2"
cp "$data/clean/"* "$tmp/nemesis/"
echo '{"type":"nemesis","fault":"pause-mysqld","target":"m2","phase":"end","t":1000500}' \
    >>"$tmp/nemesis/nemesis.jsonl"
"$check" --dir "$tmp/nemesis" >/dev/null 2>&1
[ $? = 2 ] || fail "a fault that ends without starting: expected exit 2"
"$check" --bogus >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown option: expected exit 2"

if [ $failures -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all jepsen/check cases passed"
