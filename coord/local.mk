# coord/: the cluster record, decisions, leases, the daemon, the control socket and mmctl.
noinst_LIBRARIES += coord/libcoord.a
coord_libcoord_a_SOURCES = \
	coord/clock.c coord/clock.h \
	coord/log.c coord/log.h
# config: libcoord.a users link $(INIH_LIBS).
coord_libcoord_a_SOURCES += coord/config.c coord/config.h
coord_libcoord_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = coord/libcoord.a $(INIH_LIBS) $(CHECK_LIBS)
