import type { Backend } from '../backends/backend.js';
import { backward, type BackwardOptions } from '../tensor/autograd.js';
import { isFloat, type DType } from '../backends/dtype.js';
import { MambaError } from '../util/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { toBackend } from './create.js';
import * as e from './elementwise.js';
import { matmul } from './matmul.js';
import * as r from './reduce.js';
import { chunk, flip, split } from './shape-ops.js';
import { logSoftmax, softmax } from './softmax.js';
import * as v from './view.js';

type Operand = Tensor | number;
type Axes = number | readonly number[];

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    pow(other: Operand): Tensor;
    maximum(other: Operand): Tensor;
    minimum(other: Operand): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    square(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    silu(): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    softplus(beta?: number, threshold?: number): Tensor;
    clamp(min?: number, max?: number): Tensor;
    sum(axes?: Axes, keepDims?: boolean): Tensor;
    mean(axes?: Axes, keepDims?: boolean): Tensor;
    max(axes?: Axes, keepDims?: boolean): Tensor;
    min(axes?: Axes, keepDims?: boolean): Tensor;
    argmax(axis?: number, keepDims?: boolean): Tensor;
    argmin(axis?: number, keepDims?: boolean): Tensor;
    matmul(other: Tensor): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    reshape(shape: readonly number[]): Tensor;
    flatten(startAxis?: number, endAxis?: number): Tensor;
    permute(axes: readonly number[]): Tensor;
    transpose(axis0?: number, axis1?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    squeeze(axis?: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    slice(axis: number, start?: number, end?: number, step?: number): Tensor;
    select(axis: number, index: number): Tensor;
    split(sizes: number | readonly number[], axis?: number): Tensor[];
    chunk(count: number, axis?: number): Tensor[];
    flip(axes: Axes): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    detach(): Tensor;
    cast(dtype: DType): Tensor;
    /** A copy on another backend (this tensor when it is already there). */
    to(backend: Backend | string): Tensor;
    /** Marks a leaf as needing a gradient; returns this. */
    requireGrad(flag?: boolean): Tensor;
    backward(gradient?: Tensor, options?: BackwardOptions): void;
  }
}

const methods: Partial<Record<keyof Tensor, unknown>> = {
  add(this: Tensor, o: Operand) {
    return e.add(this, o);
  },
  sub(this: Tensor, o: Operand) {
    return e.sub(this, o);
  },
  mul(this: Tensor, o: Operand) {
    return e.mul(this, o);
  },
  div(this: Tensor, o: Operand) {
    return e.div(this, o);
  },
  pow(this: Tensor, o: Operand) {
    return e.pow(this, o);
  },
  maximum(this: Tensor, o: Operand) {
    return e.maximum(this, o);
  },
  minimum(this: Tensor, o: Operand) {
    return e.minimum(this, o);
  },
  eq(this: Tensor, o: Operand) {
    return e.eq(this, o);
  },
  ne(this: Tensor, o: Operand) {
    return e.ne(this, o);
  },
  lt(this: Tensor, o: Operand) {
    return e.lt(this, o);
  },
  le(this: Tensor, o: Operand) {
    return e.le(this, o);
  },
  gt(this: Tensor, o: Operand) {
    return e.gt(this, o);
  },
  ge(this: Tensor, o: Operand) {
    return e.ge(this, o);
  },
  neg(this: Tensor) {
    return e.neg(this);
  },
  exp(this: Tensor) {
    return e.exp(this);
  },
  log(this: Tensor) {
    return e.log(this);
  },
  sqrt(this: Tensor) {
    return e.sqrt(this);
  },
  rsqrt(this: Tensor) {
    return e.rsqrt(this);
  },
  abs(this: Tensor) {
    return e.abs(this);
  },
  square(this: Tensor) {
    return e.square(this);
  },
  relu(this: Tensor) {
    return e.relu(this);
  },
  sigmoid(this: Tensor) {
    return e.sigmoid(this);
  },
  tanh(this: Tensor) {
    return e.tanh(this);
  },
  silu(this: Tensor) {
    return e.silu(this);
  },
  gelu(this: Tensor, approximate?: 'none' | 'tanh') {
    return e.gelu(this, approximate);
  },
  softplus(this: Tensor, beta?: number, threshold?: number) {
    return e.softplus(this, beta, threshold);
  },
  clamp(this: Tensor, lo?: number, hi?: number) {
    return e.clamp(this, lo, hi);
  },
  sum(this: Tensor, axes?: Axes, keepDims?: boolean) {
    return r.sum(this, axes, keepDims);
  },
  mean(this: Tensor, axes?: Axes, keepDims?: boolean) {
    return r.mean(this, axes, keepDims);
  },
  max(this: Tensor, axes?: Axes, keepDims?: boolean) {
    return r.max(this, axes, keepDims);
  },
  min(this: Tensor, axes?: Axes, keepDims?: boolean) {
    return r.min(this, axes, keepDims);
  },
  argmax(this: Tensor, axis?: number, keepDims?: boolean) {
    return r.argmax(this, axis, keepDims);
  },
  argmin(this: Tensor, axis?: number, keepDims?: boolean) {
    return r.argmin(this, axis, keepDims);
  },
  matmul(this: Tensor, o: Tensor) {
    return matmul(this, o);
  },
  softmax(this: Tensor, axis?: number) {
    return softmax(this, axis);
  },
  logSoftmax(this: Tensor, axis?: number) {
    return logSoftmax(this, axis);
  },
  reshape(this: Tensor, shape: readonly number[]) {
    return v.reshape(this, shape);
  },
  flatten(this: Tensor, s?: number, en?: number) {
    return v.flatten(this, s, en);
  },
  permute(this: Tensor, axes: readonly number[]) {
    return v.permute(this, axes);
  },
  transpose(this: Tensor, a?: number, b?: number) {
    return v.transpose(this, a, b);
  },
  unsqueeze(this: Tensor, axis: number) {
    return v.unsqueeze(this, axis);
  },
  squeeze(this: Tensor, axis?: number) {
    return v.squeeze(this, axis);
  },
  expand(this: Tensor, shape: readonly number[]) {
    return v.expand(this, shape);
  },
  slice(this: Tensor, axis: number, start?: number, end?: number, step?: number) {
    return v.slice(this, axis, start, end, step);
  },
  select(this: Tensor, axis: number, index: number) {
    return v.select(this, axis, index);
  },
  split(this: Tensor, sizes: number | readonly number[], axis?: number) {
    return split(this, sizes, axis);
  },
  chunk(this: Tensor, count: number, axis?: number) {
    return chunk(this, count, axis);
  },
  flip(this: Tensor, axes: Axes) {
    return flip(this, axes);
  },
  contiguous(this: Tensor) {
    return v.contiguous(this);
  },
  clone(this: Tensor) {
    return v.clone(this);
  },
  detach(this: Tensor) {
    return v.detach(this);
  },
  cast(this: Tensor, dtype: DType) {
    return e.cast(this, dtype);
  },
  to(this: Tensor, backend: Backend | string) {
    return toBackend(this, backend);
  },
  requireGrad(this: Tensor, flag = true) {
    if (!this.isLeaf)
      throw new MambaError('requireGrad(): only a leaf tensor can be marked; use detach() to start a new leaf');
    if (flag && !isFloat(this.dtype))
      throw new MambaError(`requireGrad(): ${this.dtype} tensors have no gradient; cast to float32 first`);
    this.requiresGrad = flag;
    return this;
  },
  backward(this: Tensor, gradient?: Tensor, options?: BackwardOptions) {
    backward(this, gradient, options);
  },
};

Object.assign(Tensor.prototype, methods);
