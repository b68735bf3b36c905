#!/usr/bin/env bash
# Install every Debian 12 package that mmcoord's build, tests, lab and harness need.
# Idempotent: packages already present are left alone, and `apt-get update` runs at most
# once per machine (a stamp under /var/lib/mmcoord-deps records it).
set -euo pipefail

PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    libraft-dev libuv1-dev libmariadb-dev libnl-3-dev libnl-route-3-dev
    libinih-dev libjansson-dev libssl-dev check
    clang libclang-rt-14-dev clang-format cppcheck valgrind
    mariadb-server mariadb-client python3 iproute2 nftables tcpdump keepalived jq procps psmisc
)

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (it calls apt-get)" >&2
    exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

stamp=/var/lib/mmcoord-deps/apt-updated
if [ ! -f "$stamp" ]; then
    apt-get update -q
    mkdir -p "$(dirname "$stamp")"
    touch "$stamp"
fi
echo "install-deps: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

# The packaged mariadb and keepalived services are not used: tests start their own processes.
for svc in mariadb keepalived; do
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
done
