// Single-precision matrix products C[M,N] = A[M,K] · B[K,N]. A and B are read through a row and
// a column stride each, so transposed operands need no copy; C is contiguous (row stride N).
//
// gemm follows the Goto/BLIS scheme: a KC x NC block of B and an MC x KC block of A are packed
// into contiguous micro-panels of this thread's scratch, and a 4x8 register-tiled micro-kernel
// multiplies them. gemv handles a single row of C (the JS wrapper turns a single column into
// one), which is memory-bound: it streams each element of B once.
//
// Both split the output between threads into disjoint parts, and the order in which every
// output element accumulates its K products depends only on K and the block size, so results
// are the same for any number of threads.
import { MR, NR } from '../abi/gemm';
import { hsum, madd, shareStart } from './common';

// The micro-tile (MR x NR): 4 rows x 8 columns, eight v128 accumulators. V8 on x64 allocates 15
// xmm registers; tiles with more accumulators (5x8, 6x8, 4x12, 8x8) measured at half the speed
// of 4x8 and 2x16 on this code, which reach the mul+add throughput of the core.
// Columns of one gemv output chunk, whose running sums stay in L2 while rows of B stream by:
// long runs along each row keep the hardware prefetcher ahead (4K-column chunks measured 40%
// slower than 50K-column ones).
const GEMV_CHUNK = 32768;
// gemv hands threads output columns in groups of 16, a cache line of C.
const GEMV_GROUP = 16;

// The current call's parameters. Every wasm instance is one thread, so globals are thread-private.
let SAM: i32 = 0;
let SAK: i32 = 0;
let SBK: i32 = 0;
let SBN: i32 = 0;
let N: i32 = 0;
let K: i32 = 0;
let KC: i32 = 0;
let MC: i32 = 0;
let NC: i32 = 0;
let PA: usize = 0;
let PB: usize = 0;
let TILE: usize = 0;

// @ts-ignore: decorator
@inline function elems(offset: i32): usize {
  // Offsets may be negative (flipped views); the wrap-around of usize arithmetic handles that.
  return (<usize>offset) << 2;
}

/**
 * Packs `lines` (at most 4) lines of kc elements, line l starting at src + l*across and stepping
 * by `along`, so that the 4 elements of step p lie at dst + p*rowBytes; missing lines become 0.
 */
