# coord/: the cluster record, decisions, leases, the daemon, the control socket and mmctl.
noinst_LIBRARIES += coord/libcoord.a
coord_libcoord_a_SOURCES = \
	coord/clock.c coord/clock.h \
	coord/log.c coord/log.h
