#!/usr/bin/env bash
# Installs the Debian packages a make target needs. Idempotent, and silent
# when everything is already present. Uses sudo when not run as root.
#   scripts/setup.sh --demo   what `make demo` needs: the compiler, the
#                             libraries the binary links, and the demo's local
#                             SMTP capture. Nothing that only the tests use.
#   scripts/setup.sh          building and every test (`make test`): the above
#                             plus test frameworks, PostgreSQL, Chromium, Node
#   scripts/setup.sh --bench  also what `make bench` needs: Postfix for its C
#                             SMTP test tools smtp-sink and smtp-source (P6),
#                             installed unconfigured so no mail server starts
#   scripts/setup.sh --list demo|test|bench
#                             print that set's packages, one per line, and
#                             install nothing (tests/integration/demo_target_test.py)
set -euo pipefail
mode=test
list=0
case "${1:-}" in
  --demo) mode=demo ;;
  --bench) mode=bench ;;
  --list) list=1; mode="${2:-}" ;;
  "") ;;
  *) echo "setup: unknown option ${1} (use --demo, --bench or --list demo|test|bench)" >&2; exit 2 ;;
esac
case "$mode" in demo|test|bench) ;; *)
  echo "setup: --list takes demo, test or bench" >&2; exit 2 ;;
esac

# Building the binary and running it: the demo's whole need.
demo_packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make
  # libraries (see docs/design/ARCHITECTURE.md; Boost 1.74 is Debian 12's default)
  libboost-dev nlohmann-json3-dev libsqlite3-dev libpq-dev libsodium-dev libssl-dev
  libphonenumber-dev libutf8proc-dev libicu-dev libtomlplusplus-dev libcli11-dev libspdlog-dev
  libfmt-dev liboath-dev libqrencode-dev libroaring-dev
  # time zones from the system tz database (date/tz.h; libstdc++ 12 has no std::chrono::tzdb)
  libhowardhinnant-date-dev tzdata
  # mail: SMTP submission, MIME, DKIM, templates
  libcurl4-openssl-dev libgmime-3.0-dev libopendkim-dev libmstch-dev libgumbo-dev
  libidn2-dev
  # telephony: the SIP stack (src/telephony, docs/telephony.md)
  libre-dev
  # sd_notify readiness under systemd (packaging/switchboard.service)
  libsystemd-dev
  # the demo's local SMTP capture (scripts/smtp-capture.py)
  python3 python3-aiosmtpd
)
# Only the tests, the thread-safety build, the fuzzers and the benchmarks.
test_only_packages=(
  clang-14 libclang-rt-14-dev clang-format
  libgtest-dev libgmock-dev libbenchmark-dev postgresql postgresql-contrib sqlite3 curl
  python3-yaml bc
  # an independent DKIM verifier; the openssl command makes test keys and certificates
  python3-dkim openssl
  # an independent verifier of the audit checkpoints (C2SP signed notes, Ed25519)
  python3-nacl
  # SIPp plays the SIP trunk and the phones (tests/telephony); setcap gives
  # it the raw socket its keypad playback needs (sipp_capability below)
  sip-tester libcap2-bin
  # `make deb` and its test: dpkg-shlibdeps, an unprivileged dpkg --root, systemd-analyze
  dpkg-dev fakeroot systemd
  # browser tests (tests/browser): headless Chromium driven by playwright-core
  chromium
)

packages=("${demo_packages[@]}")
[ "$mode" != demo ] && packages+=("${test_only_packages[@]}")
[ "$mode" = bench ] && packages+=(postfix)
# wrk: TLS against plain HTTP (bench/tls_load.py)
[ "$mode" = bench ] && packages+=(wrk)
# Node.js and npm only for the browser tests.
if [ "$list" = 1 ]; then
  printf '%s\n' "${packages[@]}"
  [ "$mode" != demo ] && printf '%s\n' nodejs npm
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js and npm by command, so a Node installed another way (e.g. NodeSource,
# which bundles npm) is not replaced.
if [ "$mode" != demo ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

# playwright-core for the browser tests, exactly as locked; again only when
# the lock file changed since the last install.
browser_deps() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in tests/browser" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# SIPp plays keypad tones (play_pcap_audio, tests/telephony/verify.xml)
# through a raw socket. Root has it; anyone else needs SIPp to hold
# CAP_NET_RAW, granted once with sudo.
sipp_capability() {
  local sipp
  [ "$(id -u)" -eq 0 ] && return 0
  sipp="$(command -v sipp || true)"
  [ -n "$sipp" ] || return 0
  getcap "$sipp" 2>/dev/null | grep -q cap_net_raw && return 0
  echo "setup: granting CAP_NET_RAW to $sipp (keypad tones in tests/telephony)" >&2
  sudo setcap cap_net_raw+ep "$sipp"
}

if [ ${#missing[@]} -eq 0 ]; then
  [ "$mode" != demo ] && browser_deps && sipp_capability
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: missing packages (${missing[*]}) and no sudo to install them; run as root" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [[ " ${missing[*]} " == *" postfix "* ]]; then
  # "No configuration": the package installs its tools and leaves the mail
  # server unconfigured and stopped.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
fi
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$mode" != demo ] && browser_deps && sipp_capability
echo "setup: done" >&2
