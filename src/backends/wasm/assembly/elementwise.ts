// Elementwise kernels over strided operands (see strided.ts): copy, fill, unary ops and their
// gradients, binary ops, where. Float32 only, except copy, which also converts to/from int32.
import {
  COPY_BITS,
  COPY_F32_TO_I32,
  UNARY_NEG,
  UNARY_EXP,
  UNARY_LOG,
  UNARY_SQRT,
  UNARY_RSQRT,
  UNARY_ABS,
  UNARY_RELU,
  UNARY_LEAKY_RELU,
  UNARY_GELU,
  UNARY_GELU_TANH,
  UNARY_SILU,
  UNARY_SIGMOID,
  UNARY_TANH,
  UNARY_SOFTPLUS,
  UNARY_CLAMP,
  UNARY_POW,
  UNARY_AFFINE,
  BINARY_ADD,
  BINARY_SUB,
  BINARY_MUL,
  BINARY_DIV,
  BINARY_POW,
  BINARY_MAXIMUM,
  BINARY_MINIMUM,
  BINARY_EQ,
  BINARY_NE,
  BINARY_LT,
  BINARY_LE,
  BINARY_GT,
  BINARY_GE,
} from '../abi/ops';
import { shareStart } from './common';
import { innerSize, innerStride, layoutSize, rowOffset } from './strided';
import { erfv, expv, logv, sigmoidv, softplusv, tanhv } from './vmath';

// The current call's operands. Every wasm instance is one thread, so globals are thread-private.
let LAYOUT: usize = 0;
let OUT: usize = 0;
let IN0: usize = 0;
let IN1: usize = 0;
let IN2: usize = 0;
let P0: v128 = f32x4.splat(0);
let P1: v128 = f32x4.splat(0);
let MODE: i32 = 0;

// @ts-ignore: decorator
@inline function splat(v: f32): v128 {
  return f32x4.splat(v);
}

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

/** Calls S.run(row, c0, c1) for each row segment of this thread's share of the index space. */
// @ts-ignore: decorator
@inline function forEachSegment<S>(tid: i32, nthreads: i32): void {
  const s = changetype<S>(0);
  const n = layoutSize(LAYOUT);
  const inner = innerSize(LAYOUT);
  if (n == 0) return;
  let i = shareStart(n, tid, nthreads);
  const end = shareStart(n, tid + 1, nthreads);
  while (i < end) {
    const row = i / inner;
    const c0 = i - row * inner;
    const c1 = min(inner, c0 + (end - i));
    s.run(row, c0, c1);
    i += c1 - c0;
  }
}

// ---- copy and fill ------------------------------------------------------------------------

class CopySegment {
  // @ts-ignore: decorator
  @inline run(row: i32, c0: i32, c1: i32): void {
    const so = innerStride(LAYOUT, 0);
    const si = innerStride(LAYOUT, 1);
    const o = rowOffset(LAYOUT, 0, row);
    const x = rowOffset(LAYOUT, 1, row);
    if (MODE == COPY_BITS && so == 1 && si == 1) {
      memory.copy(at(OUT, o + c0), at(IN0, x + c0), (<usize>(c1 - c0)) << 2);
      return;
    }
    for (let c = c0; c < c1; c++) {
      const dst = at(OUT, o + c * so);
      const src = at(IN0, x + c * si);
      if (MODE == COPY_BITS) store<i32>(dst, load<i32>(src));
      else if (MODE == COPY_F32_TO_I32) store<i32>(dst, <i32>load<f32>(src));
      else store<f32>(dst, <f32>load<i32>(src));
    }
  }
}

/** out = x over strided views; mode is a COPY_ code. */
export function copy(out: usize, x: usize, mode: i32, layout: usize, tid: i32, nthreads: i32): void {
  OUT = out;
  IN0 = x;
  MODE = mode;
  LAYOUT = layout;
  forEachSegment<CopySegment>(tid, nthreads);
}

