# The core (issue 2): record, codec, raft FSM and node glue, control socket, daemon, mmctl.
# Kept apart from coord/local.mk and raft/local.mk while those are written in parallel.
coord_libcoord_a_SOURCES += \
	coord/codec.c coord/codec.h \
	coord/record.c coord/record.h

noinst_LIBRARIES += raft/libraftfsm.a
raft_libraftfsm_a_SOURCES = raft/fsm.c raft/fsm.h
raft_libraftfsm_a_CFLAGS = $(AM_CFLAGS) $(RAFT_CFLAGS)

check_PROGRAMS += tests/unit/test_codec tests/unit/test_record tests/fixture/test_fixture
TESTS += tests/unit/test_codec tests/unit/test_record tests/fixture/test_fixture

tests_unit_test_codec_SOURCES = tests/unit/test_codec.c
tests_unit_test_codec_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_codec_LDADD = coord/libcoord.a $(CHECK_LIBS)

tests_unit_test_record_SOURCES = tests/unit/test_record.c
tests_unit_test_record_CFLAGS = $(TEST_CFLAGS) $(RAFT_CFLAGS)
tests_unit_test_record_LDADD = raft/libraftfsm.a coord/libcoord.a $(RAFT_LIBS) $(CHECK_LIBS)

tests_fixture_test_fixture_SOURCES = tests/fixture/test_fixture.c
tests_fixture_test_fixture_CFLAGS = $(TEST_CFLAGS) $(RAFT_CFLAGS)
tests_fixture_test_fixture_LDADD = raft/libraftfsm.a coord/libcoord.a $(RAFT_LIBS) $(CHECK_LIBS)
