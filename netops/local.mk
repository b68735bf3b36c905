# netops/: the VIP on the network: address add/remove (netlink), gratuitous ARP, link and
# address watch. See docs/netops.md.
noinst_LIBRARIES += netops/libnetops.a
netops_libnetops_a_SOURCES = \
	netops/vip.c netops/vip.h \
	netops/arp.c netops/arp.h \
	netops/watch.c netops/watch.h \
	netops/tcpreset.c netops/tcpreset.h \
	netops/sockreset.c netops/sockreset.h \
	netops/error.c netops/error.h
netops_libnetops_a_CFLAGS = $(AM_CFLAGS) $(NL_CFLAGS) $(UV_CFLAGS)

# Operator and test tool: mmc-vip add|del|has|announce|watch IFACE ADDR/LEN, and
# mmc-vip reset IFACE ADDR SECONDS (the TCP reset responder), mmc-vip wake ADDR (sockreset.h).
noinst_PROGRAMS += netops/mmc-vip
netops_mmc_vip_SOURCES = netops/mmc-vip.c
netops_mmc_vip_CFLAGS = $(AM_CFLAGS) $(NL_CFLAGS) $(UV_CFLAGS)
netops_mmc_vip_LDADD = netops/libnetops.a $(NL_LIBS) $(UV_LIBS)

check_PROGRAMS += tests/unit/test_netops
TESTS += tests/unit/test_netops
tests_unit_test_netops_SOURCES = tests/unit/test_netops.c
tests_unit_test_netops_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(NL_CFLAGS) $(UV_CFLAGS)
tests_unit_test_netops_LDADD = netops/libnetops.a $(NL_LIBS) $(UV_LIBS) $(CHECK_LIBS)

# Lab test in network namespaces (root; skips otherwise). Uses netops/mmc-vip and
# tests/lib/netns.sh (distributed with tests/lib).
TESTS += tests/lab/test_netops.sh
EXTRA_DIST += tests/lab/test_netops.sh

# Benchmark (not a test): median/max of add->first GARP and move->first connect over 20 moves.
dist_noinst_SCRIPTS += netops/bench-vip.sh

# TCP reset responder (netops/tcpreset.h): the frame builder and its BPF filter, unit-tested
# and fuzzed (the replay driver in `make check`, libFuzzer with --enable-fuzzing), and a lab
# test in namespaces (root; skips otherwise).
check_PROGRAMS += tests/unit/test_tcpreset tests/fuzz/fuzz_tcpreset
TESTS += tests/unit/test_tcpreset
tests_unit_test_tcpreset_SOURCES = tests/unit/test_tcpreset.c
tests_unit_test_tcpreset_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(UV_CFLAGS)
tests_unit_test_tcpreset_LDADD = netops/libnetops.a $(UV_LIBS) $(CHECK_LIBS)
if FUZZING
tests_fuzz_fuzz_tcpreset_SOURCES = tests/fuzz/fuzz_tcpreset.c \
	netops/tcpreset.c netops/tcpreset.h netops/error.c netops/error.h
tests_fuzz_fuzz_tcpreset_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_tcpreset_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_tcpreset_LDADD = $(UV_LIBS)
else
tests_fuzz_fuzz_tcpreset_SOURCES = tests/fuzz/fuzz_tcpreset.c tests/fuzz/replay.c
tests_fuzz_fuzz_tcpreset_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS)
# Defined in both branches: automake uses the per-target variable instead of AM_LDFLAGS.
tests_fuzz_fuzz_tcpreset_LDFLAGS = $(AM_LDFLAGS)
tests_fuzz_fuzz_tcpreset_LDADD = netops/libnetops.a $(UV_LIBS)
endif
TESTS += tests/fuzz/fuzz_tcpreset.sh tests/lab/test_tcpreset.sh
EXTRA_DIST += tests/fuzz/fuzz_tcpreset.sh tests/fuzz/corpus/tcpreset tests/lab/test_tcpreset.sh

# Waking clients still connected to the VIP after it left (netops/sockreset.h): the SYN and
# whom it goes to, unit-tested, and a lab test in namespaces with mmc-vip wake (root; skips
# otherwise).
check_PROGRAMS += tests/unit/test_sockreset
TESTS += tests/unit/test_sockreset tests/lab/test_sockreset.sh
EXTRA_DIST += tests/lab/test_sockreset.sh
tests_unit_test_sockreset_SOURCES = tests/unit/test_sockreset.c
tests_unit_test_sockreset_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_sockreset_LDADD = netops/libnetops.a $(CHECK_LIBS)