class FillSegment {
  // @ts-ignore: decorator
  @inline run(row: i32, c0: i32, c1: i32): void {
    const so = innerStride(LAYOUT, 0);
    const o = rowOffset(LAYOUT, 0, row);
    let c = c0;
    if (so == 1) for (; c + 4 <= c1; c += 4) v128.store(at(OUT, o + c), P0);
    for (; c < c1; c++) store<i32>(at(OUT, o + c * so), i32x4.extract_lane(P0, 0));
  }
}

/** Every element of a strided view set to the 32-bit pattern `bits`. */
export function fill(out: usize, bits: i32, layout: usize, tid: i32, nthreads: i32): void {
  OUT = out;
  P0 = i32x4.splat(bits);
  LAYOUT = layout;
  forEachSegment<FillSegment>(tid, nthreads);
}

// ---- unary ops ----------------------------------------------------------------------------
// Each op is a class with f(x) (P0, P1 hold its parameters) and d(x, g) = g * f'(x). The ids
// match UNARY_OPS in the JS wrapper.

class Neg {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.neg(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return f32x4.neg(g);
  }
}
class Exp {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return expv(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return f32x4.mul(g, expv(x));
  }
}
class Log {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return logv(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return f32x4.div(g, x);
  }
}
class Sqrt {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.sqrt(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return f32x4.div(f32x4.mul(g, splat(0.5)), f32x4.sqrt(x));
  }
}
class Rsqrt {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.div(splat(1), f32x4.sqrt(x));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return f32x4.div(f32x4.mul(g, splat(-0.5)), f32x4.mul(x, f32x4.sqrt(x)));
  }
}
class Abs {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.abs(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const pos = v128.and(f32x4.gt(x, splat(0)), g);
    const neg = v128.and(f32x4.lt(x, splat(0)), f32x4.neg(g));
    return v128.or(pos, neg);
  }
}
class Relu {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return v128.and(x, f32x4.gt(x, splat(0)));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return v128.and(g, f32x4.gt(x, splat(0)));
  }
}
class LeakyRelu {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return v128.bitselect(x, f32x4.mul(x, P0), f32x4.gt(x, splat(0)));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return v128.bitselect(g, f32x4.mul(g, P0), f32x4.gt(x, splat(0)));
  }
}
class Gelu {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.mul(f32x4.mul(x, splat(0.5)), f32x4.add(splat(1), erfv(f32x4.mul(x, splat(0.7071067811865476)))));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const cdf = f32x4.mul(splat(0.5), f32x4.add(splat(1), erfv(f32x4.mul(x, splat(0.7071067811865476)))));
    const pdf = f32x4.mul(splat(0.3989422804014327), expv(f32x4.mul(f32x4.mul(x, x), splat(-0.5))));
    return f32x4.mul(g, f32x4.add(cdf, f32x4.mul(x, pdf)));
  }
}
class GeluTanh {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    const u = f32x4.mul(
      splat(0.7978845608028654),
      f32x4.add(x, f32x4.mul(splat(0.044715), f32x4.mul(x, f32x4.mul(x, x)))),
    );
    return f32x4.mul(f32x4.mul(x, splat(0.5)), f32x4.add(splat(1), tanhv(u)));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const x2 = f32x4.mul(x, x);
    const u = f32x4.mul(splat(0.7978845608028654), f32x4.add(x, f32x4.mul(splat(0.044715), f32x4.mul(x, x2))));
    const t = tanhv(u);
    const du = f32x4.mul(splat(0.7978845608028654), f32x4.add(splat(1), f32x4.mul(splat(0.134145), x2)));
    const sech2 = f32x4.sub(splat(1), f32x4.mul(t, t));
    const dy = f32x4.add(
      f32x4.mul(splat(0.5), f32x4.add(splat(1), t)),
      f32x4.mul(f32x4.mul(f32x4.mul(splat(0.5), x), sech2), du),
    );
    return f32x4.mul(g, dy);
  }
}
class Silu {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.mul(x, sigmoidv(x));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const s = sigmoidv(x);
    return f32x4.mul(g, f32x4.mul(s, f32x4.add(splat(1), f32x4.mul(x, f32x4.sub(splat(1), s)))));
  }
}
class Sigmoid {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return sigmoidv(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const s = sigmoidv(x);
    return f32x4.mul(g, f32x4.mul(s, f32x4.sub(splat(1), s)));
  }
}
class Tanh {
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return tanhv(x);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const t = tanhv(x);
    return f32x4.mul(g, f32x4.sub(splat(1), f32x4.mul(t, t)));
  }
}
class Softplus {
  // P0 = beta, P1 = threshold.
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return softplusv(x, P0, P1);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const bx = f32x4.mul(x, P0);
    return v128.bitselect(g, f32x4.mul(g, sigmoidv(bx)), f32x4.gt(bx, P1));
  }
}
class Clamp {
  // P0 = min, P1 = max (+-inf when absent).
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    const lo = v128.bitselect(P0, x, f32x4.lt(x, P0));
    return v128.bitselect(P1, lo, f32x4.gt(x, P1));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return v128.and(g, v128.and(f32x4.ge(x, P0), f32x4.le(x, P1)));
  }
}

