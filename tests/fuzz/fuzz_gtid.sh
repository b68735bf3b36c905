#!/bin/sh
# make check entry for the GTID-set fuzz target: replays tests/fuzz/corpus/gtid.
exec sh "$top_srcdir/tests/fuzz/run-fuzz-replay.sh" gtid
