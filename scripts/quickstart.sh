#!/usr/bin/env bash
# Installs what is missing, builds, and runs the default scenario (scenarios/quickstart.yaml).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
# --force: running the quickstart again replaces its previous results.
"$root/build/fedgrid" run "$root/scenarios/quickstart.yaml" -o "$root/results/quickstart" --force "$@"
