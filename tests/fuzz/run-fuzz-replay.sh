#!/bin/sh
# Runs fuzz target NAME over its seed corpus: usage run-fuzz-replay.sh NAME
# Built without libFuzzer, the target's replay driver also runs deterministic mutations of the
# corpus (tests/fuzz/replay.c); built with it (--enable-fuzzing), libFuzzer runs each file once.
# Either way the inputs are passed as files, never as a directory, which libFuzzer would fuzz
# without end. A crash or a broken promise fails the test.
set -eu
name=${1:?usage: run-fuzz-replay.sh NAME}
target="$top_builddir/tests/fuzz/fuzz_$name"
corpus="$top_srcdir/tests/fuzz/corpus/$name"
if [ ! -x "$target" ]; then
    echo "run-fuzz-replay: $target is not built (make check builds it)" >&2
    exit 99
fi
if [ ! -d "$corpus" ]; then
    echo "run-fuzz-replay: no seed corpus $corpus" >&2
    exit 99
fi
set --
for file in "$corpus"/*; do
    [ -f "$file" ] && set -- "$@" "$file"
done
if [ $# -eq 0 ]; then
    echo "run-fuzz-replay: seed corpus $corpus is empty" >&2
    exit 99
fi
exec "$target" "$@"
