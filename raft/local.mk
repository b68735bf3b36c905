# raft/: glue between the raft library and mmcoord (transport, fsm, io).
noinst_LIBRARIES += raft/libraftglue.a
raft_libraftglue_a_SOURCES = raft/transport.c raft/transport.h
raft_libraftglue_a_CFLAGS = $(AM_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS) $(CRYPTO_CFLAGS)

check_PROGRAMS += tests/unit/test_transport
TESTS += tests/unit/test_transport
tests_unit_test_transport_SOURCES = tests/unit/test_transport.c
tests_unit_test_transport_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS)
tests_unit_test_transport_LDADD = raft/libraftglue.a $(RAFT_LIBS) $(UV_LIBS) $(CRYPTO_LIBS) \
	$(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_transport_raft
TESTS += tests/unit/test_transport_raft
tests_unit_test_transport_raft_SOURCES = tests/unit/test_transport_raft.c
tests_unit_test_transport_raft_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS)
tests_unit_test_transport_raft_LDADD = raft/libraftglue.a $(RAFT_LIBS) $(UV_LIBS) \
	$(CRYPTO_LIBS) $(CHECK_LIBS)

# The handshake decoders' fuzz target: the replay driver over the seed corpus in `make check`,
# libFuzzer with --enable-fuzzing (see tests/fuzz/run-fuzz-replay.sh).
check_PROGRAMS += tests/fuzz/fuzz_handshake
if FUZZING
tests_fuzz_fuzz_handshake_SOURCES = tests/fuzz/fuzz_handshake.c raft/transport.c raft/transport.h
tests_fuzz_fuzz_handshake_CFLAGS = $(AM_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS) $(CRYPTO_CFLAGS) \
	-fsanitize=fuzzer
tests_fuzz_fuzz_handshake_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_handshake_LDADD = $(RAFT_LIBS) $(UV_LIBS) $(CRYPTO_LIBS)
else
tests_fuzz_fuzz_handshake_SOURCES = tests/fuzz/fuzz_handshake.c tests/fuzz/replay.c
tests_fuzz_fuzz_handshake_CFLAGS = $(AM_CFLAGS) $(RAFT_CFLAGS) $(UV_CFLAGS)
# Defined in both branches: automake uses the per-target variable instead of AM_LDFLAGS.
tests_fuzz_fuzz_handshake_LDFLAGS = $(AM_LDFLAGS)
tests_fuzz_fuzz_handshake_LDADD = raft/libraftglue.a $(RAFT_LIBS) $(UV_LIBS) $(CRYPTO_LIBS)
endif
TESTS += tests/fuzz/fuzz_handshake.sh
EXTRA_DIST += tests/fuzz/fuzz_handshake.sh tests/fuzz/corpus/handshake
