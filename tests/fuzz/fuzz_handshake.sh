#!/bin/sh
# make check entry for the transport handshake fuzz target: replays tests/fuzz/corpus/handshake.
exec sh "$top_srcdir/tests/fuzz/run-fuzz-replay.sh" handshake
