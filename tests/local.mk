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
