#!/usr/bin/env bash
# Regenerates the figures and tables of docs/results.md from the shipped sweep files: runs each
# sweep (resumable: complete runs are skipped), plots it (PNG + SVG in RESULTS/<sweep>/figures,
# losslessly compressed PNGs in docs/figures/<sweep>-*.png), and writes RESULTS/summary.md with
# the table, paired comparisons and wall time of every sweep folder in RESULTS.
# usage: scripts/paper_figures.sh [-j N] [-o RESULTS] [SWEEP...]
#   default sweeps: paper-mlp, paper-cnn2 (only if scenarios/paper/cnn2-*.yaml exist),
#   heterogeneity-mlp; others by name, e.g. heterogeneity-mlp-noniid.
#   FEDGRID=path/to/fedgrid overrides the binary (default build/fedgrid, built if missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs=2
results="$root/results/paper-figures"
while getopts "j:o:h" opt; do
  case $opt in
    j) jobs="$OPTARG" ;;
    o) results="$OPTARG" ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
sweeps=("$@")
if [ ${#sweeps[@]} -eq 0 ]; then
  sweeps=(paper-mlp)
  if ls "$root"/scenarios/paper/cnn2-*.yaml >/dev/null 2>&1; then
    sweeps+=(paper-cnn2)
  else
    echo "[figures] no scenarios/paper/cnn2-*.yaml: skipping the CNN2 comparison"
  fi
  sweeps+=(heterogeneity-mlp)
fi

fedgrid="${FEDGRID:-$root/build/fedgrid}"
[ -x "$fedgrid" ] || "$root/scripts/setup.sh"
if ! /usr/bin/python3 -c "import matplotlib, pandas" 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq python3-matplotlib python3-pandas >/dev/null
fi

declare -A title=(
  [paper-mlp]="MLP on Fashion-MNIST, paper setting (T_max = 400 s, 100 rounds)"
  [paper-cnn2]="CNN2, paper setting"
  [heterogeneity-mlp]="MLP, same mean speed, growing spread (fixed batch 1000, T_max = 200 s)"
  [heterogeneity-mlp-noniid]="MLP, Dirichlet(0.3) labels, fixed batch 1000, T_max = 200 s"
  [heterogeneity-mlp-paper-batches]="MLP, paper batch rule b = m P (T - B) / T, T_max = 200 s"
  [heterogeneity-mlp-async]="MLP, asynchronous vs deadlines (fixed batch 1000, T_max = 400 s)"
)
mkdir -p "$results" "$root/docs/figures"
for s in "${sweeps[@]}"; do
  out="$results/$s"
  echo "[figures] $s: fedgrid sweep sweeps/$s.yaml -o $out -j $jobs"
  t0=$(date +%s)
  "$fedgrid" sweep "$root/sweeps/$s.yaml" -o "$out" -j "$jobs"
  t1=$(date +%s)
  plot_title="${title[$s]:-$s}"
  /usr/bin/python3 "$root/scripts/plot" "$out" -o "$out/figures" --title "$plot_title"
  /usr/bin/python3 "$root/scripts/plot" "$out" -o "$root/docs/figures" --formats png --dpi 80 \
    --small --prefix "$s-" --title "$plot_title" >/dev/null
  rm -f "$root/docs/figures/$s-table.md"
  runs_wall=$(/usr/bin/python3 -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print('%.0f' % sum(float(r['wall_seconds'] or 0) for r in rows))" "$out/index.csv")
  {
    echo "## $s: $plot_title"
    echo
    echo "\`fedgrid sweep sweeps/$s.yaml -o $out -j $jobs\` took $((t1 - t0)) s on"
    echo "$(date -u +%Y-%m-%d) ($(nproc) cores; runs already complete are skipped, so a resumed sweep"
    echo "takes less); the runs' own simulation wall times (wall.json) add up to ${runs_wall} s."
    echo
  } >"$out/figures/timing.md"
done
# summary.md: every sweep folder under RESULTS, including those of earlier invocations.
summary="$results/summary.md"
echo "# FedGrid sweeps in $results" >"$summary"
for t in "$results"/*/figures/table.md; do
  echo >>"$summary"
  cat "$(dirname "$t")/timing.md" "$t" >>"$summary" 2>/dev/null || cat "$t" >>"$summary"
done
echo "[figures] wrote $summary and docs/figures/*.png"
