# tests/: unit tests (pure logic), raft fixture tests, lab tests (real processes in
# namespaces), fuzz targets, benchmarks. Each area lists its own tests in its local.mk.
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = $(CHECK_LIBS)
EXTRA_DIST += tests/lib
EXTRA_DIST += tests/fuzz/require.h

# Issue 7's fault scenarios on jepsen/lab, end to end (need root and mariadbd, else skip).
FAILOVER_LAB_TESTS = tests/lab/test_failover_daemon.sh tests/lab/test_failover_host.sh \
	tests/lab/test_failover_standby.sh tests/lab/test_failover_async.sh tests/lab/test_vip_lifetime.sh
TESTS += $(FAILOVER_LAB_TESTS)
EXTRA_DIST += $(FAILOVER_LAB_TESTS)

# jepsen-run (issue 9): the observers in namespaces, and a short chaos run on a lab of its own
# (root, mariadbd, nft; the run test skips until jepsen/client and jepsen/check are built).
JEPSEN_RUN_LAB_TESTS = tests/lab/test_jepsen_observe.sh tests/lab/test_jepsen_run.sh
TESTS += $(JEPSEN_RUN_LAB_TESTS)
EXTRA_DIST += $(JEPSEN_RUN_LAB_TESTS)

# Issue 8 on jepsen/lab, end to end: switchovers under writes, refusals, maintenance (root,
# mariadbd, jq; else skip). tests/bench/bench_switchover.sh [N] prints the write pauses.
SWITCHOVER_LAB_TESTS = tests/lab/test_switchover.sh
TESTS += $(SWITCHOVER_LAB_TESTS)
EXTRA_DIST += $(SWITCHOVER_LAB_TESTS)

# Issue 8: a daemon killed at each step of a switchover (the test hook
# MMC_TEST_SWITCHOVER_STEP_DELAY_MS holds each step), and the lagging and errant targets refused
# (root, mariadbd, jq; else skip); the hook and a lost OPENED said again, at the unit level.
SWITCHOVER_FAULT_LAB_TESTS = tests/lab/test_switchover_crash.sh tests/lab/test_switchover_refusals.sh
TESTS += $(SWITCHOVER_FAULT_LAB_TESTS)
EXTRA_DIST += $(SWITCHOVER_FAULT_LAB_TESTS)
check_PROGRAMS += tests/unit/test_switchover_crash
TESTS += tests/unit/test_switchover_crash
tests_unit_test_switchover_crash_SOURCES = tests/unit/test_switchover_crash.c
tests_unit_test_switchover_crash_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_switchover_crash_LDADD = coord/libcoord.a mysql/libmmmysql.a $(TEST_LIBS) \
	$(JANSSON_LIBS) -lm

# raft/node.c's I/O guard: a failed raft write ends the daemon with status 3 before libraft can
# write later entries behind the gap; on a fake raft_io, on a real disk made immutable, and
# with three mmcoordd on loopback (root and a file system with the immutable flag, else skip).
TESTS += tests/lab/test_raft_unwritable.sh
EXTRA_DIST += tests/lab/test_raft_unwritable.sh
check_PROGRAMS += tests/unit/test_node_io_fail tests/unit/test_node_io_disk
TESTS += tests/unit/test_node_io_fail tests/unit/test_node_io_disk
tests_unit_test_node_io_fail_SOURCES = tests/unit/test_node_io_fail.c
tests_unit_test_node_io_fail_CFLAGS = $(TEST_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS)
tests_unit_test_node_io_fail_LDADD = $(CORE_LIBS) $(TEST_LIBS)
tests_unit_test_node_io_disk_SOURCES = tests/unit/test_node_io_disk.c
tests_unit_test_node_io_disk_CFLAGS = $(AM_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS)
tests_unit_test_node_io_disk_LDADD = $(CORE_LIBS)

# The gratuitous ARP announcer's gate (netops/arp.h): unit cases on a closed socket, and the
# same on the wire over a veth pair in a private network namespace (root; else "skipped").
check_PROGRAMS += tests/unit/test_arp_gate
TESTS += tests/unit/test_arp_gate
tests_unit_test_arp_gate_SOURCES = tests/unit/test_arp_gate.c
tests_unit_test_arp_gate_CFLAGS = $(TEST_CFLAGS) $(UV_CFLAGS)
tests_unit_test_arp_gate_LDADD = netops/libnetops.a $(UV_LIBS) $(TEST_LIBS)

# Issue 7: a new writer whose own SQL thread was left stopped with acknowledged writes in its
# relay log starts it and applies them before it opens (host.c:open_after_catch_up), with s
# holding them too and with its relay log their only live copy (root, mariadbd, jq, nft).
TESTS += tests/lab/test_failover_stopped_applier.sh
EXTRA_DIST += tests/lab/test_failover_stopped_applier.sh

# Issue 7: a restarted daemon changes nothing in replication until its record has caught up
# with the cluster (a report of its own applied) (root, mariadbd, jq, nft).
TESTS += tests/lab/test_restart_stale_record.sh
EXTRA_DIST += tests/lab/test_restart_stale_record.sh
