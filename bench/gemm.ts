import { readFileSync } from 'node:fs';
import * as mt from '../src/index.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { runNumpy, type NumpyJob } from './numpy.js';
import { rate, spread } from './timing.js';

/** The Mamba-130m projections, x [M, K] · W^T with W [N, K] as nn.Linear stores it. */
const PROJECTIONS = [
  { name: 'in_proj', k: 768, n: 3072 },
  { name: 'out_proj', k: 1536, n: 768 },
  { name: 'x_proj', k: 1536, n: 80 },
  { name: 'lm_head', k: 768, n: 50280 },
];
const ROWS = [1, 16, 128, 1024];
// The first is the baseline of speedupOver1Thread.
const THREADS = [1, 2];
// About this many flops per measurement, within [MIN_REPEATS, MAX_REPEATS] timed runs.
const FLOP_BUDGET = 3e10;
const MIN_REPEATS = 3;
const MAX_REPEATS = 25;

interface Case {
  name: string;
  /** 'x W^T': the weight stored [N, K] (nn.Linear); 'x W': stored [K, N]. */
  layout: 'x W^T' | 'x W';
  m: number;
  k: number;
  n: number;
  repeats: number;
  /** Why the row is measured less than the others. */
  note?: string;
}

function cases(): Case[] {
  const list: Case[] = [];
  for (const p of PROJECTIONS) {
    for (const m of ROWS) {
      const flops = 2 * m * p.k * p.n;
      const repeats = Math.min(MAX_REPEATS, Math.max(MIN_REPEATS, Math.round(FLOP_BUDGET / flops)));
      const note =
        repeats === MIN_REPEATS
          ? `${MIN_REPEATS} timed runs only: ${(flops / 1e9).toFixed(1)} GFLOP per run`
          : undefined;
      list.push({ name: p.name, layout: 'x W^T', m, k: p.k, n: p.n, repeats, note });
    }
  }
  // gemv against the other layout of the weight: rows of W contiguous along N.
  for (const p of PROJECTIONS) list.push({ name: p.name, layout: 'x W', m: 1, k: p.k, n: p.n, repeats: MAX_REPEATS });
  return list;
}

/** Bytes of the last-level cache as Linux reports it, or null. */
function lastLevelCacheBytes(): number | null {
  for (const index of [3, 2]) {
    try {
      const text = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`, 'utf8').trim();
      const match = /^(\d+)([KMG]?)$/.exec(text);
      if (match)
        return Number(match[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2] as '' | 'K' | 'M' | 'G'];
    } catch {
      continue;
    }
  }
  return null;
}

function filled(length: number, seed: number): Float32Array {
  // A cheap hash rather than a generator: the head's weight has 38.6M elements.
  return new Float32Array(length).map((_, i) => (Math.imul(i + seed, 2654435761) >>> 20) / 4096 - 0.5);
}

/**
 * Seconds per call of each fn after one warm-up each: min and median over `repeats` samples,
 * taken in turns so that load from other processes on a shared machine falls on all alike.
 */
function timeInTurns(fns: (() => void)[], repeats: number): { min: number; median: number }[] {
  for (const fn of fns) fn();
  const samples = fns.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) {
    fns.forEach((fn, i) => {
      const start = performance.now();
      fn();
      samples[i]!.push((performance.now() - start) / 1000);
    });
  }
  return samples.map((s) => {
    const { min, median } = spread(s);
    return { min, median };
  });
}

/** The case on every backend, timed in turns. */
function measure(backends: mt.Backend[], c: Case): { min: number; median: number }[] {
  return mt.scope(() => {
    const calls = backends.map((backend) => {
      const x = mt.fromArray(filled(c.m * c.k, 1), [c.m, c.k], { backend });
      const w =
        c.layout === 'x W^T'
          ? mt.transpose(mt.fromArray(filled(c.n * c.k, 2), [c.n, c.k], { backend }))
          : mt.fromArray(filled(c.k * c.n, 2), [c.k, c.n], { backend });
      return () => mt.matmul(x, w).dispose();
    });
    return timeInTurns(calls, c.repeats);
  });
}

function ratio(ours: number, theirs: number | undefined): number | null {
  return theirs ? Number((ours / theirs).toFixed(4)) : null;
}

const round = (x: number) => Number(x.toFixed(3));
const rounded = (r: { best: number; median: number }) => ({ best: round(r.best), median: round(r.median) });

/**
 * GFLOP/s of the wasm matmul against numpy (OpenBLAS) at the same thread count, on the Mamba-130m
 * projections; for single rows (gemv, memory-bound) also the weight bytes read per second.
 * Rates are best (min time) and median over the timed runs after a warm-up.
 */
export function benchGemm(): object[] {
  const list = cases();
  const llc = lastLevelCacheBytes();
  const backends = THREADS.map((threads) => createNodeWasmBackend({ threads }));
  const ours = list.map((c) => measure(backends, c));
  for (const backend of backends) backend.dispose();
  const jobs: NumpyJob[] = list.map((c) => ({
    kind: c.layout === 'x W^T' ? 'linear' : 'matmul',
    m: c.m,
    k: c.k,
    n: c.n,
    repeats: c.repeats,
  }));
  const numpy = THREADS.map((threads) => runNumpy(jobs, threads));
  const rows: object[] = [];
  list.forEach((c, i) => {
    const gflop = (2 * c.m * c.k * c.n) / 1e9;
    const gbytes = (4 * c.k * c.n) / 1e9;
    THREADS.forEach((threads, t) => {
      const np = numpy[t]!;
      const theirs = 'results' in np ? np.results[i] : undefined;
      const gflops = rate(gflop, ours[i]![t]!);
      const npGflops = theirs ? rate(gflop, theirs) : undefined;
      const row: Record<string, unknown> = {
        name: `matmul ${c.name}`,
        layout: c.layout,
        shape: { m: c.m, k: c.k, n: c.n },
        threads,
        repeats: c.repeats,
        gflops: rounded(gflops),
        numpyGflops: npGflops ? rounded(npGflops) : null,
        ratioToNumpy: ratio(gflops.best, npGflops?.best),
      };
      if (t > 0) row['speedupOver1Thread'] = ratio(gflops.best, rate(gflop, ours[i]![0]!).best);
      if (c.m === 1) {
        const bw = rate(gbytes, ours[i]![t]!);
        const npBw = theirs ? rate(gbytes, theirs) : undefined;
        row['weightBytes'] = 4 * c.k * c.n;
        row['weightsExceedLastLevelCache'] = llc === null ? null : 4 * c.k * c.n > llc;
        row['weightGBps'] = rounded(bw);
        row['numpyWeightGBps'] = npBw ? rounded(npBw) : null;
        row['bandwidthRatioToNumpy'] = ratio(bw.best, npBw?.best);
      }
      if (c.note) row['note'] = c.note;
      if ('unavailable' in np) row['numpy'] = np.unavailable;
      rows.push(row);
    });
  });
  return rows;
}
