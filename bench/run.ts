import { cpus } from 'node:os';
import * as mt from '../src/index.js';
import { runNumpy, type NumpyJob } from './numpy.js';
import { rate, time } from './timing.js';

/**
 * `npm run bench`: prints one JSON object. Every speed comes with numpy's figure on the same
 * shape measured in this run, and the ratio, because absolute numbers on a shared machine mean
 * little.
 */

const backendName = process.env['MAMBA_TS_BACKEND'] ?? 'reference';
const backend = mt.setBackend(backendName);
const REPEATS = 5;

const matmulShapes = [
  { m: 16, k: 768, n: 768 },
  { m: 64, k: 256, n: 256 },
];
const addSizes = [1 << 16, 1 << 20];
const sumShapes = [{ rows: 1024, cols: 768 }];

function matmulRate(m: number, k: number, n: number) {
  const a = mt.rand([m, k]);
  const b = mt.rand([k, n]);
  const t = time(() => mt.matmul(a, b).dispose(), REPEATS);
  a.dispose();
  b.dispose();
  return { seconds: t, gflops: rate((2 * m * k * n) / 1e9, t) };
}

function addRate(n: number) {
  const x = mt.rand([n]);
  const y = mt.rand([n]);
  const t = time(() => mt.add(x, y).dispose(), REPEATS);
  x.dispose();
  y.dispose();
  return { seconds: t, gbps: rate((3 * 4 * n) / 1e9, t) };
}

function sumRate(rows: number, cols: number) {
  const x = mt.rand([rows, cols]);
  const t = time(() => mt.sum(x, 1).dispose(), REPEATS);
  x.dispose();
  return { seconds: t, gbps: rate((4 * rows * cols) / 1e9, t) };
}

function ratio(ours: number, theirs: number | undefined): number | null {
  return theirs ? Number((ours / theirs).toFixed(4)) : null;
}

function memoryLoop() {
  const x = mt.rand([64, 64], { requiresGrad: true });
  const step = () => mt.scope(() => mt.sum(mt.tanh(mt.matmul(x, x))).backward());
  step();
  const afterFirst = backend.bytesInUse();
  for (let i = 0; i < 200; i++) step();
  const afterMany = backend.bytesInUse();
  x.dispose();
  return { bytesAfterFirstStep: afterFirst, bytesAfter201Steps: afterMany };
}

const jobs: NumpyJob[] = [
  ...matmulShapes.map((s) => ({ kind: 'matmul' as const, ...s, repeats: REPEATS })),
  ...addSizes.map((n) => ({ kind: 'add' as const, n, repeats: REPEATS })),
  ...sumShapes.map((s) => ({ kind: 'sum' as const, ...s, repeats: REPEATS })),
];
const numpy = runNumpy(jobs, 1);
const theirs = 'results' in numpy ? numpy.results : [];
let j = 0;

const results: unknown[] = [];
for (const s of matmulShapes) {
  const ours = matmulRate(s.m, s.k, s.n);
  const np = theirs[j++];
  const npGflops = np ? rate((2 * s.m * s.k * s.n) / 1e9, np) : undefined;
  results.push({ name: 'matmul', shape: [s.m, s.k, s.n], gflops: ours.gflops, numpyGflops: npGflops ?? null, ratioToNumpy: ratio(ours.gflops.best, npGflops?.best) });
}
for (const n of addSizes) {
  const ours = addRate(n);
  const np = theirs[j++];
  const npGbps = np ? rate((3 * 4 * n) / 1e9, np) : undefined;
  results.push({ name: 'add', elements: n, gbps: ours.gbps, numpyGbps: npGbps ?? null, ratioToNumpy: ratio(ours.gbps.best, npGbps?.best) });
}
for (const s of sumShapes) {
  const ours = sumRate(s.rows, s.cols);
  const np = theirs[j++];
  const npGbps = np ? rate((4 * s.rows * s.cols) / 1e9, np) : undefined;
  results.push({ name: 'sum over rows', shape: [s.rows, s.cols], gbps: ours.gbps, numpyGbps: npGbps ?? null, ratioToNumpy: ratio(ours.gbps.best, npGbps?.best) });
}
results.push({ name: 'memory after a backward loop', ...memoryLoop() });

process.stdout.write(
  JSON.stringify(
    {
      backend: backend.name,
      threads: 1,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
      numpy: 'results' in numpy ? { version: numpy.version, threads: 1 } : numpy,
      results,
    },
    null,
    2,
  ) + '\n',
);
