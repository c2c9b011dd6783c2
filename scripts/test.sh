#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit + end-to-end) with ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" -DFEDGRID_TESTS=ON
cd "$root/build"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
