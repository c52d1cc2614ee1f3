import type { ScanGrads, ScanInputs, View } from '../../backend.js';
import type { WasmContext } from '../context.js';

// Word offsets of the parameter block, as in assembly/scan.ts.
const WORDS = 47;
const SLOT = {
  y: 0, last: 1, states: 2, u: 3, delta: 4, A: 5, B: 6, C: 7, D: 8, z: 9, bias: 10, h0: 11,
  batch: 12, len: 13, dim: 14, n: 15, uStrides: 16, deltaStrides: 19, zStrides: 22, bStrides: 25, cStrides: 28,
  softplus: 31, chunk: 32, scratch: 33, scratchBytes: 34,
  gy: 35, gLast: 36, du: 37, ddelta: 38, dA: 39, dB: 40, dC: 41, dD: 42, dz: 43, dbias: 44, dh0: 45, parts: 46,
} as const;

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** Writes the parameter block shared by the forward and backward kernels; returns its words. */
function writeParams(ctx: WasmContext, block: number, s: ScanInputs, softplus: boolean, chunk: number): Int32Array {
  const w = new Int32Array(ctx.memory.buffer, block, WORDS);
  w.fill(0);
  const addr = (v: View | null) => (v ? ctx.addr(v) : 0);
  w[SLOT.u] = addr(s.u);
  w[SLOT.delta] = addr(s.delta);
  w[SLOT.A] = addr(s.A);
  w[SLOT.B] = addr(s.B);
  w[SLOT.C] = addr(s.C);
  w[SLOT.D] = addr(s.D);
  w[SLOT.z] = addr(s.z);
  w[SLOT.bias] = addr(s.deltaBias);
  w[SLOT.h0] = addr(s.h0);
  w[SLOT.batch] = s.u.shape[0]!;
  w[SLOT.len] = s.u.shape[1]!;
  w[SLOT.dim] = s.u.shape[2]!;
  w[SLOT.n] = s.A.shape[1]!;
  w.set(s.u.strides, SLOT.uStrides);
  w.set(s.delta.strides, SLOT.deltaStrides);
  if (s.z) w.set(s.z.strides, SLOT.zStrides);
  w.set(s.B.strides, SLOT.bStrides);
  w.set(s.C.strides, SLOT.cStrides);
  w[SLOT.softplus] = softplus ? 1 : 0;
  w[SLOT.chunk] = chunk;
  return w;
}

function work(s: ScanInputs): number {
  return s.u.shape[0]! * s.u.shape[1]! * s.u.shape[2]! * s.A.shape[1]!;
}

export function selectiveScan(ctx: WasmContext, y: View, lastState: View, chunkStates: View | null, s: ScanInputs, softplus: boolean, chunk: number): void {
  const n = s.A.shape[1]!;
  const perThread = align(2 * n * 16);
  const block = ctx.scratch(WORDS * 4);
  const scratch = ctx.scratch(perThread * ctx.threads);
  try {
    const w = writeParams(ctx, block, s, softplus, chunk);
    w[SLOT.y] = ctx.addr(y);
    w[SLOT.last] = ctx.addr(lastState);
    w[SLOT.states] = chunkStates ? ctx.addr(chunkStates) : 0;
    w[SLOT.scratch] = scratch;
    w[SLOT.scratchBytes] = perThread;
    ctx.run('scanForward', [block], work(s));
  } finally {
    ctx.freeScratch(scratch);
    ctx.freeScratch(block);
  }
}

export function selectiveScanGrad(ctx: WasmContext, g: ScanGrads, gy: View, gLast: View | null, s: ScanInputs, chunkStates: View, softplus: boolean, chunk: number): void {
  const [batch, len] = s.u.shape as [number, number];
  const n = s.A.shape[1]!;
  // aq, dh, per-channel sums (n + 2), then the chunk's states and decays ((chunk + 1) * n each).
  const perThread = align((3 * n + 2 + 2 * (chunk + 1) * n) * 16);
  const block = ctx.scratch(WORDS * 4);
  const scratch = ctx.scratch(perThread * ctx.threads);
  // One dB and one dC partial [B, L, N] of four-lane vectors per thread, back to back.
  const parts = ctx.scratch(2 * batch * len * n * 16 * ctx.threads);
  try {
    const w = writeParams(ctx, block, s, softplus, chunk);
    const addr = (v: View | null) => (v ? ctx.addr(v) : 0);
    w[SLOT.states] = ctx.addr(chunkStates);
    w[SLOT.scratch] = scratch;
    w[SLOT.scratchBytes] = perThread;
    w[SLOT.gy] = ctx.addr(gy);
    w[SLOT.gLast] = addr(gLast);
    w[SLOT.du] = ctx.addr(g.du);
    w[SLOT.ddelta] = ctx.addr(g.ddelta);
    w[SLOT.dA] = ctx.addr(g.dA);
    w[SLOT.dB] = ctx.addr(g.dB);
    w[SLOT.dC] = ctx.addr(g.dC);
    w[SLOT.dD] = addr(g.dD);
    w[SLOT.dz] = addr(g.dz);
    w[SLOT.dbias] = addr(g.ddeltaBias);
    w[SLOT.dh0] = addr(g.dh0);
    w[SLOT.parts] = parts;
    const used = ctx.run('scanBackward', [block], work(s));
    ctx.run('scanReducePartials', [block, used], batch * len * n);
  } finally {
    ctx.freeScratch(parts);
    ctx.freeScratch(scratch);
    ctx.freeScratch(block);
  }
}