/** x^e for a constant e: repeated squaring for small integer e (exact for negative x), else exp(e log x). */
// @ts-ignore: decorator
@inline function powConst(x: v128, e: f32): v128 {
  if (e == 2) return f32x4.mul(x, x);
  if (e == 1) return x;
  if (e == 0) return splat(1);
  if (e == Mathf.round(e) && Mathf.abs(e) <= 64) {
    let n = <i32>Mathf.abs(e);
    let base = x;
    let r = splat(1);
    while (n > 0) {
      if (n & 1) r = f32x4.mul(r, base);
      base = f32x4.mul(base, base);
      n >>= 1;
    }
    return e < 0 ? f32x4.div(splat(1), r) : r;
  }
  return expv(f32x4.mul(splat(e), logv(x)));
}

class Pow {
  // P0 = exponent.
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return powConst(x, f32x4.extract_lane(P0, 0));
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    const e = f32x4.extract_lane(P0, 0);
    if (e == 0) return splat(0);
    return f32x4.mul(g, f32x4.mul(P0, powConst(x, e - 1)));
  }
}
class Affine {
  // P0 = scale, P1 = shift.
  // @ts-ignore: decorator
  @inline f(x: v128): v128 {
    return f32x4.add(f32x4.mul(x, P0), P1);
  }
  // @ts-ignore: decorator
  @inline d(x: v128, g: v128): v128 {
    return f32x4.mul(g, P0);
  }
}

class UnarySegment<Op> {
  // @ts-ignore: decorator
  @inline run(row: i32, c0: i32, c1: i32): void {
    const op = changetype<Op>(0);
    const so = innerStride(LAYOUT, 0);
    const si = innerStride(LAYOUT, 1);
    const o = rowOffset(LAYOUT, 0, row);
    const x = rowOffset(LAYOUT, 1, row);
    let c = c0;
    if (so == 1 && si == 1) {
      for (; c + 4 <= c1; c += 4) v128.store(at(OUT, o + c), op.f(v128.load(at(IN0, x + c))));
    }
    for (; c < c1; c++) {
      store<f32>(at(OUT, o + c * so), f32x4.extract_lane(op.f(f32x4.splat(load<f32>(at(IN0, x + c * si)))), 0));
    }
  }
}

class UnaryGradSegment<Op> {
  // operand 0 = out, 1 = x, 2 = g.
  // @ts-ignore: decorator
  @inline run(row: i32, c0: i32, c1: i32): void {
    const op = changetype<Op>(0);
    const so = innerStride(LAYOUT, 0);
    const sx = innerStride(LAYOUT, 1);
    const sg = innerStride(LAYOUT, 2);
    const o = rowOffset(LAYOUT, 0, row);
    const x = rowOffset(LAYOUT, 1, row);
    const g = rowOffset(LAYOUT, 2, row);
    let c = c0;
    if (so == 1 && sx == 1 && sg == 1) {
      for (; c + 4 <= c1; c += 4) {
        v128.store(at(OUT, o + c), op.d(v128.load(at(IN0, x + c)), v128.load(at(IN1, g + c))));
      }
    }
    for (; c < c1; c++) {
      const xv = f32x4.splat(load<f32>(at(IN0, x + c * sx)));
      const gv = f32x4.splat(load<f32>(at(IN1, g + c * sg)));
      store<f32>(at(OUT, o + c * so), f32x4.extract_lane(op.d(xv, gv), 0));
    }
  }
}

