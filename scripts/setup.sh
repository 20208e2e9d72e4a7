#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need.
# Idempotent, and silent when everything is already present. Uses sudo when
# not run as root.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make clang-14 libclang-rt-14-dev clang-format
  # libraries (see ../shared/design/ARCHITECTURE.md; Boost 1.74 is Debian 12's default)
  libboost-dev nlohmann-json3-dev libsqlite3-dev libpq-dev libsodium-dev libssl-dev
  libphonenumber-dev libutf8proc-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  liboath-dev libqrencode-dev libroaring-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev postgresql sqlite3 curl python3 python3-yaml bc
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: missing packages (${missing[*]}) and no sudo to install them; run as root" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
