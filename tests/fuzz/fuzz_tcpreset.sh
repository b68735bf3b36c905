#!/bin/sh
# make check entry for the TCP reset responder's fuzz target: replays tests/fuzz/corpus/tcpreset.
exec sh "$top_srcdir/tests/fuzz/run-fuzz-replay.sh" tcpreset
