// The selective scan (Mamba S6) and its backward pass, vectorised across four channels at a
// time: the state update is independent per channel, and B_t, C_t are shared by all channels,
// so each step costs dState vector exps per four channels. The arguments arrive in a parameter
// block (its word offsets in ../abi/scan.ts).
import { gatherLanes, hsum, madd, scatterLanes, shareStart } from './common';
import { LOG2E, exp2v, sigmoidv, softplusv } from './vmath';
import {
  Y,
  LAST,
  STATES,
  U,
  DELTA,
  A,
  BMAT,
  CMAT,
  DSKIP,
  Z,
  BIAS,
  H0,
  BATCH,
  LEN,
  DIM,
  NSTATE,
  U_STRIDES,
  DELTA_STRIDES,
  Z_STRIDES,
  B_STRIDES,
  C_STRIDES,
  SOFTPLUS,
  CHUNK,
  SCRATCH,
  SCRATCH_BYTES,
  GY,
  GLAST,
  DU,
  DDELTA,
  DA,
  DB,
  DC,
  DD,
  DZ,
  DBIAS,
  DH0,
  PARTS,
} from '../abi/scan';

// @ts-ignore: decorator
@inline function param(p: usize, i: i32): i32 {
  return load<i32>(p + ((<usize>i) << 2));
}