/** out = f(x) for the unary op `op` (ids as UNARY_OPS in the wrapper). */
export function unary(op: i32, out: usize, x: usize, p0: f32, p1: f32, layout: usize, tid: i32, nthreads: i32): void {
  OUT = out;
  IN0 = x;
  P0 = splat(p0);
  P1 = splat(p1);
  LAYOUT = layout;
  switch (op) {
    case UNARY_NEG:
      forEachSegment<UnarySegment<Neg>>(tid, nthreads);
      break;
    case UNARY_EXP:
      forEachSegment<UnarySegment<Exp>>(tid, nthreads);
      break;
    case UNARY_LOG:
      forEachSegment<UnarySegment<Log>>(tid, nthreads);
      break;
    case UNARY_SQRT:
      forEachSegment<UnarySegment<Sqrt>>(tid, nthreads);
      break;
    case UNARY_RSQRT:
      forEachSegment<UnarySegment<Rsqrt>>(tid, nthreads);
      break;
    case UNARY_ABS:
      forEachSegment<UnarySegment<Abs>>(tid, nthreads);
      break;
    case UNARY_RELU:
      forEachSegment<UnarySegment<Relu>>(tid, nthreads);
      break;
    case UNARY_LEAKY_RELU:
      forEachSegment<UnarySegment<LeakyRelu>>(tid, nthreads);
      break;
    case UNARY_GELU:
      forEachSegment<UnarySegment<Gelu>>(tid, nthreads);
      break;
    case UNARY_GELU_TANH:
      forEachSegment<UnarySegment<GeluTanh>>(tid, nthreads);
      break;
    case UNARY_SILU:
      forEachSegment<UnarySegment<Silu>>(tid, nthreads);
      break;
    case UNARY_SIGMOID:
      forEachSegment<UnarySegment<Sigmoid>>(tid, nthreads);
      break;
    case UNARY_TANH:
      forEachSegment<UnarySegment<Tanh>>(tid, nthreads);
      break;
    case UNARY_SOFTPLUS:
      forEachSegment<UnarySegment<Softplus>>(tid, nthreads);
      break;
    case UNARY_CLAMP:
      forEachSegment<UnarySegment<Clamp>>(tid, nthreads);
      break;
    case UNARY_POW:
      forEachSegment<UnarySegment<Pow>>(tid, nthreads);
      break;
    case UNARY_AFFINE:
      forEachSegment<UnarySegment<Affine>>(tid, nthreads);
      break;
    default:
      unreachable();
  }
}

/** out = g * f'(x) for the unary op `op`. */
export function unaryGrad(
  op: i32,
  out: usize,
  x: usize,
  g: usize,
  p0: f32,
  p1: f32,
  layout: usize,
  tid: i32,
  nthreads: i32,
): void {
  OUT = out;
  IN0 = x;
  IN1 = g;
  P0 = splat(p0);
  P1 = splat(p1);
  LAYOUT = layout;
  switch (op) {
    case UNARY_NEG:
      forEachSegment<UnaryGradSegment<Neg>>(tid, nthreads);
      break;
    case UNARY_EXP:
      forEachSegment<UnaryGradSegment<Exp>>(tid, nthreads);
      break;
    case UNARY_LOG:
      forEachSegment<UnaryGradSegment<Log>>(tid, nthreads);
      break;
    case UNARY_SQRT:
      forEachSegment<UnaryGradSegment<Sqrt>>(tid, nthreads);
      break;
    case UNARY_RSQRT:
      forEachSegment<UnaryGradSegment<Rsqrt>>(tid, nthreads);
      break;
    case UNARY_ABS:
      forEachSegment<UnaryGradSegment<Abs>>(tid, nthreads);
      break;
    case UNARY_RELU:
      forEachSegment<UnaryGradSegment<Relu>>(tid, nthreads);
      break;
    case UNARY_LEAKY_RELU:
      forEachSegment<UnaryGradSegment<LeakyRelu>>(tid, nthreads);
      break;
    case UNARY_GELU:
      forEachSegment<UnaryGradSegment<Gelu>>(tid, nthreads);
      break;
    case UNARY_GELU_TANH:
      forEachSegment<UnaryGradSegment<GeluTanh>>(tid, nthreads);
      break;
    case UNARY_SILU:
      forEachSegment<UnaryGradSegment<Silu>>(tid, nthreads);
      break;
    case UNARY_SIGMOID:
      forEachSegment<UnaryGradSegment<Sigmoid>>(tid, nthreads);
      break;
    case UNARY_TANH:
      forEachSegment<UnaryGradSegment<Tanh>>(tid, nthreads);
      break;
    case UNARY_SOFTPLUS:
      forEachSegment<UnaryGradSegment<Softplus>>(tid, nthreads);
      break;
    case UNARY_CLAMP:
      forEachSegment<UnaryGradSegment<Clamp>>(tid, nthreads);
      break;
    case UNARY_POW:
      forEachSegment<UnaryGradSegment<Pow>>(tid, nthreads);
      break;
    case UNARY_AFFINE:
      forEachSegment<UnaryGradSegment<Affine>>(tid, nthreads);
      break;
    default:
      unreachable();
  }
}

