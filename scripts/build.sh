#!/usr/bin/env bash
# Configure and build mmcoord out of tree.
#   scripts/build.sh [BUILD_DIR [configure args...]]
# BUILD_DIR defaults to ./build. Reconfigures only when configure.ac or a Makefile.am changed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    autoreconf -fi >/dev/null
fi
mkdir -p "$dir"
cd "$dir"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
    "$top/configure" -q "$@"
fi
make -s -j"$(nproc)"
