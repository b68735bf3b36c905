# tests/: unit tests (pure logic), raft fixture tests, lab tests (real processes in
# namespaces), fuzz targets. Each area's own tests are listed in tests/<kind>/local.mk fragments.
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = $(CHECK_LIBS)
EXTRA_DIST += tests/lib