// ---- binary ops and where -------------------------------------------------------------------

class Add {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return f32x4.add(a, b);
  }
}
class Sub {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return f32x4.sub(a, b);
  }
}
class Mul {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return f32x4.mul(a, b);
  }
}
class Div {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return f32x4.div(a, b);
  }
}
class PowBinary {
  // a^b with Math.pow's rules: negative a needs an integer b (sign from its parity), b = 0 gives 1.
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    const r = expv(f32x4.mul(b, logv(f32x4.abs(a))));
    const integer = f32x4.eq(b, f32x4.nearest(b));
    const half = f32x4.mul(b, splat(0.5));
    const odd = f32x4.ne(half, f32x4.nearest(half));
    const signed = v128.or(r, v128.and(odd, splat(-0.0)));
    const negative = v128.bitselect(signed, splat(NaN), integer);
    const out = v128.bitselect(negative, r, f32x4.lt(a, splat(0)));
    return v128.bitselect(splat(1), out, f32x4.eq(b, splat(0)));
  }
}
class Maximum {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return f32x4.max(a, b);
  }
}
class Minimum {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return f32x4.min(a, b);
  }
}
class Eq {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return v128.and(f32x4.eq(a, b), splat(1));
  }
}
class Ne {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return v128.and(f32x4.ne(a, b), splat(1));
  }
}
class Lt {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return v128.and(f32x4.lt(a, b), splat(1));
  }
}
class Le {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return v128.and(f32x4.le(a, b), splat(1));
  }
}
class Gt {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return v128.and(f32x4.gt(a, b), splat(1));
  }
}
class Ge {
  // @ts-ignore: decorator
  @inline f(a: v128, b: v128): v128 {
    return v128.and(f32x4.ge(a, b), splat(1));
  }
}

class BinarySegment<Op> {
  // operand 0 = out, 1 = a, 2 = b; an inner stride of 0 is a broadcast scalar along the row.
  // @ts-ignore: decorator
  @inline run(row: i32, c0: i32, c1: i32): void {
    const op = changetype<Op>(0);
    const so = innerStride(LAYOUT, 0);
    const sa = innerStride(LAYOUT, 1);
    const sb = innerStride(LAYOUT, 2);
    const o = rowOffset(LAYOUT, 0, row);
    const a = rowOffset(LAYOUT, 1, row);
    const b = rowOffset(LAYOUT, 2, row);
    let c = c0;
    if (so == 1) {
      if (sa == 1 && sb == 1) {
        for (; c + 4 <= c1; c += 4)
          v128.store(at(OUT, o + c), op.f(v128.load(at(IN0, a + c)), v128.load(at(IN1, b + c))));
      } else if (sa == 1 && sb == 0) {
        const bv = v128.load32_splat(at(IN1, b));
        for (; c + 4 <= c1; c += 4) v128.store(at(OUT, o + c), op.f(v128.load(at(IN0, a + c)), bv));
      } else if (sa == 0 && sb == 1) {
        const av = v128.load32_splat(at(IN0, a));
        for (; c + 4 <= c1; c += 4) v128.store(at(OUT, o + c), op.f(av, v128.load(at(IN1, b + c))));
      }
    }
    for (; c < c1; c++) {
      const av = v128.load32_splat(at(IN0, a + c * sa));
      const bv = v128.load32_splat(at(IN1, b + c * sb));
      store<f32>(at(OUT, o + c * so), f32x4.extract_lane(op.f(av, bv), 0));
    }
  }
}

