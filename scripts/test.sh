#!/usr/bin/env bash
# Install what the build and tests need, build, and run every test: the normal build first,
# then the same suite under AddressSanitizer+UndefinedBehaviorSanitizer.
# Tests that need root (namespaces) or MariaDB run here because this script runs as root with
# mariadb-server installed; each says why when it has to skip.
#   sudo scripts/test.sh            # everything
#   MMC_NO_SANITIZERS=1 scripts/test.sh   # skip the sanitizer pass
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh || exit 1

status=0
passed=0 failed=0 skipped=0

run_suite() {
    local dir=$1; shift
    echo "== build $dir ($*)"
    if ! bash scripts/build.sh "$dir" "$@"; then
        echo "build failed in $dir" >&2
        status=1
        failed=$((failed + 1))
        return
    fi
    echo "== make check in $dir"
    # Tests run one at a time: several start MariaDB servers and namespaces, and a loaded
    # 2-core machine makes their timings flaky when they overlap.
    make -C "$dir" -s -j"$(nproc)" check TESTS= > /dev/null || true # build the test programs
    if ! make -C "$dir" -s check; then
        status=1
    fi
    local log=$dir/test-suite.log
    if [ -f "$log" ]; then
        local p f e s x
        p=$(sed -n 's/^# PASS: *//p' "$log" | head -n1)
        f=$(sed -n 's/^# FAIL: *//p' "$log" | head -n1)
        e=$(sed -n 's/^# ERROR: *//p' "$log" | head -n1)
        x=$(sed -n 's/^# XPASS: *//p' "$log" | head -n1)
        s=$(sed -n 's/^# SKIP: *//p' "$log" | head -n1)
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
        skipped=$((skipped + ${s:-0}))
        if [ "${f:-0}" != 0 ] || [ "${e:-0}" != 0 ]; then
            # Show the failing tests' logs so CI output says why.
            for t in $(find "$dir" -name '*.trs' -exec grep -l ':test-result: \(FAIL\|ERROR\)' {} +); do
                echo "---- ${t%.trs}.log"
                tail -n 60 "${t%.trs}.log"
            done
        fi
    else
        status=1
    fi
}

run_suite "$top/build"
if [ -z "${MMC_NO_SANITIZERS:-}" ]; then
    run_suite "$top/build-asan" --enable-sanitizers CC=clang
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
