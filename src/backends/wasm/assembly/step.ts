// One recurrent step of the Mamba mixer between in_proj and out_proj (Kernels.mambaStep), fused
// into one call so that generation pays one dispatch per layer for it instead of a dozen. The
// phases depend on each other across channels (x_proj reads every channel's u; each channel's
// delta reads all of x_proj's output), so the threads meet at a barrier between them.
import { gatherLanes, hsum, madd, scatterLanes, shareStart } from './common';
import { expv, sigmoidv, softplusv } from './vmath';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

// @ts-ignore: decorator
@inline function load4(base: usize, index: i32, lanes: i32): v128 {
  return lanes == 4 ? v128.load(at(base, index)) : gatherLanes(base, index, 1, lanes);
}

function store4(base: usize, index: i32, v: v128, lanes: i32): void {
  if (lanes == 4) v128.store(at(base, index), v);
  else scatterLanes(base, index, 1, v, lanes);
}

// Checks before a thread sleeps at the barrier: tens of microseconds, as long as the pool spins
// (protocol.ts), since a thread that arrives late was most often just slower to start.
const SPINS = 100000;

/**
 * Waits until all nthreads threads have arrived (a sense-reversing counter at p: the count, then
 * the generation). A thread spins first, since phases are short; then, where it may block, it
 * sleeps, so that a thread the system has descheduled does not cost the others their cores.
 */
function barrier(p: usize, tid: i32, nthreads: i32, mainCanBlock: i32): void {
  if (nthreads == 1) return;
  const generation = atomic.load<i32>(p, 4);
  if (atomic.add<i32>(p, 1) == nthreads - 1) {
    atomic.store<i32>(p, 0);
    atomic.add<i32>(p, 1, 4);
    atomic.notify(p + 4, nthreads);
    return;
  }
  const canBlock = tid != 0 || mainCanBlock != 0;
  for (let spins = 0; atomic.load<i32>(p, 4) == generation; spins++) {
    if (canBlock && spins >= SPINS) atomic.wait<i32>(p + 4, generation, 1000000);
  }
}

/** dot(a[0..n), b[0..n)) with four chains in flight. */
function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = madd(v128.load(at(a, i)), v128.load(at(b, i)), s0);
    s1 = madd(v128.load(at(a, i + 4)), v128.load(at(b, i + 4)), s1);
    s2 = madd(v128.load(at(a, i + 8)), v128.load(at(b, i + 8)), s2);
    s3 = madd(v128.load(at(a, i + 12)), v128.load(at(b, i + 12)), s3);
  }
  for (; i + 4 <= n; i += 4) s0 = madd(v128.load(at(a, i)), v128.load(at(b, i)), s0);
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += load<f32>(at(a, i)) * load<f32>(at(b, i));
  return s;
}

/**
 * The step for `batch` sequences (see Kernels.mambaStep for the equations). x and z rows are
 * xStride and zStride elements apart; everything else is contiguous. u and delta [batch, dInner]
 * and xdbc (x_proj's output) [batch, R + 2N] are scratch; sync holds the barrier's two words, zeroed;
 * mainCanBlock says whether thread 0 may sleep in atomic.wait (not on a browser's main thread).
 */
