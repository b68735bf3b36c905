# mysql/: the daemon's hands on the database. GTID-set algebra (pure), then the connections,
# probes, fencing and repointing below.
noinst_LIBRARIES += mysql/libmmmysql.a
mysql_libmmmysql_a_SOURCES = mysql/gtid.c mysql/gtid.h

# GTID sets: unit tests, and the fuzz target. Without --enable-fuzzing the target is linked with
# the replay driver and `make check` runs it over the seed corpus plus deterministic mutations;
# with it, libFuzzer drives the target and gtid.c is compiled in again with coverage.
check_PROGRAMS += tests/unit/test_gtid tests/fuzz/fuzz_gtid
tests_unit_test_gtid_SOURCES = tests/unit/test_gtid.c
tests_unit_test_gtid_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_gtid_LDADD = mysql/libmmmysql.a $(CHECK_LIBS)
if FUZZING
tests_fuzz_fuzz_gtid_SOURCES = tests/fuzz/fuzz_gtid.c mysql/gtid.c mysql/gtid.h
tests_fuzz_fuzz_gtid_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_gtid_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
else
tests_fuzz_fuzz_gtid_SOURCES = tests/fuzz/fuzz_gtid.c tests/fuzz/replay.c
tests_fuzz_fuzz_gtid_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_gtid_LDFLAGS = $(AM_LDFLAGS)
tests_fuzz_fuzz_gtid_LDADD = mysql/libmmmysql.a
endif
TESTS += tests/unit/test_gtid tests/fuzz/fuzz_gtid.sh
EXTRA_DIST += tests/fuzz/run-fuzz-replay.sh tests/fuzz/fuzz_gtid.sh tests/fuzz/corpus/gtid

# --- connections, probes, fencing (mysql engineer) ---
# Connections, probes, fencing, repointing and preflight checks. These need the connector,
# inih, libuv and jansson headers; programs linking them use $(MYSQL_IO_LIBS), which puts
# coord/libcoord.a (the clock) after mysql/libmmmysql.a as static linking requires.
mysql_libmmmysql_a_SOURCES += \
	mysql/rows.c mysql/rows.h \
	mysql/dialect.c mysql/dialect.h \
	mysql/conn.c mysql/conn.h \
	mysql/credentials.c mysql/credentials.h \
	mysql/probe.c mysql/probe.h \
	mysql/fence.c mysql/fence.h \
	mysql/repoint.c mysql/repoint.h \
	mysql/worker.c mysql/worker.h \
	mysql/check.c mysql/check.h \
	mysql/epoch.c mysql/epoch.h \
	mysql/semisync.c mysql/semisync.h
mysql_libmmmysql_a_CFLAGS = $(AM_CFLAGS) $(MARIADB_CFLAGS) $(INIH_CFLAGS) $(UV_CFLAGS) \
	$(JANSSON_CFLAGS)
MYSQL_IO_LIBS = mysql/libmmmysql.a coord/libcoord.a $(MARIADB_LIBS) $(INIH_LIBS) $(UV_LIBS) \
	$(JANSSON_LIBS) -lpthread

check_PROGRAMS += tests/unit/test_mysql_dialect
TESTS += tests/unit/test_mysql_dialect
tests_unit_test_mysql_dialect_SOURCES = tests/unit/test_mysql_dialect.c
tests_unit_test_mysql_dialect_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_mysql_dialect_LDADD = mysql/libmmmysql.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_mysql_check
TESTS += tests/unit/test_mysql_check
tests_unit_test_mysql_check_SOURCES = tests/unit/test_mysql_check.c
tests_unit_test_mysql_check_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_mysql_check_LDADD = $(MYSQL_IO_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_mysql_semisync
TESTS += tests/unit/test_mysql_semisync
tests_unit_test_mysql_semisync_SOURCES = tests/unit/test_mysql_semisync.c
tests_unit_test_mysql_semisync_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_mysql_semisync_LDADD = $(MYSQL_IO_LIBS) $(CHECK_LIBS)
check_PROGRAMS += tests/unit/test_mysql_epoch
TESTS += tests/unit/test_mysql_epoch
tests_unit_test_mysql_epoch_SOURCES = tests/unit/test_mysql_epoch.c
tests_unit_test_mysql_epoch_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_mysql_epoch_LDADD = $(MYSQL_IO_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_mysql_conn
TESTS += tests/unit/test_mysql_conn
tests_unit_test_mysql_conn_SOURCES = tests/unit/test_mysql_conn.c
tests_unit_test_mysql_conn_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_mysql_conn_LDADD = $(MYSQL_IO_LIBS) $(CHECK_LIBS)

# Lab test against real MariaDB servers (skips without mariadbd).
check_PROGRAMS += tests/lab/mysql_lab
tests_lab_mysql_lab_SOURCES = tests/lab/mysql_lab.c
tests_lab_mysql_lab_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(JANSSON_CFLAGS)
tests_lab_mysql_lab_LDADD = $(MYSQL_IO_LIBS)
TESTS += tests/lab/test_mysql.sh
EXTRA_DIST += tests/lab/test_mysql.sh
EXTRA_DIST += mysql/bench-probe.sh
