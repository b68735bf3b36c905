# tests/: unit tests (pure logic), raft fixture tests, lab tests (real processes in
# namespaces), fuzz targets, benchmarks. Each area lists its own tests in its local.mk.
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = $(CHECK_LIBS)
EXTRA_DIST += tests/lib
EXTRA_DIST += tests/fuzz/require.h