export function mambaStep(
  y: usize,
  convState: usize,
  ssmState: usize,
  x: usize,
  xStride: i32,
  z: usize,
  zStride: i32,
  convWeight: usize,
  convBias: usize,
  xProjWeight: usize,
  dtProjWeight: usize,
  dtBias: usize,
  aLog: usize,
  dSkip: usize,
  batch: i32,
  dInner: i32,
  K: i32,
  R: i32,
  N: i32,
  u: usize,
  delta: usize,
  xdbc: usize,
  sync: usize,
  mainCanBlock: i32,
  tid: i32,
  nthreads: i32,
): void {
  const rows = R + 2 * N;
  // Channels in whole vectors per thread, so that only the last share has a ragged end.
  const groups = (dInner + 3) >> 2;
  const d0 = shareStart(groups, tid, nthreads) << 2;
  const d1 = min(dInner, shareStart(groups, tid + 1, nthreads) << 2);

  // Phase 1, per channel: the causal conv over the window (state rows, then this token), SiLU,
  // and the window moves on by one.
  for (let b = 0; b < batch; b++) {
    const window = at(convState, b * (K - 1) * dInner);
    for (let d = d0; d < d1; d += 4) {
      const lanes = min(4, d1 - d);
      let acc = convBias ? load4(convBias, d, lanes) : f32x4.splat(0);
      for (let k = 0; k < K - 1; k++) {
        acc = madd(gatherLanes(convWeight, d * K + k, K, lanes), load4(window, k * dInner + d, lanes), acc);
      }
      const xt = load4(x, b * xStride + d, lanes);
      acc = madd(gatherLanes(convWeight, d * K + K - 1, K, lanes), xt, acc);
      for (let k = 0; k + 1 < K - 1; k++)
        store4(window, k * dInner + d, load4(window, (k + 1) * dInner + d, lanes), lanes);
      if (K > 1) store4(window, (K - 2) * dInner + d, xt, lanes);
      store4(u, b * dInner + d, f32x4.mul(acc, sigmoidv(acc)), lanes);
    }
  }
  barrier(sync, tid, nthreads, mainCanBlock);

  // Phase 2, per row of x_proj: dt_low, B and C of every sequence (docs/mamba-spec.md §1.3).
  const j1 = shareStart(rows, tid + 1, nthreads);
  for (let j = shareStart(rows, tid, nthreads); j < j1; j++) {
    const w = at(xProjWeight, j * dInner);
    for (let b = 0; b < batch; b++) store<f32>(at(xdbc, b * rows + j), dot(w, at(u, b * dInner), dInner));
  }
  barrier(sync, tid, nthreads, mainCanBlock);

  // Phase 3, per channel: delta = softplus(dt_proj(dt_low) + bias), then the state update
  // h = exp(delta A) h + delta B u with A = -exp(A_log) (§1.4), y = C.h, and the D skip and gate.
  const beta = f32x4.splat(1);
  const threshold = f32x4.splat(20);
  for (let b = 0; b < batch; b++) {
    const row = at(xdbc, b * rows);
    const Bt = at(row, R);
    const Ct = at(row, R + N);
    for (let d = d0; d < d1; d += 4) {
      const lanes = min(4, d1 - d);
      let raw = dtBias ? load4(dtBias, d, lanes) : f32x4.splat(0);
      raw = f32x4.replace_lane(raw, 0, f32x4.extract_lane(raw, 0) + dot(at(dtProjWeight, d * R), row, R));
      if (lanes > 1)
        raw = f32x4.replace_lane(raw, 1, f32x4.extract_lane(raw, 1) + dot(at(dtProjWeight, (d + 1) * R), row, R));
      if (lanes > 2)
        raw = f32x4.replace_lane(raw, 2, f32x4.extract_lane(raw, 2) + dot(at(dtProjWeight, (d + 2) * R), row, R));
      if (lanes > 3)
        raw = f32x4.replace_lane(raw, 3, f32x4.extract_lane(raw, 3) + dot(at(dtProjWeight, (d + 3) * R), row, R));
      store4(delta, b * dInner + d, softplusv(raw, beta, threshold), lanes);
    }
    for (let d = d0; d < d1; d++) {
      const dt = f32x4.splat(load<f32>(at(delta, b * dInner + d)));
      const dtu = f32x4.mul(dt, f32x4.splat(load<f32>(at(u, b * dInner + d))));
      const h = at(ssmState, (b * dInner + d) * N);
      const logA = at(aLog, d * N);
      let acc = f32x4.splat(0);
      let n = 0;
      for (; n + 4 <= N; n += 4) {
        const dA = expv(f32x4.mul(dt, f32x4.neg(expv(v128.load(at(logA, n))))));
        const hn = madd(dA, v128.load(at(h, n)), f32x4.mul(dtu, v128.load(at(Bt, n))));
        v128.store(at(h, n), hn);
        acc = madd(hn, v128.load(at(Ct, n)), acc);
      }
      let out = hsum(acc);
      if (n < N) {
        const rest = N - n;
        const dA = expv(f32x4.mul(dt, f32x4.neg(expv(gatherLanes(logA, n, 1, rest)))));
        const hn = madd(dA, gatherLanes(h, n, 1, rest), f32x4.mul(dtu, gatherLanes(Bt, n, 1, rest)));
        store4(h, n, hn, rest);
        out += hsum(f32x4.mul(hn, gatherLanes(Ct, n, 1, rest)));
      }
      store<f32>(at(y, b * dInner + d), out);
    }
    for (let d = d0; d < d1; d += 4) {
      const lanes = min(4, d1 - d);
      const ud = load4(u, b * dInner + d, lanes);
      const skip = dSkip ? f32x4.mul(load4(dSkip, d, lanes), ud) : f32x4.splat(0);
      const zd = load4(z, b * zStride + d, lanes);
      store4(
        y,
        b * dInner + d,
        f32x4.mul(f32x4.add(load4(y, b * dInner + d, lanes), skip), f32x4.mul(zd, sigmoidv(zd))),
        lanes,
      );
    }
  }
}
