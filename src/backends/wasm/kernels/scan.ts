import type { ScanGrads, ScanInputs, View } from '../../backend.js';
import * as P from '../abi/scan.js';
import type { WasmContext } from '../context.js';

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** Writes the parameter block shared by the forward and backward kernels; returns its words. */
function writeParams(ctx: WasmContext, block: number, s: ScanInputs, softplus: boolean, chunk: number): Int32Array {
  const w = new Int32Array(ctx.memory.buffer, block, P.WORDS);
  w.fill(0);
  const addr = (v: View | null) => (v ? ctx.addr(v) : 0);
  w[P.U] = addr(s.u);
  w[P.DELTA] = addr(s.delta);
  w[P.A] = addr(s.A);
  w[P.BMAT] = addr(s.B);
  w[P.CMAT] = addr(s.C);
  w[P.DSKIP] = addr(s.D);
  w[P.Z] = addr(s.z);
  w[P.BIAS] = addr(s.deltaBias);
  w[P.H0] = addr(s.h0);
  w[P.BATCH] = s.u.shape[0]!;
  w[P.LEN] = s.u.shape[1]!;
  w[P.DIM] = s.u.shape[2]!;
  w[P.NSTATE] = s.A.shape[1]!;
  w.set(s.u.strides, P.U_STRIDES);
  w.set(s.delta.strides, P.DELTA_STRIDES);
  if (s.z) w.set(s.z.strides, P.Z_STRIDES);
  w.set(s.B.strides, P.B_STRIDES);
  w.set(s.C.strides, P.C_STRIDES);
  w[P.SOFTPLUS] = softplus ? 1 : 0;
  w[P.CHUNK] = chunk;
  return w;
}

function work(s: ScanInputs): number {
  return s.u.shape[0]! * s.u.shape[1]! * s.u.shape[2]! * s.A.shape[1]!;
}

export function selectiveScan(
  ctx: WasmContext,
  y: View,
  lastState: View,
  chunkStates: View | null,
  s: ScanInputs,
  softplus: boolean,
  chunk: number,
): void {
  const n = s.A.shape[1]!;
  const perThread = align(2 * n * 16);
  const block = ctx.scratch(P.WORDS * 4);
  const scratch = ctx.scratch(perThread * ctx.threads);
  try {
    const w = writeParams(ctx, block, s, softplus, chunk);
    w[P.Y] = ctx.addr(y);
    w[P.LAST] = ctx.addr(lastState);
    w[P.STATES] = chunkStates ? ctx.addr(chunkStates) : 0;
    w[P.SCRATCH] = scratch;
    w[P.SCRATCH_BYTES] = perThread;
    ctx.run('scanForward', [block], work(s));
  } finally {
    ctx.freeScratch(scratch);
    ctx.freeScratch(block);
  }
}

export function selectiveScanGrad(
  ctx: WasmContext,
  g: ScanGrads,
  gy: View,
  gLast: View | null,
  s: ScanInputs,
  chunkStates: View,
  softplus: boolean,
  chunk: number,
): void {
  const [batch, len] = s.u.shape as [number, number];
  const n = s.A.shape[1]!;
  // aq, dh, per-channel sums (n + 2), then the chunk's states and decays ((chunk + 1) * n each).
  const perThread = align((3 * n + 2 + 2 * (chunk + 1) * n) * 16);
  const block = ctx.scratch(P.WORDS * 4);
  const scratch = ctx.scratch(perThread * ctx.threads);
  // One dB and one dC partial [B, L, N] of four-lane vectors per thread, back to back.
  const parts = ctx.scratch(2 * batch * len * n * 16 * ctx.threads);
  try {
    const w = writeParams(ctx, block, s, softplus, chunk);
    const addr = (v: View | null) => (v ? ctx.addr(v) : 0);
    w[P.STATES] = ctx.addr(chunkStates);
    w[P.SCRATCH] = scratch;
    w[P.SCRATCH_BYTES] = perThread;
    w[P.GY] = ctx.addr(gy);
    w[P.GLAST] = addr(gLast);
    w[P.DU] = ctx.addr(g.du);
    w[P.DDELTA] = ctx.addr(g.ddelta);
    w[P.DA] = ctx.addr(g.dA);
    w[P.DB] = ctx.addr(g.dB);
    w[P.DC] = ctx.addr(g.dC);
    w[P.DD] = addr(g.dD);
    w[P.DZ] = addr(g.dz);
    w[P.DBIAS] = addr(g.ddeltaBias);
    w[P.DH0] = addr(g.dh0);
    w[P.PARTS] = parts;
    const used = ctx.run('scanBackward', [block], work(s));
    ctx.run('scanReducePartials', [block, used], batch * len * n);
  } finally {
    ctx.freeScratch(parts);
    ctx.freeScratch(scratch);
    ctx.freeScratch(block);
  }
}
