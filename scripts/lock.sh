#!/usr/bin/env bash
# Refresh the lock files from pyproject.toml's ranges: the exact versions, with hashes,
# that scripts/setup.sh installs. Run after changing a dependency, then run the tests and
# the benchmarks (bench/results record the versions they measured) and commit all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null || python3 -m pip install -q uv
compile=(uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
         --generate-hashes --no-header --quiet "$@")
"${compile[@]}" -o requirements.lock
"${compile[@]}" --extra test -o requirements-test.lock
echo "requirements.lock and requirements-test.lock written"
