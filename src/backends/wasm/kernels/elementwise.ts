import type { BinaryOp, UnaryOp, UnaryParams, View } from '../../backend.js';
import type { WasmContext } from '../context.js';

const UNARY_OPS: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'relu', 'leakyRelu', 'gelu', 'geluTanh', 'silu', 'sigmoid', 'tanh', 'softplus', 'clamp', 'pow', 'affine'];
const BINARY_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];

function unaryParams(op: UnaryOp, p: UnaryParams): [number, number] {
  switch (op) {
    case 'leakyRelu':
      return [p.slope ?? 0.01, 0];
    case 'softplus':
      return [p.beta ?? 1, p.threshold ?? 20];
    case 'clamp':
      return [p.min ?? -Infinity, p.max ?? Infinity];
    case 'pow':
      return [p.exponent ?? 1, 0];
    case 'affine':
      return [p.scale ?? 1, p.shift ?? 0];
    default:
      return [0, 0];
  }
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function copy(ctx: WasmContext, out: View, x: View): void {
  const layout = ctx.layout(out.shape, out, x);
  if (layout === null) return ctx.reference('copy', [out, x]);
  const mode = out.dtype === x.dtype ? 0 : out.dtype === 'int32' ? 1 : 2;
  ctx.run('copy', [ctx.addr(out), ctx.addr(x), mode, layout], count(out.shape));
}

export function fill(ctx: WasmContext, out: View, value: number): void {
  const layout = ctx.layout(out.shape, out);
  if (layout === null) return ctx.reference('fill', [out, value]);
  const bits = out.dtype === 'int32' ? value | 0 : new Int32Array(new Float32Array([value]).buffer)[0]!;
  ctx.run('fill', [ctx.addr(out), bits, layout], count(out.shape));
}

export function unary(ctx: WasmContext, op: UnaryOp, out: View, x: View, params: UnaryParams): void {
  const layout = x.dtype === 'float32' ? ctx.layout(out.shape, out, x) : null;
  if (layout === null) return ctx.reference('unary', [op, out, x, params]);
  const [p0, p1] = unaryParams(op, params);
  ctx.run('unary', [UNARY_OPS.indexOf(op), ctx.addr(out), ctx.addr(x), p0, p1, layout], count(out.shape));
}

export function unaryGrad(ctx: WasmContext, op: UnaryOp, out: View, x: View, g: View, params: UnaryParams): void {
  const layout = x.dtype === 'float32' ? ctx.layout(out.shape, out, x, g) : null;
  if (layout === null) return ctx.reference('unaryGrad', [op, out, x, g, params]);
  const [p0, p1] = unaryParams(op, params);
  ctx.run('unaryGrad', [UNARY_OPS.indexOf(op), ctx.addr(out), ctx.addr(x), ctx.addr(g), p0, p1, layout], count(out.shape));
}

export function binary(ctx: WasmContext, op: BinaryOp, out: View, a: View, b: View): void {
  const layout = a.dtype === 'float32' ? ctx.layout(out.shape, out, a, b) : null;
  if (layout === null) return ctx.reference('binary', [op, out, a, b]);
  ctx.run('binary', [BINARY_OPS.indexOf(op), ctx.addr(out), ctx.addr(a), ctx.addr(b), layout], count(out.shape));
}

export function where(ctx: WasmContext, out: View, cond: View, a: View, b: View): void {
  const layout = ctx.layout(out.shape, out, cond, a, b);
  if (layout === null) return ctx.reference('where', [out, cond, a, b]);
  ctx.run('where', [ctx.addr(out), ctx.addr(cond), ctx.addr(a), ctx.addr(b), cond.dtype === 'int32' ? 1 : 0, layout], count(out.shape));
}