// @ts-ignore: decorator
@inline function f32p(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

/** Four channels d0.. of a [B, L, D] sequence at (b, t): one load when dense, else lane by lane. */
// @ts-ignore: decorator
@inline function load4(base: usize, p: usize, strides: i32, b: i32, t: i32, d0: i32, lanes: i32): v128 {
  const s2 = param(p, strides + 2);
  const at = base + ((<usize>(b * param(p, strides) + t * param(p, strides + 1) + d0 * s2)) << 2);
  return lanes == 4 && s2 == 1 ? v128.load(at) : gatherLanes(at, 0, s2, lanes);
}

/** Four channels of a contiguous [B, L, D] array at flat index `index`. */
// @ts-ignore: decorator
@inline function loadDense4(base: usize, index: i32, lanes: i32): v128 {
  return lanes == 4 ? v128.load(f32p(base, index)) : gatherLanes(base, index, 1, lanes);
}

/** Stores the first `lanes` lanes at base + index*4, base + (index+stride)*4, ... */
// @ts-ignore: decorator
@inline function store4(base: usize, index: i32, stride: i32, v: v128, lanes: i32): void {
  if (lanes == 4 && stride == 1) v128.store(f32p(base, index), v);
  else scatterLanes(base, index, stride, v, lanes);
}

/** Lanes of a per-channel vector [D] (D, delta bias), zero where absent or past the end. */
// @ts-ignore: decorator
@inline function channels(base: usize, d0: i32, lanes: i32): v128 {
  if (base == 0) return f32x4.splat(0);
  return lanes == 4 ? v128.load(f32p(base, d0)) : gatherLanes(base, d0, 1, lanes);
}

/** Address of B or C at (b, t, 0); the state index then steps by rowStep(). */
// @ts-ignore: decorator
@inline function rowAt(p: usize, which: i32, strides: i32, b: i32, t: i32): usize {
  return <usize>param(p, which) + ((<usize>(b * param(p, strides) + t * param(p, strides + 1))) << 2);
}

// @ts-ignore: decorator
@inline function rowStep(p: usize, strides: i32): usize {
  return (<usize>param(p, strides + 2)) << 2;
}

/** Element [i, j] of the state layout [..., D, N] for the four channels d0.. as one vector. */
function gatherState(base: usize, row: i32, n: i32, i: i32, lanes: i32): v128 {
  return gatherLanes(base, row * n + i, n, lanes);
}

function scatterState(base: usize, row: i32, n: i32, i: i32, v: v128, lanes: i32): void {
  scatterLanes(base, row * n + i, n, v, lanes);
}

// @ts-ignore: decorator
@inline function vec(base: usize, i: i32): usize {
  return base + ((<usize>i) << 4);
}

/** delta after bias and (optionally) softplus, and its raw value. */
// @ts-ignore: decorator
@inline function rawDelta(p: usize, b: i32, t: i32, d0: i32, lanes: i32, bias: v128): v128 {
  return f32x4.add(load4(param(p, DELTA), p, DELTA_STRIDES, b, t, d0, lanes), bias);
}

// @ts-ignore: decorator
@inline function effectiveDelta(p: usize, raw: v128): v128 {
  return param(p, SOFTPLUS) ? softplusv(raw, f32x4.splat(1), f32x4.splat(20)) : raw;
}

/** Forward scan of one sequence b for the four channels d0.. (aq holds their rows of A). */
function forwardSequence(p: usize, b: i32, d0: i32, lanes: i32, aq: usize, h: usize, bias: v128, skip: v128): void {
  const bStep = rowStep(p, B_STRIDES);
  const cStep = rowStep(p, C_STRIDES);
  const len = param(p, LEN);
  const dim = param(p, DIM);
  const n = param(p, NSTATE);
  const chunk = param(p, CHUNK);
  const chunks = (len + chunk - 1) / chunk;
  for (let i = 0; i < n; i++) {
    v128.store(vec(h, i), param(p, H0) ? gatherState(param(p, H0), b * dim + d0, n, i, lanes) : f32x4.splat(0));
  }
  for (let t = 0; t < len; t++) {
    if (param(p, STATES) && t % chunk == 0) {
      for (let i = 0; i < n; i++)
        scatterState(param(p, STATES), (b * chunks + t / chunk) * dim + d0, n, i, v128.load(vec(h, i)), lanes);
    }
    const dt = effectiveDelta(p, rawDelta(p, b, t, d0, lanes, bias));
    // exp(delta A) = 2^(delta log2(e) A): one multiply per step buys the cheaper exp2 per element.
    const dt2 = f32x4.mul(dt, f32x4.splat(LOG2E));
    const u = load4(param(p, U), p, U_STRIDES, b, t, d0, lanes);
    const dtu = f32x4.mul(dt, u);
    // B_t and C_t are read once per step and shared by the four channels.
    const bRow = rowAt(p, BMAT, B_STRIDES, b, t);
    const cRow = rowAt(p, CMAT, C_STRIDES, b, t);
    let acc = f32x4.splat(0);
    for (let i = 0; i < n; i++) {
      // h_t = exp(delta A) h_{t-1} + delta B_t u_t (zero-order hold on A, Euler on B).
      const a = exp2v(f32x4.mul(dt2, v128.load(vec(aq, i))));
      const hi = madd(a, v128.load(vec(h, i)), f32x4.mul(dtu, v128.load32_splat(bRow + <usize>i * bStep)));
      v128.store(vec(h, i), hi);
      acc = madd(hi, v128.load32_splat(cRow + <usize>i * cStep), acc);
    }
    let y = madd(skip, u, acc);
    if (param(p, Z)) {
      const z = load4(param(p, Z), p, Z_STRIDES, b, t, d0, lanes);
      y = f32x4.mul(y, f32x4.mul(z, sigmoidv(z)));
    }
    store4(param(p, Y), (b * len + t) * dim + d0, 1, y, lanes);
  }
  for (let i = 0; i < n; i++) scatterState(param(p, LAST), b * dim + d0, n, i, v128.load(vec(h, i)), lanes);
}

export function scanForward(p: usize, tid: i32, nthreads: i32): void {
  const dim = param(p, DIM);
  const n = param(p, NSTATE);
  const blocks = (dim + 3) >> 2;
  const scratch: usize = <usize>param(p, SCRATCH) + <usize>tid * <usize>param(p, SCRATCH_BYTES);
  const aq = scratch;
  const h = scratch + ((<usize>n) << 4);
  // Threads own blocks of four channels across the whole batch.
  for (let blk = shareStart(blocks, tid, nthreads); blk < shareStart(blocks, tid + 1, nthreads); blk++) {
    const d0 = blk << 2;
    const lanes = min(4, dim - d0);
    for (let i = 0; i < n; i++) v128.store(vec(aq, i), gatherState(param(p, A), d0, n, i, lanes));
    const bias = channels(param(p, BIAS), d0, lanes);
    const skip = channels(param(p, DSKIP), d0, lanes);
    for (let b = 0; b < param(p, BATCH); b++) forwardSequence(p, b, d0, lanes, aq, h, bias, skip);
  }
}

/**
 * Backward of one sequence b for the four channels d0..: per chunk, last first, recompute the
 * states from the one saved at the chunk's start into hs, then walk back carrying dL/dh.
 * Per-channel sums go to acc (dA rows, then dD and the delta-bias gradient); dB and dC, which
 * sum over channels, go to this thread's partials.
 */
function backwardSequence(
  p: usize,
  b: i32,
  d0: i32,
  lanes: i32,
  aq: usize,
  dh: usize,
  acc: usize,
  hs: usize,
  decay: usize,
  partDB: usize,
  partDC: usize,
  bias: v128,
  skip: v128,
): void {
  const bStep = rowStep(p, B_STRIDES);
  const cStep = rowStep(p, C_STRIDES);
  const len = param(p, LEN);
  const dim = param(p, DIM);
  const n = param(p, NSTATE);
  const chunk = param(p, CHUNK);
  const chunks = (len + chunk - 1) / chunk;
  const one = f32x4.splat(1);
  const dSkipAt = vec(acc, n);
  const dBiasAt = vec(acc, n + 1);
  for (let i = 0; i < n; i++) {
    v128.store(vec(dh, i), param(p, GLAST) ? gatherState(param(p, GLAST), b * dim + d0, n, i, lanes) : f32x4.splat(0));
  }
  for (let c = chunks - 1; c >= 0; c--) {
    const t0 = c * chunk;
    const t1 = min(len, t0 + chunk);
    // hs row k holds h_{t0 + k - 1}; row 0 is the state saved before the chunk.
    for (let i = 0; i < n; i++)
      v128.store(vec(hs, i), gatherState(param(p, STATES), (b * chunks + c) * dim + d0, n, i, lanes));
    for (let t = t0; t < t1; t++) {
      const dt = effectiveDelta(p, rawDelta(p, b, t, d0, lanes, bias));
      const dtu = f32x4.mul(dt, load4(param(p, U), p, U_STRIDES, b, t, d0, lanes));
      const dt2 = f32x4.mul(dt, f32x4.splat(LOG2E));
      const row = (t - t0 + 1) * n;
      const bRow = rowAt(p, BMAT, B_STRIDES, b, t);
      for (let i = 0; i < n; i++) {
        const a = exp2v(f32x4.mul(dt2, v128.load(vec(aq, i))));
        // Kept for the walk back, which would otherwise compute every exp a second time.
        v128.store(vec(decay, row + i), a);
        v128.store(
          vec(hs, row + i),
          madd(a, v128.load(vec(hs, row - n + i)), f32x4.mul(dtu, v128.load32_splat(bRow + <usize>i * bStep))),
        );
      }
    }
    for (let t = t1 - 1; t >= t0; t--) {
      const raw = rawDelta(p, b, t, d0, lanes, bias);
      const dt = effectiveDelta(p, raw);
      const u = load4(param(p, U), p, U_STRIDES, b, t, d0, lanes);
      const row = (t - t0 + 1) * n;
      const bRow = rowAt(p, BMAT, B_STRIDES, b, t);
      const cRow = rowAt(p, CMAT, C_STRIDES, b, t);
      let gpre = loadDense4(param(p, GY), (b * len + t) * dim + d0, lanes);
      if (param(p, Z)) {
        // Through the gate: out = pre * silu(z).
        let pre = f32x4.mul(skip, u);
        for (let i = 0; i < n; i++)
          pre = madd(v128.load(vec(hs, row + i)), v128.load32_splat(cRow + <usize>i * cStep), pre);
        const z = load4(param(p, Z), p, Z_STRIDES, b, t, d0, lanes);
        const s = sigmoidv(z);
        const dsilu = f32x4.mul(s, madd(z, f32x4.sub(one, s), one));
        store4(param(p, DZ), (b * len + t) * dim + d0, 1, f32x4.mul(f32x4.mul(gpre, pre), dsilu), lanes);
        gpre = f32x4.mul(gpre, f32x4.mul(z, s));
      }
      v128.store(dSkipAt, madd(gpre, u, v128.load(dSkipAt)));
      let du = f32x4.mul(gpre, skip);
      let ddt = f32x4.splat(0);
      const dtu = f32x4.mul(dt, u);
      for (let i = 0; i < n; i++) {
        const aqi = v128.load(vec(aq, i));
        const a = v128.load(vec(decay, row + i));
        const aprev = f32x4.mul(a, v128.load(vec(hs, row - n + i)));
        const bv = v128.load32_splat(bRow + <usize>i * bStep);
        const at = vec(partDC, (b * len + t) * n + i) - partDC;
        // dL/dh_t = C_t dy_t + exp(delta_{t+1} A) dL/dh_{t+1}
        const dhi = madd(gpre, v128.load32_splat(cRow + <usize>i * cStep), v128.load(vec(dh, i)));
        // dC and dB sum over channels: lanes are added up in scanReducePartials.
        v128.store(partDC + at, madd(gpre, v128.load(vec(hs, row + i)), v128.load(partDC + at)));
        v128.store(partDB + at, madd(dhi, dtu, v128.load(partDB + at)));
        ddt = madd(dhi, madd(aqi, aprev, f32x4.mul(bv, u)), ddt);
        v128.store(vec(acc, i), madd(f32x4.mul(dhi, dt), aprev, v128.load(vec(acc, i))));
        du = madd(f32x4.mul(dhi, dt), bv, du);
        v128.store(vec(dh, i), f32x4.mul(dhi, a));
      }
      // softplus' = sigmoid below the threshold of 20, 1 above it.
      const slope = param(p, SOFTPLUS) ? v128.bitselect(one, sigmoidv(raw), f32x4.gt(raw, f32x4.splat(20))) : one;
      const draw = f32x4.mul(ddt, slope);
      v128.store(dBiasAt, f32x4.add(v128.load(dBiasAt), draw));
      store4(param(p, DDELTA), (b * len + t) * dim + d0, 1, draw, lanes);
      store4(param(p, DU), (b * len + t) * dim + d0, 1, du, lanes);
    }
  }
  if (param(p, DH0)) {
    for (let i = 0; i < n; i++) scatterState(param(p, DH0), b * dim + d0, n, i, v128.load(vec(dh, i)), lanes);
  }
}

/**
 * Backward pass. Threads own blocks of four channels across the whole batch, so the
 * per-channel gradients have one writer each; dB and dC, which sum over channels, are added
 * into per-thread partials [B, L, N] that scanReducePartials combines.
 */
export function scanBackward(p: usize, tid: i32, nthreads: i32): void {
  const dim = param(p, DIM);
  const n = param(p, NSTATE);
  const blocks = (dim + 3) >> 2;
  const scratch: usize = <usize>param(p, SCRATCH) + <usize>tid * <usize>param(p, SCRATCH_BYTES);
  const aq = scratch;
  const dh = vec(aq, n);
  const acc = vec(dh, n);
  const hs = vec(acc, n + 2);
  const decay = vec(hs, (param(p, CHUNK) + 1) * n);
  const seqN = param(p, BATCH) * param(p, LEN) * n;
  // Per-thread partials of dB then dC, four lanes each: [B, L, N] vectors.
  const partDB: usize = <usize>param(p, PARTS) + ((<usize>(tid * 2 * seqN)) << 4);
  const partDC: usize = partDB + ((<usize>seqN) << 4);
  memory.fill(partDB, 0, (<usize>(2 * seqN)) << 4);
  for (let blk = shareStart(blocks, tid, nthreads); blk < shareStart(blocks, tid + 1, nthreads); blk++) {
    const d0 = blk << 2;
    const lanes = min(4, dim - d0);
    for (let i = 0; i < n; i++) v128.store(vec(aq, i), gatherState(param(p, A), d0, n, i, lanes));
    memory.fill(acc, 0, (<usize>(n + 2)) << 4);
    const bias = channels(param(p, BIAS), d0, lanes);
    const skip = channels(param(p, DSKIP), d0, lanes);
    for (let b = 0; b < param(p, BATCH); b++)
      backwardSequence(p, b, d0, lanes, aq, dh, acc, hs, decay, partDB, partDC, bias, skip);
    for (let i = 0; i < n; i++) scatterState(param(p, DA), d0, n, i, v128.load(vec(acc, i)), lanes);
    if (param(p, DD)) store4(param(p, DD), d0, 1, v128.load(vec(acc, n)), lanes);
    if (param(p, DBIAS)) store4(param(p, DBIAS), d0, 1, v128.load(vec(acc, n + 1)), lanes);
  }
}

/** dB, dC = sums of the per-thread, per-lane partials, in a fixed order so the result is deterministic. */
export function scanReducePartials(p: usize, parts: i32, tid: i32, nthreads: i32): void {
  const seqN = param(p, BATCH) * param(p, LEN) * param(p, NSTATE);
  const base: usize = <usize>param(p, PARTS);
  const e0 = shareStart(seqN, tid, nthreads);
  const e1 = shareStart(seqN, tid + 1, nthreads);
  for (let e = e0; e < e1; e++) {
    let db = f32x4.splat(0);
    let dc = f32x4.splat(0);
    for (let q = 0; q < parts; q++) {
      db = f32x4.add(db, v128.load(vec(base, q * 2 * seqN + e)));
      dc = f32x4.add(dc, v128.load(vec(base, q * 2 * seqN + seqN + e)));
    }
    store<f32>(f32p(param(p, DB), e), hsum(db));
    store<f32>(f32p(param(p, DC), e), hsum(dc));
  }
}
