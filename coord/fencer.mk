# The fencer (issue 7): mmcoord-fencer enforces the writer's lease deadline when the daemon cannot;
# the protocol and the daemon-side client go into libcoord.a (the client needs $(UV_LIBS)).
coord_libcoord_a_SOURCES += \
	coord/fencer_proto.c coord/fencer_proto.h \
	coord/fencer_client.c coord/fencer_client.h

sbin_PROGRAMS += coord/mmcoord-fencer
coord_mmcoord_fencer_SOURCES = coord/fencer.c
coord_mmcoord_fencer_CFLAGS = $(AM_CFLAGS) $(MARIADB_CFLAGS) $(NL_CFLAGS) $(UV_CFLAGS)
coord_mmcoord_fencer_LDADD = mysql/libmmmysql.a netops/libnetops.a coord/libcoord.a \
	$(MARIADB_LIBS) $(NL_LIBS) $(INIH_LIBS) $(UV_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_fencer_proto
TESTS += tests/unit/test_fencer_proto
tests_unit_test_fencer_proto_SOURCES = tests/unit/test_fencer_proto.c
tests_unit_test_fencer_proto_CFLAGS = $(TEST_CFLAGS) $(UV_CFLAGS)
tests_unit_test_fencer_proto_LDADD = coord/libcoord.a $(UV_LIBS) $(CHECK_LIBS)

# The client against the real program (spawned detached; no root, no MySQL needed).
check_PROGRAMS += tests/unit/test_fencer_client
TESTS += tests/unit/test_fencer_client
tests_unit_test_fencer_client_SOURCES = tests/unit/test_fencer_client.c
tests_unit_test_fencer_client_CFLAGS = $(TEST_CFLAGS) $(UV_CFLAGS)
tests_unit_test_fencer_client_LDADD = coord/libcoord.a $(UV_LIBS) $(CHECK_LIBS)

# Fuzz target for the line protocol (wired like fuzz_command in coord/core.mk).
check_PROGRAMS += tests/fuzz/fuzz_fencer
if FUZZING
tests_fuzz_fuzz_fencer_SOURCES = tests/fuzz/fuzz_fencer.c coord/fencer_proto.c
tests_fuzz_fuzz_fencer_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_fencer_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
else
tests_fuzz_fuzz_fencer_SOURCES = tests/fuzz/fuzz_fencer.c tests/fuzz/replay.c
tests_fuzz_fuzz_fencer_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_fencer_LDFLAGS = $(AM_LDFLAGS)
tests_fuzz_fuzz_fencer_LDADD = coord/libcoord.a
endif
TESTS += tests/fuzz/fuzz_fencer.sh
EXTRA_DIST += tests/fuzz/fuzz_fencer.sh tests/fuzz/corpus/fencer

# Lab test in a network namespace against a real MariaDB (root and mariadbd; skips otherwise).
TESTS += tests/lab/test_fencer.sh
EXTRA_DIST += tests/lab/test_fencer.sh
