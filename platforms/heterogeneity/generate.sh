#!/usr/bin/env bash
# Regenerates the heterogeneity family in this folder: 20-client star platforms whose client speeds
# have the same mean (1250 flop/s = samples x stages / s) and a growing spread, each with per-client links
# (bandwidth lognormal, median 1.25e6 B/s, sigma 1; latency U(5 ms, 50 ms)) behind a shared server
# link (1.25e8 B/s, 0.1 ms). Seed 1234, as the paper scenarios. Prints each file's realised CV.
# usage: platforms/heterogeneity/generate.sh [FEDGRID]   (default: build/fedgrid)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fedgrid="${1:-$root/build/fedgrid}"
links=(--set 'platform.generate.bandwidth={dist: lognormal, median: 1.25e6, sigma: 1.0}'
       --set 'platform.generate.latency={dist: uniform, min: 0.005, max: 0.05}'
       --set 'platform.generate.server_link={bandwidth: 1.25e8, latency: 1.0e-4}')
# label and speed spec; lognormal median = 1250 exp(-sigma^2 / 2), two_tier value = 1250 / 0.82
family=(
  "homogeneous|{dist: constant, value: 1250}"
  "uniform|{dist: uniform, min: 1, max: 2499}"
  "two-tier-0.2x10|{dist: two_tier, value: 1524.390244, slow_factor: 10, slow_fraction: 0.2}"
  "lognormal-0.25|{dist: lognormal, median: 1211.541543, sigma: 0.25}"
  "lognormal-0.5|{dist: lognormal, median: 1103.121128, sigma: 0.5}"
  "lognormal-1.0|{dist: lognormal, median: 758.163325, sigma: 1.0}"
  "lognormal-1.5|{dist: lognormal, median: 405.815584, sigma: 1.5}"
)
for member in "${family[@]}"; do
  label="${member%%|*}"
  speed="${member#*|}"
  "$fedgrid" platform "$root/scenarios/paper/mlp-salf.yaml" --seed 1234 \
    --set "platform.generate.speed=$speed" "${links[@]}" -o "$here/$label-20.xml"
done
