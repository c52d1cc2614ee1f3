import type { BinaryOp, UnaryOp, UnaryParams, View } from '../../backend.js';
import * as codes from '../abi/ops.js';
import type { WasmContext } from '../context.js';
import { sizeOf } from '../../strides.js';

const UNARY_CODES: Record<UnaryOp, number> = {
  neg: codes.UNARY_NEG,
  exp: codes.UNARY_EXP,
  log: codes.UNARY_LOG,
  sqrt: codes.UNARY_SQRT,
  rsqrt: codes.UNARY_RSQRT,
  abs: codes.UNARY_ABS,
  relu: codes.UNARY_RELU,
  leakyRelu: codes.UNARY_LEAKY_RELU,
  gelu: codes.UNARY_GELU,
  geluTanh: codes.UNARY_GELU_TANH,
  silu: codes.UNARY_SILU,
  sigmoid: codes.UNARY_SIGMOID,
  tanh: codes.UNARY_TANH,
  softplus: codes.UNARY_SOFTPLUS,
  clamp: codes.UNARY_CLAMP,
  pow: codes.UNARY_POW,
  affine: codes.UNARY_AFFINE,
};

const BINARY_CODES: Record<BinaryOp, number> = {
  add: codes.BINARY_ADD,
  sub: codes.BINARY_SUB,
  mul: codes.BINARY_MUL,
  div: codes.BINARY_DIV,
  pow: codes.BINARY_POW,
  maximum: codes.BINARY_MAXIMUM,
  minimum: codes.BINARY_MINIMUM,
  eq: codes.BINARY_EQ,
  ne: codes.BINARY_NE,
  lt: codes.BINARY_LT,
  le: codes.BINARY_LE,
  gt: codes.BINARY_GT,
  ge: codes.BINARY_GE,
};

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

export function copy(ctx: WasmContext, out: View, x: View): void {
  const layout = ctx.layout(out.shape, out, x);
  if (layout === null) return ctx.reference('copy', [out, x]);
  const mode =
    out.dtype === x.dtype ? codes.COPY_BITS : out.dtype === 'int32' ? codes.COPY_F32_TO_I32 : codes.COPY_I32_TO_F32;
  ctx.run('copy', [ctx.addr(out), ctx.addr(x), mode, layout], sizeOf(out.shape));
}

export function fill(ctx: WasmContext, out: View, value: number): void {
  const layout = ctx.layout(out.shape, out);
  if (layout === null) return ctx.reference('fill', [out, value]);
  const bits = out.dtype === 'int32' ? value | 0 : new Int32Array(new Float32Array([value]).buffer)[0]!;
  ctx.run('fill', [ctx.addr(out), bits, layout], sizeOf(out.shape));
}

export function unary(ctx: WasmContext, op: UnaryOp, out: View, x: View, params: UnaryParams): void {
  const layout = x.dtype === 'float32' ? ctx.layout(out.shape, out, x) : null;
  if (layout === null) return ctx.reference('unary', [op, out, x, params]);
  const [p0, p1] = unaryParams(op, params);
  ctx.run('unary', [UNARY_CODES[op], ctx.addr(out), ctx.addr(x), p0, p1, layout], sizeOf(out.shape));
}

export function unaryGrad(ctx: WasmContext, op: UnaryOp, out: View, x: View, g: View, params: UnaryParams): void {
  const layout = x.dtype === 'float32' ? ctx.layout(out.shape, out, x, g) : null;
  if (layout === null) return ctx.reference('unaryGrad', [op, out, x, g, params]);
  const [p0, p1] = unaryParams(op, params);
  ctx.run('unaryGrad', [UNARY_CODES[op], ctx.addr(out), ctx.addr(x), ctx.addr(g), p0, p1, layout], sizeOf(out.shape));
}

export function binary(ctx: WasmContext, op: BinaryOp, out: View, a: View, b: View): void {
  const layout = a.dtype === 'float32' ? ctx.layout(out.shape, out, a, b) : null;
  if (layout === null) return ctx.reference('binary', [op, out, a, b]);
  ctx.run('binary', [BINARY_CODES[op], ctx.addr(out), ctx.addr(a), ctx.addr(b), layout], sizeOf(out.shape));
}

export function where(ctx: WasmContext, out: View, cond: View, a: View, b: View): void {
  const layout = ctx.layout(out.shape, out, cond, a, b);
  if (layout === null) return ctx.reference('where', [out, cond, a, b]);
  ctx.run(
    'where',
    [ctx.addr(out), ctx.addr(cond), ctx.addr(a), ctx.addr(b), cond.dtype === 'int32' ? 1 : 0, layout],
    sizeOf(out.shape),
  );
}
