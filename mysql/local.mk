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
