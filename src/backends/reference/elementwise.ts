import type { BinaryOp, UnaryOp, UnaryParams, View } from '../backend.js';
import { data, offsets, viewSize } from './strided.js';
import * as m from './scalar-math.js';
import { MambaError } from '../../util/errors.js';

export function copy(out: View, x: View): void {
  const o = data(out);
  const xs = data(x);
  const oo = offsets(out);
  const xo = offsets(x);
  const truncate = out.dtype === 'int32' && x.dtype !== 'int32';
  for (let i = 0; i < oo.length; i++) {
    const v = xs[xo[i]!]!;
    o[oo[i]!] = truncate ? Math.trunc(v) : v;
  }
}

export function fill(out: View, value: number): void {
  const o = data(out);
  for (const off of offsets(out)) o[off] = value;
}

function unaryFn(op: UnaryOp, p: UnaryParams): (x: number) => number {
  switch (op) {
    case 'neg':
      return (x) => -x;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'sqrt':
      return Math.sqrt;
    case 'rsqrt':
      return (x) => 1 / Math.sqrt(x);
    case 'abs':
      return Math.abs;
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'leakyRelu': {
      const s = p.slope ?? 0.01;
      return (x) => (x > 0 ? x : s * x);
    }
    case 'gelu':
      return m.gelu;
    case 'geluTanh':
      return m.geluTanh;
    case 'silu':
      return m.silu;
    case 'sigmoid':
      return m.sigmoid;
    case 'tanh':
      return Math.tanh;
    case 'softplus': {
      const beta = p.beta ?? 1;
      const th = p.threshold ?? 20;
      return (x) => m.softplus(x, beta, th);
    }
    case 'clamp': {
      const lo = p.min ?? -Infinity;
      const hi = p.max ?? Infinity;
      return (x) => (x < lo ? lo : x > hi ? hi : x);
    }
    case 'pow': {
      const e = p.exponent ?? 1;
      return (x) => Math.pow(x, e);
    }
    case 'affine': {
      const scale = p.scale ?? 1;
      const shift = p.shift ?? 0;
      return (x) => x * scale + shift;
    }
  }
}

/** d f(x) / dx for each unary op. */
function unaryDerivative(op: UnaryOp, p: UnaryParams): (x: number) => number {
  switch (op) {
    case 'neg':
      return () => -1;
    case 'exp':
      return Math.exp;
    case 'log':
      return (x) => 1 / x;
    case 'sqrt':
      return (x) => 0.5 / Math.sqrt(x);
    case 'rsqrt':
      return (x) => -0.5 / (x * Math.sqrt(x));
    case 'abs':
      return (x) => Math.sign(x);
    case 'relu':
      return (x) => (x > 0 ? 1 : 0);
    case 'leakyRelu': {
      const s = p.slope ?? 0.01;
      return (x) => (x > 0 ? 1 : s);
    }
    case 'gelu':
      return m.geluGrad;
    case 'geluTanh':
      return m.geluTanhGrad;
    case 'silu':
      return m.siluGrad;
    case 'sigmoid':
      return (x) => {
        const s = m.sigmoid(x);
        return s * (1 - s);
      };
    case 'tanh':
      return (x) => {
        const t = Math.tanh(x);
        return 1 - t * t;
      };
    case 'softplus': {
      const beta = p.beta ?? 1;
      const th = p.threshold ?? 20;
      return (x) => m.softplusGrad(x, beta, th);
    }
    case 'clamp': {
      // PyTorch passes the gradient where min <= x <= max.
      const lo = p.min ?? -Infinity;
      const hi = p.max ?? Infinity;
      return (x) => (x >= lo && x <= hi ? 1 : 0);
    }
    case 'pow': {
      const e = p.exponent ?? 1;
      return (x) => (e === 0 ? 0 : e * Math.pow(x, e - 1));
    }
    case 'affine': {
      const scale = p.scale ?? 1;
      return () => scale;
    }
  }
}

export function unary(op: UnaryOp, out: View, x: View, p: UnaryParams): void {
  const f = unaryFn(op, p);
  const o = data(out);
  const xs = data(x);
  const xo = offsets(x);
  const base = out.offset;
  for (let i = 0; i < xo.length; i++) o[base + i] = f(xs[xo[i]!]!);
}

export function unaryGrad(op: UnaryOp, out: View, x: View, g: View, p: UnaryParams): void {
  const df = unaryDerivative(op, p);
  const o = data(out);
  const xs = data(x);
  const gs = data(g);
  const xo = offsets(x);
  const go = offsets(g);
  for (let i = 0; i < xo.length; i++) o[out.offset + i] = gs[go[i]!]! * df(xs[xo[i]!]!);
}

function binaryFn(op: BinaryOp, integer: boolean): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return integer
        ? (a, b) => {
            if (b === 0) throw new MambaError('div: integer division by zero');
            return Math.floor(a / b);
          }
        : (a, b) => a / b;
    case 'pow':
      return Math.pow;
    case 'maximum':
      return (a, b) => (a >= b || Number.isNaN(a) ? a : b);
    case 'minimum':
      return (a, b) => (a <= b || Number.isNaN(a) ? a : b);
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
  }
}

export function binary(op: BinaryOp, out: View, a: View, b: View): void {
  const f = binaryFn(op, out.dtype === 'int32');
  const o = data(out);
  const as = data(a);
  const bs = data(b);
  const ao = offsets(a);
  const bo = offsets(b);
  const n = viewSize(out);
  for (let i = 0; i < n; i++) o[out.offset + i] = f(as[ao[i]!]!, bs[bo[i]!]!);
}

export function where(out: View, cond: View, a: View, b: View): void {
  const o = data(out);
  const cs = data(cond);
  const as = data(a);
  const bs = data(b);
  const co = offsets(cond);
  const ao = offsets(a);
  const bo = offsets(b);
  for (let i = 0; i < co.length; i++) o[out.offset + i] = cs[co[i]!] !== 0 ? as[ao[i]!]! : bs[bo[i]!]!;
}
