# jepsen/: see the directory's files; fragments add to the variables declared in Makefile.am.
# jepsen/lab: the lab of three hosts in network namespaces (see jepsen/README.md).
dist_noinst_SCRIPTS += jepsen/lab
EXTRA_DIST += jepsen/README.md tests/lab/test_lab.sh
TESTS += tests/lab/test_lab.sh
