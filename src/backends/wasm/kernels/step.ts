import type { View } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { alignToBlock } from '../heap.js';

const BARRIER_BYTES = 16;

/**
 * The fused recurrent step of the Mamba mixer (Kernels.mambaStep): one call, every thread, the
 * phases separated by a barrier inside the kernel. x and z keep their row strides (slices of
 * in_proj's output); the op hands every other view contiguous.
 */
export function mambaStep(
  ctx: WasmContext,
  y: View,
  convState: View,
  ssmState: View,
  x: View,
  z: View,
  convWeight: View,
  convBias: View | null,
  xProjWeight: View,
  dtProjWeight: View,
  dtBias: View | null,
  ALog: View,
  D: View | null,
): void {
  const [batch, dInner] = x.shape as [number, number];
  const K = convWeight.shape[1]!;
  const [R, N] = [dtProjWeight.shape[1]!, ALog.shape[1]!];
  if (batch === 0 || dInner === 0) return;
  // The kernel walks x and z rows densely; a transposed view is the rare call it leaves to the reference.
  if (dInner > 1 && (x.strides[1] !== 1 || z.strides[1] !== 1)) {
    return ctx.reference('mambaStep', [
      y,
      convState,
      ssmState,
      x,
      z,
      convWeight,
      convBias,
      xProjWeight,
      dtProjWeight,
      dtBias,
      ALog,
      D,
    ]);
  }
  // Scratch: u, delta, x_proj's output, then the barrier's words, each on its own cache lines.
  const [uBytes, deltaBytes, xdbcBytes] = [batch * dInner, batch * dInner, batch * (R + 2 * N)].map((n) =>
    alignToBlock(4 * n),
  ) as [number, number, number];
  const u = ctx.scratch(uBytes + deltaBytes + xdbcBytes + BARRIER_BYTES);
  const delta = u + uBytes;
  const xdbc = delta + deltaBytes;
  const sync = xdbc + xdbcBytes;
  try {
    new Int32Array(ctx.memory.buffer, sync, BARRIER_BYTES / 4).fill(0);
    const addr = (v: View | null) => (v ? ctx.addr(v) : 0);
    // Work: the weights each token reads, dominated by x_proj and dt_proj.
    const work = (batch * dInner * (2 * (R + 2 * N) + K + 4 * N)) / 4;
    ctx.run(
      'mambaStep',
      [
        ctx.addr(y),
        ctx.addr(convState),
        ctx.addr(ssmState),
        ctx.addr(x),
        x.strides[0]!,
        ctx.addr(z),
        z.strides[0]!,
        ctx.addr(convWeight),
        addr(convBias),
        ctx.addr(xProjWeight),
        ctx.addr(dtProjWeight),
        addr(dtBias),
        ctx.addr(ALog),
        addr(D),
        batch,
        dInner,
        K,
        R,
        N,
        u,
        delta,
        xdbc,
        sync,
        ctx.pool.canBlock ? 1 : 0,
      ],
      work,
    );
  } finally {
    ctx.freeScratch(u);
  }
}
