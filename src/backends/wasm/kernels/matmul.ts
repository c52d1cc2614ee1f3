import type { View } from '../../backend.js';
import { MR, NR } from '../abi/gemm.js';
import type { WasmContext } from '../context.js';
import { alignToBlock } from '../heap.js';

// Cache blocking (elements; the blocks hold whole MR x NR micro-tiles). A KC x NR panel of B
// (8 KiB) stays in L1 while the MC x KC block of A (64 KiB) streams from L2; the KC x NC block
// of B (512 KiB) is packed once for all of A's row blocks. On Zen 5 (48 KiB L1, 1 MiB L2 per
// core) KC 192-768, MC 64-192 and NC 512-2048 all measured within 3% of each other; the smallest
// such blocks leave room on smaller caches.
const KC = 256;
const MC = 64;
const NC = 512;

// Multiply-adds per unit of ctx.run's work. A thread does ~27 per ns in the GEMM and ~15 in a
// GEMV from cache, and waking the pool measured 30-50 us here, so a product gains from a second
// thread only past ~1-2M multiply-adds: at 64, the default threshold (32768) puts that line at 2M.
const MULTIPLY_ADDS_PER_WORK = 64;

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** One dimension that the batch walk steps through: its size and its strides in a and b. */
interface BatchDim {
  size: number;
  a: number;
  b: number;
}

/**
 * Rows of a product that can absorb the batch: when b is shared by every batch (stride 0) and
 * a's batch dimensions stack its rows at one stride, [...batch, M, K] is one [batch*M, K]
 * matrix and C, contiguous, is already laid out as [batch*M, N]. Returns that row stride, or
 * null when the batch has to be walked.
 */
function foldedRowStride(dims: BatchDim[], m: number, sam: number): number | null {
  const inner = [...dims, { size: m, a: sam, b: 0 }].filter((d) => d.size !== 1).reverse();
  if (inner.length === 0) return sam;
  const stride = inner[0]!.a;
  let rows = 1;
  for (const d of inner) {
    if (d.b !== 0 || d.a !== rows * stride) return null;
    rows *= d.size;
  }
  return stride;
}

/** (a, b) element offsets of every product of the batch, in C's order. */
function batchOffsets(dims: BatchDim[], count: number): Int32Array {
  const table = new Int32Array(2 * count);
  const index = new Array<number>(dims.length).fill(0);
  let aOff = 0;
  let bOff = 0;
  for (let t = 0; t < count; t++) {
    table[2 * t] = aOff;
    table[2 * t + 1] = bOff;
    for (let i = dims.length - 1; i >= 0; i--) {
      const d = dims[i]!;
      if (++index[i]! < d.size) {
        aOff += d.a;
        bOff += d.b;
        break;
      }
      index[i] = 0;
      aOff -= (d.size - 1) * d.a;
      bOff -= (d.size - 1) * d.b;
    }
  }
  return table;
}

/**
 * Batched C = A · B on the wasm GEMM (or GEMV for a single row or column), any strides: a and
 * b are read in place, transposed and broadcast views included.
 */
export function matmul(ctx: WasmContext, out: View, a: View, b: View): void {
  const rank = out.shape.length;
  let m = out.shape[rank - 2]!;
  const n = out.shape[rank - 1]!;
  const k = a.shape[rank - 1]!;
  let dims: BatchDim[] = out.shape.slice(0, rank - 2).map((size, i) => ({ size, a: a.strides[i]!, b: b.strides[i]! }));
  let batches = dims.reduce((p, d) => p * d.size, 1);
  if (batches * m * n === 0) return;
  if (k === 0) {
    const start = ctx.addr(out) / 4;
    ctx.array('float32').fill(0, start, start + batches * m * n);
    return;
  }
  // A stride along a dimension of size 1 is never stepped; 1 lets the contiguous paths take it.
  let sam = m === 1 ? 1 : a.strides[rank - 2]!;
  const sak = k === 1 ? 1 : a.strides[rank - 1]!;
  const sbk = k === 1 ? 1 : b.strides[rank - 2]!;
  const sbn = n === 1 ? 1 : b.strides[rank - 1]!;
  const rowStride = foldedRowStride(dims, m, sam);
  if (rowStride !== null) {
    m *= batches;
    sam = rowStride;
    dims = [];
    batches = 1;
  }
  const work = (batches * m * n * k) / MULTIPLY_ADDS_PER_WORK;
  const aAddr = ctx.addr(a);
  const bAddr = ctx.addr(b);
  const table = batchOffsets(dims, batches);

  // A single column of C is the single row of C^T = B^T · A^T, C being contiguous either way.
  const vector =
    m === 1
      ? { x: aAddr, sx: sak, w: bAddr, sk: sbk, sn: sbn, length: n, table }
      : n === 1
        ? { x: bAddr, sx: sbk, w: aAddr, sk: sak, sn: sam, length: m, table: table.map((_, i) => table[i ^ 1]!) }
        : null;
  if (vector && (vector.sk === 1 || vector.sn === 1)) {
    const threadBytes = alignToBlock(4 * k);
    const tableBytes = alignToBlock(table.byteLength);
    const scratch = ctx.scratch(tableBytes + ctx.threads * threadBytes);
    try {
      new Int32Array(ctx.memory.buffer, scratch, table.length).set(vector.table);
      const args = [
        ctx.addr(out),
        vector.x,
        vector.sx,
        vector.w,
        vector.sk,
        vector.sn,
        vector.length,
        k,
        scratch,
        batches,
        scratch + tableBytes,
        threadBytes,
      ];
      ctx.run('gemv', args, work);
    } finally {
      ctx.freeScratch(scratch);
    }
    return;
  }

  // K blocks of equal size (rounded to whole 4x4 transposes) rather than KC and a short rest.
  const kc = Math.min(k, roundUp(Math.ceil(k / Math.ceil(k / KC)), 4));
  const mc = Math.min(MC, roundUp(m, MR));
  const nc = Math.min(NC, roundUp(n, NR));
  const threadBytes = alignToBlock(4 * (mc * kc + kc * nc + MR * NR));
  const tableBytes = alignToBlock(table.byteLength);
  const scratch = ctx.scratch(tableBytes + ctx.threads * threadBytes);
  try {
    new Int32Array(ctx.memory.buffer, scratch, table.length).set(table);
    ctx.run(
      'gemm',
      [
        ctx.addr(out),
        aAddr,
        sam,
        sak,
        bAddr,
        sbk,
        sbn,
        m,
        n,
        k,
        scratch,
        batches,
        scratch + tableBytes,
        threadBytes,
        kc,
        mc,
        nc,
      ],
      work,
    );
  } finally {
    ctx.freeScratch(scratch);
  }
}
