#!/usr/bin/env bash
# Set up everything the service (and, with --test, the test suite) needs on a
# fresh Debian machine with Python 3.11: system libraries, a virtualenv in
# .venv, the package and its dependencies. Safe to run again: it only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_tests=1 ;;
    --bench) want_tests=1; want_bench=1 ;;
    *) echo "usage: $0 [--test|--bench]" >&2; exit 2 ;;
  esac
done

# What WeasyPrint loads (GLib, Pango, fontconfig, HarfBuzz) and what its speed depends
# on: libharfbuzz-subset0, without which fonts are subset by fontTools and every document
# takes 5-10x longer (python -m service doctor says so). pypdfium2, Pillow, psycopg and
# python-pkcs11 bring their own libraries in their wheels.
packages=(libglib2.0-0 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1
          fontconfig shared-mime-info)
if [ "$want_tests" = 1 ]; then
  # pdfsig + certutil: the independent signature check; qpdf: the independent check of
  # the files the service writes itself (print runs); softhsm2 + opensc:
  # the PKCS#11 path; chromium: the browser tests of the verification and staff pages
  # (fonts-noto-cjk: so that their screenshots show Chinese, as a phone would).
  packages+=(poppler-utils qpdf libnss3-tools softhsm2 opensc chromium fonts-noto-cjk)
fi
if [ "$want_bench" = 1 ]; then
  # The baseline renders with WeasyPrint's default font setup (system Noto CJK).
  packages+=(fonts-noto-cjk wrk)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  echo "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# The exact versions tested and benchmarked, checked against their hashes
# (requirements*.lock, refreshed by scripts/lock.sh); then the project itself.
lock=requirements.lock
[ "$want_tests" = 1 ] && lock=requirements-test.lock
if ! { .venv/bin/python -m pip install -q --require-hashes --no-deps -r "$lock" &&
       .venv/bin/python -m pip install -q --no-deps -e . ; } >.venv/pip-install.log 2>&1; then
  cat .venv/pip-install.log >&2
  exit 1
fi
.venv/bin/python -c "import service, weasyprint, pyhanko"