function pack4(dst: usize, rowBytes: usize, src: usize, along: i32, across: i32, kc: i32, lines: i32): void {
  let p = 0;
  if (lines == 4 && along == 1) {
    // Lines contiguous along k: load 4x4 blocks and transpose them in registers.
    const s1 = src + elems(across);
    const s2 = src + elems(2 * across);
    const s3 = src + elems(3 * across);
    for (; p + 4 <= kc; p += 4) {
      const o = (<usize>p) << 2;
      const r0 = v128.load(src + o);
      const r1 = v128.load(s1 + o);
      const r2 = v128.load(s2 + o);
      const r3 = v128.load(s3 + o);
      const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>p * rowBytes;
      v128.store(d, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(d + rowBytes, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * rowBytes, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * rowBytes, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  } else if (lines == 4 && across == 1) {
    for (; p < kc; p++) v128.store(dst + <usize>p * rowBytes, v128.load(src + elems(p * along)));
  }
  for (; p < kc; p++) {
    const d = dst + <usize>p * rowBytes;
    const s = src + elems(p * along);
    for (let l = 0; l < 4; l++) store<f32>(d + ((<usize>l) << 2), l < lines ? load<f32>(s + elems(l * across)) : 0);
  }
}

/** Packs the mc x kc block of A at src into MR-row micro-panels at PA. */
function packA(src: usize, mc: i32, kc: i32): void {
  for (let i = 0; i < mc; i += MR) {
    pack4(PA + ((<usize>(i * kc)) << 2), MR << 2, src + elems(i * SAM), SAK, SAM, kc, min(MR, mc - i));
  }
}

/** Packs the kc x nc block of B at src into NR-column micro-panels at PB. */
function packB(src: usize, kc: i32, nc: i32): void {
  for (let j = 0; j < nc; j += NR) {
    const dst = PB + ((<usize>(j * kc)) << 2);
    const col = src + elems(j * SBN);
    pack4(dst, NR << 2, col, SBK, SBN, kc, min(4, nc - j));
    pack4(dst + 16, NR << 2, col + elems(4 * SBN), SBK, SBN, kc, max(0, min(4, nc - j - 4)));
  }
}

/**
 * C tile (rows x cols at c, row stride ldc bytes) = (accumulate ? C : 0) + the product of an A
 * micro-panel and a B micro-panel over kc. Inlined into the block loop: as a function of its
 * own, V8's code for it ran 15% slower.
 */
// @ts-ignore: decorator
@inline function kernel(
  pa: usize,
  pb: usize,
  kc: i32,
  c: usize,
  ldc: usize,
  rows: i32,
  cols: i32,
  accumulate: bool,
): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let a = pa;
  let b = pb;
  const end = pa + <usize>kc * (MR << 2);
  while (a < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(a, 12);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    a += 16;
    b += 32;
  }
  if (rows == MR && cols == NR) {
    const c1 = c + ldc;
    const c2 = c1 + ldc;
    const c3 = c2 + ldc;
    if (accumulate) {
      c00 = f32x4.add(v128.load(c), c00);
      c01 = f32x4.add(v128.load(c, 16), c01);
      c10 = f32x4.add(v128.load(c1), c10);
      c11 = f32x4.add(v128.load(c1, 16), c11);
      c20 = f32x4.add(v128.load(c2), c20);
      c21 = f32x4.add(v128.load(c2, 16), c21);
      c30 = f32x4.add(v128.load(c3), c30);
      c31 = f32x4.add(v128.load(c3, 16), c31);
    }
    v128.store(c, c00);
    v128.store(c, c01, 16);
    v128.store(c1, c10);
    v128.store(c1, c11, 16);
    v128.store(c2, c20);
    v128.store(c2, c21, 16);
    v128.store(c3, c30);
    v128.store(c3, c31, 16);
    return;
  }
  v128.store(TILE, c00);
  v128.store(TILE, c01, 16);
  v128.store(TILE, c10, 32);
  v128.store(TILE, c11, 48);
  v128.store(TILE, c20, 64);
  v128.store(TILE, c21, 80);
  v128.store(TILE, c30, 96);
  v128.store(TILE, c31, 112);
  for (let i = 0; i < rows; i++) {
    const row = c + <usize>i * ldc;
    for (let j = 0; j < cols; j++) {
      const dst = row + ((<usize>j) << 2);
      const v = load<f32>(TILE + ((<usize>(i * NR + j)) << 2));
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

/** C[m0:m1, n0:n1] of one product; a, b, c point at the product's first elements. */
function gemmRange(c: usize, a: usize, b: usize, m0: i32, m1: i32, n0: i32, n1: i32): void {
  const ldc = (<usize>N) << 2;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b + elems(pc * SBK + jc * SBN), kc, nc);
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = min(MC, m1 - ic);
        packA(a + elems(ic * SAM + pc * SAK), mc, kc);
        const cBlock = c + ((<usize>(ic * N + jc)) << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          const pb = PB + ((<usize>(jr * kc)) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            kernel(
              PA + ((<usize>(ir * kc)) << 2),
              pb,
              kc,
              cBlock + <usize>ir * ldc + ((<usize>jr) << 2),
              ldc,
              min(MR, mc - ir),
              min(NR, nc - jr),
              pc > 0,
            );
          }
        }
      }
    }
  }
}

/** Whether threads take whole products: when the batch divides evenly or is long enough to balance. */
// @ts-ignore: decorator
@inline function splitBatches(nbatch: i32, nthreads: i32): bool {
  return nbatch % nthreads == 0 || nbatch >= 4 * nthreads;
}

/**
 * C = A · B for nbatch products. table holds an (A offset, B offset) pair of i32 element offsets
 * per product; product t writes C + t*m*n. scratch holds threadBytes per thread for the packed
 * blocks (mc*kc and kc*nc floats) and one tile; kc, mc, nc are the block sizes (mc a multiple
 * of 4, nc of 8).
 */
export function gemm(
  c: usize,
  a: usize,
  sam: i32,
  sak: i32,
  b: usize,
  sbk: i32,
  sbn: i32,
  m: i32,
  n: i32,
  k: i32,
  table: usize,
  nbatch: i32,
  scratch: usize,
  threadBytes: i32,
  kc: i32,
  mc: i32,
  nc: i32,
  tid: i32,
  nthreads: i32,
): void {
  SAM = sam;
  SAK = sak;
  SBK = sbk;
  SBN = sbn;
  N = n;
  K = k;
  KC = kc;
  MC = mc;
  NC = nc;
  PA = scratch + <usize>tid * <usize>threadBytes;
  PB = PA + ((<usize>(mc * kc)) << 2);
  TILE = PB + ((<usize>(kc * nc)) << 2);
  const cStride = (<usize>(m * n)) << 2;
  if (splitBatches(nbatch, nthreads)) {
    const t1 = shareStart(nbatch, tid + 1, nthreads);
    for (let t = shareStart(nbatch, tid, nthreads); t < t1; t++) {
      gemmRange(
        c + <usize>t * cStride,
        a + elems(load<i32>(table + ((<usize>t) << 3))),
        b + elems(load<i32>(table + ((<usize>t) << 3), 4)),
        0,
        m,
        0,
        n,
      );
    }
    return;
  }
  // Split the dimension whose split duplicates less packing: rows when B is the smaller operand.
  let m0 = 0;
  let m1 = m;
  let n0 = 0;
  let n1 = n;
  if (m >= n) {
    const tiles = (m + MR - 1) / MR;
    m0 = shareStart(tiles, tid, nthreads) * MR;
    m1 = min(m, shareStart(tiles, tid + 1, nthreads) * MR);
  } else {
    const tiles = (n + NR - 1) / NR;
    n0 = shareStart(tiles, tid, nthreads) * NR;
    n1 = min(n, shareStart(tiles, tid + 1, nthreads) * NR);
  }
  if (m0 >= m1 || n0 >= n1) return;
  for (let t = 0; t < nbatch; t++) {
    gemmRange(
      c + <usize>t * cStride,
      a + elems(load<i32>(table + ((<usize>t) << 3))),
      b + elems(load<i32>(table + ((<usize>t) << 3), 4)),
      m0,
      m1,
      n0,
      n1,
    );
  }
}

/** y[n0:n1] = x · B[:, n0:n1] where column n of B is contiguous (SBK == 1) and x is contiguous. */
function gemvDot(y: usize, x: usize, b: usize, n0: i32, n1: i32): void {
  // One column of B at a time: a single sequential read stream. Interleaving the columns of
  // two or more outputs to reuse loads of x measured at half the DRAM bandwidth.
  for (let n = n0; n < n1; n++) {
    const w = b + elems(n * SBN);
    let s0 = f32x4.splat(0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    let s4 = s0;
    let s5 = s0;
    let s6 = s0;
    let s7 = s0;
    let p = 0;
    for (; p + 32 <= K; p += 32) {
      const o = (<usize>p) << 2;
      s0 = madd(v128.load(w + o), v128.load(x + o), s0);
      s1 = madd(v128.load(w + o, 16), v128.load(x + o, 16), s1);
      s2 = madd(v128.load(w + o, 32), v128.load(x + o, 32), s2);
      s3 = madd(v128.load(w + o, 48), v128.load(x + o, 48), s3);
      s4 = madd(v128.load(w + o, 64), v128.load(x + o, 64), s4);
      s5 = madd(v128.load(w + o, 80), v128.load(x + o, 80), s5);
      s6 = madd(v128.load(w + o, 96), v128.load(x + o, 96), s6);
      s7 = madd(v128.load(w + o, 112), v128.load(x + o, 112), s7);
    }
    for (; p + 4 <= K; p += 4) s0 = madd(v128.load(w + ((<usize>p) << 2)), v128.load(x + ((<usize>p) << 2)), s0);
    let total = hsum(
      f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(f32x4.add(s4, s5), f32x4.add(s6, s7))),
    );
    for (; p < K; p++) total += load<f32>(w + ((<usize>p) << 2)) * load<f32>(x + ((<usize>p) << 2));
    store<f32>(y + ((<usize>n) << 2), total);
  }
}

/** y[n0:n1] = x · B[:, n0:n1] where row k of B is contiguous (SBN == 1); x steps by SAK. */
function gemvAxpy(y: usize, x: usize, b: usize, n0: i32, n1: i32): void {
  const row = elems(SBK);
  for (let j0 = n0; j0 < n1; j0 += GEMV_CHUNK) {
    const j1 = min(n1, j0 + GEMV_CHUNK);
    memory.fill(y + ((<usize>j0) << 2), 0, (<usize>(j1 - j0)) << 2);
    let p = 0;
    // Four rows of B per pass over the chunk: a quarter of the loads and stores of y.
    for (; p + 4 <= K; p += 4) {
      const x0 = v128.load32_splat(x + elems(p * SAK));
      const x1 = v128.load32_splat(x + elems((p + 1) * SAK));
      const x2 = v128.load32_splat(x + elems((p + 2) * SAK));
      const x3 = v128.load32_splat(x + elems((p + 3) * SAK));
      const r0 = b + elems(p * SBK);
      const r1 = r0 + row;
      const r2 = r1 + row;
      const r3 = r2 + row;
      let j = j0;
      // Two vectors of y per step keep more loads of B in flight.
      for (; j + 8 <= j1; j += 8) {
        const o = (<usize>j) << 2;
        let v = v128.load(y + o);
        let u = v128.load(y + o, 16);
        v = madd(x0, v128.load(r0 + o), v);
        u = madd(x0, v128.load(r0 + o, 16), u);
        v = madd(x1, v128.load(r1 + o), v);
        u = madd(x1, v128.load(r1 + o, 16), u);
        v = madd(x2, v128.load(r2 + o), v);
        u = madd(x2, v128.load(r2 + o, 16), u);
        v = madd(x3, v128.load(r3 + o), v);
        u = madd(x3, v128.load(r3 + o, 16), u);
        v128.store(y + o, v);
        v128.store(y + o, u, 16);
      }
      if (j + 4 <= j1) {
        const o = (<usize>j) << 2;
        let v = v128.load(y + o);
        v = madd(x0, v128.load(r0 + o), v);
        v = madd(x1, v128.load(r1 + o), v);
        v = madd(x2, v128.load(r2 + o), v);
        v = madd(x3, v128.load(r3 + o), v);
        v128.store(y + o, v);
        j += 4;
      }
      for (; j < j1; j++) {
        const o = (<usize>j) << 2;
        let v = load<f32>(y + o);
        v += f32x4.extract_lane(x0, 0) * load<f32>(r0 + o);
        v += f32x4.extract_lane(x1, 0) * load<f32>(r1 + o);
        v += f32x4.extract_lane(x2, 0) * load<f32>(r2 + o);
        v += f32x4.extract_lane(x3, 0) * load<f32>(r3 + o);
        store<f32>(y + o, v);
      }
    }
    for (; p < K; p++) {
      const xp = v128.load32_splat(x + elems(p * SAK));
      const r = b + elems(p * SBK);
      let j = j0;
      for (; j + 4 <= j1; j += 4) {
        const o = (<usize>j) << 2;
        v128.store(y + o, madd(xp, v128.load(r + o), v128.load(y + o)));
      }
      for (; j < j1; j++) {
        const o = (<usize>j) << 2;
        store<f32>(y + o, load<f32>(y + o) + f32x4.extract_lane(xp, 0) * load<f32>(r + o));
      }
    }
  }
}

/** One vector-matrix product y = x · B over this thread's share [n0, n1) of the columns. */
function gemvRange(y: usize, x: usize, b: usize, xs: usize, n0: i32, n1: i32): void {
  if (SBN == 1 && SBK != 1) {
    gemvAxpy(y, x, b, n0, n1);
    return;
  }
  let xc = x;
  if (SAK != 1) {
    for (let p = 0; p < K; p++) store<f32>(xs + ((<usize>p) << 2), load<f32>(x + elems(p * SAK)));
    xc = xs;
  }
  gemvDot(y, xc, b, n0, n1);
}

/**
 * y = x · B for nbatch products of a row x (K elements, step sak) and B (K x N, strides sbk,
 * sbn), where sbk == 1 or sbn == 1. table and the output layout are gemm's (m = 1); scratch holds
 * threadBytes per thread, room for a contiguous copy of x.
 */
export function gemv(
  y: usize,
  x: usize,
  sak: i32,
  b: usize,
  sbk: i32,
  sbn: i32,
  n: i32,
  k: i32,
  table: usize,
  nbatch: i32,
  scratch: usize,
  threadBytes: i32,
  tid: i32,
  nthreads: i32,
): void {
  SAK = sak;
  SBK = sbk;
  SBN = sbn;
  N = n;
  K = k;
  const xs = scratch + <usize>tid * <usize>threadBytes;
  const yStride = (<usize>n) << 2;
  if (splitBatches(nbatch, nthreads)) {
    const t1 = shareStart(nbatch, tid + 1, nthreads);
    for (let t = shareStart(nbatch, tid, nthreads); t < t1; t++) {
      gemvRange(
        y + <usize>t * yStride,
        x + elems(load<i32>(table + ((<usize>t) << 3))),
        b + elems(load<i32>(table + ((<usize>t) << 3), 4)),
        xs,
        0,
        n,
      );
    }
    return;
  }
  const groups = (n + GEMV_GROUP - 1) / GEMV_GROUP;
  const n0 = shareStart(groups, tid, nthreads) * GEMV_GROUP;
  const n1 = min(n, shareStart(groups, tid + 1, nthreads) * GEMV_GROUP);
  if (n0 >= n1) return;
  for (let t = 0; t < nbatch; t++) {
    gemvRange(
      y + <usize>t * yStride,
      x + elems(load<i32>(table + ((<usize>t) << 3))),
      b + elems(load<i32>(table + ((<usize>t) << 3), 4)),
      xs,
      n0,
      n1,
    );
  }
}
