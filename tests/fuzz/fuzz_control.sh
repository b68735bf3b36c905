#!/bin/sh
# make check entry for the control fuzz target: replays tests/fuzz/corpus/control.
exec sh "$top_srcdir/tests/fuzz/run-fuzz-replay.sh" control
