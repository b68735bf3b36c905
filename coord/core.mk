# The core (issue 2): record, codec, raft FSM and node glue, control socket, daemon, mmctl.
# Kept apart from coord/local.mk and raft/local.mk while those are written in parallel.
coord_libcoord_a_SOURCES += \
	coord/codec.c coord/codec.h \
	coord/record.c coord/record.h \
	coord/control.c coord/control.h \
	coord/lease.c coord/lease.h \
	coord/decide.c coord/decide.h \
	coord/switchover.c coord/switchover.h \
	coord/coordinator.c coord/coordinator.h
coord_libcoord_a_CFLAGS += $(JANSSON_CFLAGS) $(UV_CFLAGS)

raft_libraftglue_a_SOURCES += \
	raft/fsm.c raft/fsm.h \
	raft/node.c raft/node.h

CORE_LIBS = raft/libraftglue.a coord/libcoord.a $(RAFT_LIBS) $(UV_LIBS) $(CRYPTO_LIBS) \
	$(JANSSON_LIBS) $(INIH_LIBS) -lm

sbin_PROGRAMS += coord/mmcoordd coord/mmctl
coord_mmcoordd_SOURCES = coord/daemon.c coord/daemon.h coord/host.c coord/host.h
coord_mmcoordd_CFLAGS = $(AM_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS) $(JANSSON_CFLAGS) \
	$(MARIADB_CFLAGS) $(NL_CFLAGS)
coord_mmcoordd_LDADD = $(CORE_LIBS) netops/libnetops.a mysql/libmmmysql.a coord/libcoord.a \
	$(MARIADB_LIBS) $(NL_LIBS) -lpthread
coord_mmctl_SOURCES = coord/mmctl.c
coord_mmctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(MARIADB_CFLAGS)
coord_mmctl_LDADD = mysql/libmmmysql.a coord/libcoord.a $(MARIADB_LIBS) $(JANSSON_LIBS) \
	$(INIH_LIBS) $(UV_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_codec tests/unit/test_record tests/fixture/test_fixture \
	tests/unit/test_lease
TESTS += tests/unit/test_codec tests/unit/test_record tests/fixture/test_fixture \
	tests/unit/test_lease

check_PROGRAMS += tests/unit/test_decide tests/unit/test_coordinator tests/unit/test_switchover
TESTS += tests/unit/test_decide tests/unit/test_coordinator tests/unit/test_switchover
tests_unit_test_switchover_SOURCES = tests/unit/test_switchover.c
tests_unit_test_switchover_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_switchover_LDADD = coord/libcoord.a mysql/libmmmysql.a $(CHECK_LIBS) \
	$(JANSSON_LIBS) -lm
tests_unit_test_coordinator_SOURCES = tests/unit/test_coordinator.c
tests_unit_test_coordinator_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_coordinator_LDADD = coord/libcoord.a mysql/libmmmysql.a $(CHECK_LIBS) \
	$(JANSSON_LIBS) -lm
tests_unit_test_decide_SOURCES = tests/unit/test_decide.c
tests_unit_test_decide_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_decide_LDADD = coord/libcoord.a mysql/libmmmysql.a $(CHECK_LIBS)

tests_unit_test_lease_SOURCES = tests/unit/test_lease.c
tests_unit_test_lease_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lease_LDADD = coord/libcoord.a $(CHECK_LIBS) -lm

tests_unit_test_codec_SOURCES = tests/unit/test_codec.c
tests_unit_test_codec_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_codec_LDADD = coord/libcoord.a $(CHECK_LIBS)

tests_unit_test_record_SOURCES = tests/unit/test_record.c
tests_unit_test_record_CFLAGS = $(TEST_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_record_LDADD = $(CORE_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/fixture/test_failover_sim
TESTS += tests/fixture/test_failover_sim
tests_fixture_test_failover_sim_SOURCES = tests/fixture/test_failover_sim.c
tests_fixture_test_failover_sim_CFLAGS = $(TEST_CFLAGS) $(RAFT_CFLAGS)
tests_fixture_test_failover_sim_LDADD = $(CORE_LIBS) mysql/libmmmysql.a $(CHECK_LIBS)

tests_fixture_test_fixture_SOURCES = tests/fixture/test_fixture.c
tests_fixture_test_fixture_CFLAGS = $(TEST_CFLAGS) $(RAFT_CFLAGS)
tests_fixture_test_fixture_LDADD = $(CORE_LIBS) $(CHECK_LIBS)

# Real processes on loopback (no root needed).
TESTS += tests/lab/test_cluster.sh tests/lab/test_valgrind.sh tests/lab/test_mmctl_check.sh \
	tests/lab/test_failover.sh
EXTRA_DIST += tests/lab/test_cluster.sh tests/lab/test_valgrind.sh tests/valgrind.supp \
	tests/lab/test_mmctl_check.sh tests/lab/test_failover.sh

# Fuzz targets for the record's decoders and the control socket's request handling: replayed
# over their seed corpora (plus deterministic mutations) in `make check`, libFuzzer-driven with
# --enable-fuzzing (see tests/fuzz/run-fuzz-replay.sh).
check_PROGRAMS += tests/fuzz/fuzz_command tests/fuzz/fuzz_control
if FUZZING
tests_fuzz_fuzz_command_SOURCES = tests/fuzz/fuzz_command.c coord/codec.c coord/record.c
tests_fuzz_fuzz_command_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_command_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c coord/control.c
tests_fuzz_fuzz_control_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(UV_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_control_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_control_LDADD = $(JANSSON_LIBS) $(UV_LIBS)
else
tests_fuzz_fuzz_command_SOURCES = tests/fuzz/fuzz_command.c tests/fuzz/replay.c
tests_fuzz_fuzz_command_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_command_LDFLAGS = $(AM_LDFLAGS)
tests_fuzz_fuzz_command_LDADD = coord/libcoord.a
tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c tests/fuzz/replay.c
tests_fuzz_fuzz_control_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_control_LDFLAGS = $(AM_LDFLAGS)
tests_fuzz_fuzz_control_LDADD = coord/libcoord.a $(JANSSON_LIBS) $(UV_LIBS)
endif
TESTS += tests/fuzz/fuzz_command.sh tests/fuzz/fuzz_control.sh
EXTRA_DIST += tests/fuzz/fuzz_command.sh tests/fuzz/fuzz_control.sh \
	tests/fuzz/corpus/command tests/fuzz/corpus/control
EXTRA_DIST += tests/bench