/** out = a op b for float32 operands broadcast by the layout (ids as BINARY_OPS in the wrapper). */
export function binary(op: i32, out: usize, a: usize, b: usize, layout: usize, tid: i32, nthreads: i32): void {
  OUT = out;
  IN0 = a;
  IN1 = b;
  LAYOUT = layout;
  switch (op) {
    case BINARY_ADD:
      forEachSegment<BinarySegment<Add>>(tid, nthreads);
      break;
    case BINARY_SUB:
      forEachSegment<BinarySegment<Sub>>(tid, nthreads);
      break;
    case BINARY_MUL:
      forEachSegment<BinarySegment<Mul>>(tid, nthreads);
      break;
    case BINARY_DIV:
      forEachSegment<BinarySegment<Div>>(tid, nthreads);
      break;
    case BINARY_POW:
      forEachSegment<BinarySegment<PowBinary>>(tid, nthreads);
      break;
    case BINARY_MAXIMUM:
      forEachSegment<BinarySegment<Maximum>>(tid, nthreads);
      break;
    case BINARY_MINIMUM:
      forEachSegment<BinarySegment<Minimum>>(tid, nthreads);
      break;
    case BINARY_EQ:
      forEachSegment<BinarySegment<Eq>>(tid, nthreads);
      break;
    case BINARY_NE:
      forEachSegment<BinarySegment<Ne>>(tid, nthreads);
      break;
    case BINARY_LT:
      forEachSegment<BinarySegment<Lt>>(tid, nthreads);
      break;
    case BINARY_LE:
      forEachSegment<BinarySegment<Le>>(tid, nthreads);
      break;
    case BINARY_GT:
      forEachSegment<BinarySegment<Gt>>(tid, nthreads);
      break;
    case BINARY_GE:
      forEachSegment<BinarySegment<Ge>>(tid, nthreads);
      break;
    default:
      unreachable();
  }
}

class WhereSegment {
  // operand 0 = out, 1 = cond, 2 = a, 3 = b; MODE 1 when cond is int32.
  // @ts-ignore: decorator
  @inline run(row: i32, c0: i32, c1: i32): void {
    const so = innerStride(LAYOUT, 0);
    const sc = innerStride(LAYOUT, 1);
    const sa = innerStride(LAYOUT, 2);
    const sb = innerStride(LAYOUT, 3);
    const o = rowOffset(LAYOUT, 0, row);
    const cnd = rowOffset(LAYOUT, 1, row);
    const a = rowOffset(LAYOUT, 2, row);
    const b = rowOffset(LAYOUT, 3, row);
    for (let c = c0; c < c1; c++) {
      const cp = at(IN0, cnd + c * sc);
      const take = MODE == 1 ? load<i32>(cp) != 0 : load<f32>(cp) != 0;
      store<i32>(at(OUT, o + c * so), take ? load<i32>(at(IN1, a + c * sa)) : load<i32>(at(IN2, b + c * sb)));
    }
  }
}

/** out = cond != 0 ? a : b over strided operands (32-bit values of either type). */
export function where(
  out: usize,
  cond: usize,
  a: usize,
  b: usize,
  condIsInt: i32,
  layout: usize,
  tid: i32,
  nthreads: i32,
): void {
  OUT = out;
  IN0 = cond;
  IN1 = a;
  IN2 = b;
  MODE = condIsInt;
  LAYOUT = layout;
  forEachSegment<WhereSegment>(tid, nthreads);
}
