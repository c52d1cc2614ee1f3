import type { BinaryOp, UnaryOp, UnaryParams, View } from '../backends/backend.js';
import { attach } from '../tensor/autograd.js';
import { isFloat, type DType } from '../backends/dtype.js';
import { broadcastShapes, broadcastStrides } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { backendOf, empty, filled, requireFloat, requireSameDType, sumToShape } from './helpers.js';
import { contiguous } from './view.js';

/** Ops that also make sense on int32 tensors. */
const INTEGER_UNARY = new Set<UnaryOp>(['neg', 'abs', 'relu', 'clamp', 'affine']);

/** x read as if it had the broadcast shape `shape`. */
function broadcastView(x: Tensor, shape: readonly number[]): View {
  return { ...x.view(), shape, strides: broadcastStrides(x.shape, x.strides, shape) };
}

function unaryOp(op: UnaryOp, x: Tensor, params: UnaryParams = {}): Tensor {
  const integerOk =
    INTEGER_UNARY.has(op) && (op !== 'affine' || (Number.isInteger(params.scale) && Number.isInteger(params.shift)));
  if (!integerOk) requireFloat(op, x);
  const backend = x.backend;
  const out = empty(x.shape, x.dtype, backend);
  backend.unary(op, out.view(), x.view(), params);
  attach(op, [x], [out], [x], ([g], [xs]) => {
    const xc = contiguous(xs!);
    const gc = contiguous(g!);
    const gx = empty(xs!.shape, xs!.dtype, backend);
    backend.unaryGrad(op, gx.view(), xc.view(), gc.view(), params);
    return [gx];
  });
  return out;
}

/** Elementwise negation, -x. */
export const neg = (x: Tensor) => unaryOp('neg', x);
/** Elementwise exponential, e^x. */
export const exp = (x: Tensor) => unaryOp('exp', x);
/** Elementwise natural logarithm (-Infinity at 0, NaN below). */
export const log = (x: Tensor) => unaryOp('log', x);
/** Elementwise square root (NaN below 0). */
export const sqrt = (x: Tensor) => unaryOp('sqrt', x);
/** Elementwise 1 / sqrt(x), in one pass. */
export const rsqrt = (x: Tensor) => unaryOp('rsqrt', x);
/** Elementwise absolute value |x| (float or int32). */
export const abs = (x: Tensor) => unaryOp('abs', x);
/** Elementwise max(x, 0) (float or int32). */
export const relu = (x: Tensor) => unaryOp('relu', x);
/** Elementwise x where x > 0, else slope * x (PyTorch's default slope 0.01). */
export const leakyRelu = (x: Tensor, slope = 0.01) => unaryOp('leakyRelu', x, { slope });
/** GELU; the exact erf form by default, PyTorch's approximate='tanh' on request. */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none') =>
  unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
/** Elementwise x * sigmoid(x) (SiLU, also called swish): Mamba's gate. */
export const silu = (x: Tensor) => unaryOp('silu', x);
/** Elementwise 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor) => unaryOp('sigmoid', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor) => unaryOp('tanh', x);
/** log(1 + exp(beta x)) / beta, linear above the threshold (20, as in PyTorch and the Mamba kernels). */
export const softplus = (x: Tensor, beta = 1, threshold = 20) => unaryOp('softplus', x, { beta, threshold });
/** Elementwise x limited to [min, max]; either bound may be left out. */
export const clamp = (x: Tensor, min?: number, max?: number) =>
  unaryOp('clamp', x, { ...(min !== undefined && { min }), ...(max !== undefined && { max }) });
/** Elementwise x * x. */
export const square = (x: Tensor) => unaryOp('pow', x, { exponent: 2 });
/** x * scale + shift in one pass. */
export const affine = (x: Tensor, scale: number, shift = 0) => unaryOp('affine', x, { scale, shift });

function scalarLike(value: number, like: Tensor): Tensor {
  return filled([], like.dtype, like.backend, value);
}

function binaryOp(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const backend = backendOf(op, a, b);
  requireSameDType(op, a, b);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = empty(shape, a.dtype, backend);
  backend.binary(op, out.view(), broadcastView(a, shape), broadcastView(b, shape));
  const rule = BINARY_GRADS[op];
  if (rule) attach(op, [a, b], [out], [a, b, out], ([g], [as, bs, os], needs) => rule(g!, as!, bs!, os!, needs));
  return out;
}

type BinaryRule = (g: Tensor, a: Tensor, b: Tensor, out: Tensor, needs: boolean[]) => (Tensor | null)[];

/** The gradient of each differentiable binary op; comparisons have none. */
const BINARY_GRADS: Partial<Record<BinaryOp, BinaryRule>> = {
  add: (g, a, b, _o, needs) => [needs[0] ? sumToShape(g, a.shape) : null, needs[1] ? sumToShape(g, b.shape) : null],
  sub: (g, a, b, _o, needs) => [
    needs[0] ? sumToShape(g, a.shape) : null,
    needs[1] ? sumToShape(neg(g), b.shape) : null,
  ],
  mul: (g, a, b, _o, needs) => [
    needs[0] ? sumToShape(mul(g, b), a.shape) : null,
    needs[1] ? sumToShape(mul(g, a), b.shape) : null,
  ],
  div: (g, a, b, out, needs) => [
    needs[0] ? sumToShape(div(g, b), a.shape) : null,
    needs[1] ? sumToShape(neg(div(mul(g, out), b)), b.shape) : null,
  ],
  pow: (g, a, b, out, needs) => [
    needs[0] ? sumToShape(mul(g, mul(b, pow(a, sub(b, 1)))), a.shape) : null,
    needs[1] ? sumToShape(mul(g, mul(out, log(a))), b.shape) : null,
  ],
  maximum: (g, a, b, _o, needs) => tieSplit(g, a, b, gt(a, b), needs),
  minimum: (g, a, b, _o, needs) => tieSplit(g, a, b, lt(a, b), needs),
};

