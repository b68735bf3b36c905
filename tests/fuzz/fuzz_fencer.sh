#!/bin/sh
# make check entry for the fencer protocol fuzz target: replays tests/fuzz/corpus/fencer.
exec sh "$top_srcdir/tests/fuzz/run-fuzz-replay.sh" fencer
