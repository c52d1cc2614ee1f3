import type { ScanGrads, ScanInputs, View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

function refInputs(ctx: WasmContext, s: ScanInputs): ScanInputs {
  return {
    u: ctx.asRef(s.u),
    delta: ctx.asRef(s.delta),
    A: ctx.asRef(s.A),
    B: ctx.asRef(s.B),
    C: ctx.asRef(s.C),
    D: ctx.asRef(s.D),
    z: ctx.asRef(s.z),
    deltaBias: ctx.asRef(s.deltaBias),
    h0: ctx.asRef(s.h0),
  };
}

export function selectiveScan(ctx: WasmContext, y: View, lastState: View, chunkStates: View | null, s: ScanInputs, softplus: boolean, chunk: number): void {
  ref.selectiveScan(ctx.asRef(y), ctx.asRef(lastState), ctx.asRef(chunkStates), refInputs(ctx, s), softplus, chunk);
}

export function selectiveScanGrad(ctx: WasmContext, g: ScanGrads, gy: View, gLast: View | null, s: ScanInputs, chunkStates: View, softplus: boolean, chunk: number): void {
  const grads: ScanGrads = {
    du: ctx.asRef(g.du),
    ddelta: ctx.asRef(g.ddelta),
    dA: ctx.asRef(g.dA),
    dB: ctx.asRef(g.dB),
    dC: ctx.asRef(g.dC),
    dD: ctx.asRef(g.dD),
    dz: ctx.asRef(g.dz),
    ddeltaBias: ctx.asRef(g.ddeltaBias),
    dh0: ctx.asRef(g.dh0),
  };
  ref.selectiveScanGrad(grads, ctx.asRef(gy), ctx.asRef(gLast), refInputs(ctx, s), ctx.asRef(chunkStates), softplus, chunk);
}