/** Gradient of max/min: the winner takes g, ties share it equally (as PyTorch does). */
function tieSplit(g: Tensor, a: Tensor, b: Tensor, aWins: Tensor, needs: boolean[]): (Tensor | null)[] {
  const share = add(aWins, mul(eq(a, b), 0.5));
  return [
    needs[0] ? sumToShape(mul(g, share), a.shape) : null,
    needs[1] ? sumToShape(mul(g, sub(1, share)), b.shape) : null,
  ];
}

type Operand = Tensor | number;

function operands(a: Operand, b: Operand): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new TypeError('at least one operand must be a tensor');
  const ta = typeof a === 'number' ? scalarLike(a, b as Tensor) : a;
  const tb = typeof b === 'number' ? scalarLike(b, ta) : b;
  return [ta, tb];
}

/** Scalar arithmetic on a float tensor folds into one affine pass. */
function affineFor(op: BinaryOp, a: Operand, b: Operand): Tensor | null {
  const t = typeof a === 'number' ? b : a;
  const s = typeof a === 'number' ? a : b;
  if (typeof t === 'number' || typeof s !== 'number' || !isFloat(t.dtype)) return null;
  const scalarFirst = typeof a === 'number';
  switch (op) {
    case 'add':
      return affine(t, 1, s);
    case 'sub':
      return scalarFirst ? affine(t, -1, s) : affine(t, 1, -s);
    case 'mul':
      return affine(t, s, 0);
    case 'div':
      return scalarFirst ? null : affine(t, 1 / s, 0);
    default:
      return null;
  }
}

function arithmetic(op: BinaryOp, a: Operand, b: Operand): Tensor {
  return affineFor(op, a, b) ?? binaryOp(op, ...operands(a, b));
}

/**
 * a + b, elementwise with NumPy broadcasting; either side may be a number. A number beside a float
 * tensor runs as one fused multiply-add pass (`affine`) rather than a broadcast binary op.
 */
export const add = (a: Operand, b: Operand) => arithmetic('add', a, b);
/** a - b, elementwise with broadcasting; either side may be a number. */
export const sub = (a: Operand, b: Operand) => arithmetic('sub', a, b);
/** a * b, elementwise with broadcasting; either side may be a number. */
export const mul = (a: Operand, b: Operand) => arithmetic('mul', a, b);
/** a / b, elementwise with broadcasting; either side may be a number. */
export const div = (a: Operand, b: Operand) => arithmetic('div', a, b);
/** a ** b, elementwise with broadcasting; a tensor to a number power runs as one unary pass. */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof a !== 'number' && typeof b === 'number') return unaryOp('pow', a, { exponent: b });
  return binaryOp('pow', ...operands(a, b));
}
/** The larger of a and b, elementwise with broadcasting (on ties the gradient is split in halves, as in PyTorch). */
export const maximum = (a: Operand, b: Operand) => binaryOp('maximum', ...operands(a, b));
/** The smaller of a and b, elementwise with broadcasting (on ties the gradient is split in halves, as in PyTorch). */
export const minimum = (a: Operand, b: Operand) => binaryOp('minimum', ...operands(a, b));
/** Comparisons give 1 where true and 0 where false, in the inputs' dtype. */
export const eq = (a: Operand, b: Operand) => binaryOp('eq', ...operands(a, b));
/** 1 where a != b, else 0 (see eq). */
export const ne = (a: Operand, b: Operand) => binaryOp('ne', ...operands(a, b));
/** 1 where a < b, else 0 (see eq). */
export const lt = (a: Operand, b: Operand) => binaryOp('lt', ...operands(a, b));
/** 1 where a <= b, else 0 (see eq). */
export const le = (a: Operand, b: Operand) => binaryOp('le', ...operands(a, b));
/** 1 where a > b, else 0 (see eq). */
export const gt = (a: Operand, b: Operand) => binaryOp('gt', ...operands(a, b));
/** 1 where a >= b, else 0 (see eq). */
export const ge = (a: Operand, b: Operand) => binaryOp('ge', ...operands(a, b));

/** cond != 0 ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands(a, b);
  const backend = backendOf('where', cond, ta, tb);
  requireSameDType('where', ta, tb);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape, 'where'), tb.shape, 'where');
  const out = empty(shape, ta.dtype, backend);
  backend.where(out.view(), broadcastView(cond, shape), broadcastView(ta, shape), broadcastView(tb, shape));
  attach('where', [ta, tb], [out], [cond], ([g], [c], needs) => [
    needs[0] ? sumToShape(where(c!, g!, 0), ta.shape) : null,
    needs[1] ? sumToShape(where(c!, 0, g!), tb.shape) : null,
  ]);
  return out;
}

/** x with `value` wherever mask is nonzero. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

/** A copy converted to another dtype (float to int truncates toward zero). */
export function cast(x: Tensor, dtype: DType): Tensor {
  const out = empty(x.shape, dtype, x.backend);
  x.backend.copy(out.view(), x.view());
  if (isFloat(dtype) && isFloat(x.dtype)) {
    const from = x.dtype;
    attach('cast', [x], [out], [], ([g]) => [cast(g!, from)]);
  }
  return out;
}
