#!/bin/sh
# make check entry for the command fuzz target: replays tests/fuzz/corpus/command.
exec sh "$top_srcdir/tests/fuzz/run-fuzz-replay.sh" command
