#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each one for
# SECONDS (default 60) on a copy of its committed seed corpus. Fails if a target crashes, leaks,
# runs out of memory (2 GB) or times out on an input; the reproducer is left in build-fuzz/.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-60}"
if ! command -v clang++ >/dev/null 2>&1 || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
      -DFEDGRID_FUZZ=ON -DFEDGRID_TESTS=OFF -DFEDGRID_PORTABLE=ON >/dev/null
cmake --build "$root/build-fuzz" -j "$(nproc)" --target fuzz_scenario fuzz_idx fuzz_cifar fuzz_resume fuzz_platform
cd "$root/build-fuzz"
for t in scenario idx cifar resume platform; do
  rm -rf "corpus-$t" && cp -r "$root/tests/fuzz/corpus/$t" "corpus-$t"
  for r in "$root"/tests/fuzz/regressions/"$t"-*; do  # earlier findings must stay fixed
    [ -e "$r" ] || continue
    ./tests/fuzz/"fuzz_$t" "$r" >/dev/null 2>&1 || { echo "[fuzz] regression $r fails"; exit 1; }
  done
  echo "[fuzz] fuzz_$t for ${secs}s"
  ASAN_OPTIONS=detect_leaks=1 ./tests/fuzz/"fuzz_$t" "corpus-$t" -max_total_time="$secs" -max_len=8192 \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>"fuzz_$t.log" || {
      tail -40 "fuzz_$t.log"; echo "[fuzz] fuzz_$t FAILED (log: build-fuzz/fuzz_$t.log)"; exit 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "fuzz_$t.log" | sed "s/^/[fuzz] $t /"
done
echo "[fuzz] all targets ran clean"
