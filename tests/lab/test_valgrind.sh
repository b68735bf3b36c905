#!/bin/bash
# mmcoordd is valgrind-clean: one of three loopback daemons runs under memcheck through
# election, reports, the loss and return of a peer, control requests, and SIGTERM; memcheck must
# report no error and no leak, and the daemon must exit 0.
set -u
. "$top_srcdir/tests/lib/cluster.sh"
command -v valgrind > /dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
command -v jq > /dev/null || { echo "SKIP: jq is not installed"; exit 77; }
# clang links the ASan runtime statically, so look for its symbols rather than a library.
if grep -q -a __asan_init "$MMCOORDD"; then
    echo "SKIP: this build uses AddressSanitizer, which cannot run under valgrind"
    exit 77
fi
dir=$(mktemp -d /tmp/mmc-valgrind.XXXXXX)
failed=1
cleanup() {
    cluster_stop_all
    [ "$failed" = 0 ] || { for f in "$dir"/*.log; do echo "---- $f"; tail -n 40 "$f"; done; }
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cluster_init "$dir"
CLUSTER_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --suppressions=$top_srcdir/tests/valgrind.supp --log-file=$dir/valgrind.txt" \
    cluster_start m1
cluster_start m2
cluster_start s
has_leader() { [ -n "$(cluster_leader m1)" ]; }
wait_for 60 has_leader || fail "m1 under valgrind never saw a leader"
reports() { [ "$(cluster_ctl m1 status --json | jq '[.nodes[] | select(.report != null)] | length')" = 3 ]; }
wait_for 30 reports || fail "m1 did not apply every node's report"
# Lose a peer and get it back: connections are torn down and rebuilt on m1.
cluster_kill m2 KILL
sleep 2
m2_started() { cluster_ctl m1 status --json | jq -r '.nodes[] | select(.id == "m2") | .report.started_at'; }
before=$(m2_started)
sleep 1 # a new start time differs from the old one by at least a second
cluster_start m2
m2_back() { [ "$(m2_started)" != "$before" ]; }
wait_for 30 m2_back || fail "m1 did not apply a report from the restarted m2"
cluster_ctl m1 status > /dev/null || fail "status"
pid=$(cat "$dir/m1.pid")
kill -TERM "$pid"
wait "$pid"
rc=$?
rm -f "$dir/m1.pid"
if [ "$rc" != 0 ] || [ -s "$dir/valgrind.txt" ]; then
    cat "$dir/valgrind.txt"
    fail "memcheck: exit status $rc"
fi
failed=0
echo "PASS: no memcheck error, no leak"
