# jepsen/: see the directory's files; fragments add to the variables declared in Makefile.am.
# jepsen/lab: the lab of three hosts in network namespaces (see jepsen/README.md).
dist_noinst_SCRIPTS += jepsen/lab
EXTRA_DIST += jepsen/README.md tests/lab/test_lab.sh
TESTS += tests/lab/test_lab.sh

# jepsen-run (issue 9): the independent observers (VIP by netlink per host, ARP on the bridge).
noinst_PROGRAMS += jepsen/observe
jepsen_observe_SOURCES = jepsen/observe.c
jepsen_observe_CFLAGS = $(AM_CFLAGS) $(NL_CFLAGS) $(JANSSON_CFLAGS)
jepsen_observe_LDADD = netops/libnetops.a $(NL_LIBS) $(JANSSON_LIBS)
# The orchestrator and its faults (jepsen/README.md, "Chaos runs"); the benchmark (not a test).
dist_noinst_SCRIPTS += jepsen/run jepsen/bench
EXTRA_DIST += jepsen/nemesis.sh

# jepsen-client (issue 9): the workload client, the checkers and the report (jepsen/HISTORY.md).
noinst_PROGRAMS += jepsen/client jepsen/check
jepsen_client_SOURCES = jepsen/client.c jepsen/history.c jepsen/history.h
jepsen_client_CFLAGS = $(AM_CFLAGS) $(MARIADB_CFLAGS) $(JANSSON_CFLAGS)
jepsen_client_LDADD = $(MYSQL_IO_LIBS)
jepsen_check_SOURCES = jepsen/check.c jepsen/checks.c jepsen/checks.h jepsen/history.c \
	jepsen/history.h jepsen/report.c jepsen/report.h
jepsen_check_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
jepsen_check_LDADD = $(JANSSON_LIBS) -lm
# Tests: the checkers against hand-made histories (each violation, a clean run, bad input) and
# the client against a real mariadbd killed and paused mid-run (skips without root/mariadbd).
TESTS += jepsen/test-check.sh jepsen/test-client.sh
EXTRA_DIST += jepsen/HISTORY.md jepsen/testdata jepsen/test-check.sh jepsen/test-client.sh
check_PROGRAMS += tests/unit/test_jepsen_history
TESTS += tests/unit/test_jepsen_history
tests_unit_test_jepsen_history_SOURCES = tests/unit/test_jepsen_history.c jepsen/history.c \
	jepsen/history.h jepsen/checks.c jepsen/checks.h
tests_unit_test_jepsen_history_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_jepsen_history_LDADD = $(JANSSON_LIBS) $(CHECK_LIBS) -lm
