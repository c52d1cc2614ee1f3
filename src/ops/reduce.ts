import type { ReduceOp } from '../backends/backend.js';
import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, normalizeAxes, normalizeAxis, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { div, eq, mul } from './elementwise.js';
import { empty, filled, requireFloat } from './helpers.js';
import { contiguous, expand, permute, reshape } from './view.js';

type Axes = number | readonly number[];

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function droppedShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  const shape = keptShape(x.shape, axes);
  const out = empty(shape, x.dtype, x.backend);
  x.backend.reduce(op, out.view(), x.view(), axes);
  if (keepDims) return out;
  const squeezed = out.restride(droppedShape(x.shape, axes));
  out.dispose();
  return squeezed;
}

/** Sum over the given axes (all by default). */
export function sum(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'sum');
  const out = reduceRaw('sum', x, ax, keepDims);
  const inShape = x.shape;
  attach('sum', [x], [out], [], ([g]) => [scope(() => expand(reshape(g!, keptShape(inShape, ax)), inShape))]);
  return out;
}

/** Mean over the given axes (all by default); float tensors only. */
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  requireFloat('mean', x);
  const ax = normalizeAxes(axes, x.rank, 'mean');
  const count = sizeOf(ax.map((a) => x.shape[a]!));
  return scope(() => mul(sum(x, ax, keepDims), 1 / count));
}

function extreme(op: 'max' | 'min', x: Tensor, axes: Axes | undefined, keepDims: boolean): Tensor {
  const ax = normalizeAxes(axes, x.rank, op);
  if (ax.some((a) => x.shape[a] === 0))
    throw new ShapeError(`${op}: cannot reduce over an empty axis of ${formatShape(x.shape)}`);
  const kept = reduceRaw(op, x, ax, true);
  const out = keepDims ? kept : kept.restride(droppedShape(x.shape, ax));
  attach(op, [x], [out], [x, kept], ([g], [xs, ks]) => [
    // Every element equal to the extreme shares the gradient equally (amax semantics).
    scope(() => {
      const mask = eq(xs!, ks!);
      const count = sum(mask, ax, true);
      return mul(div(mask, count), reshape(g!, ks!.shape));
    }),
  ]);
  if (!keepDims) kept.dispose();
  return out;
}

/** Largest value over the given axes (all by default); tied maxima share the gradient equally. */
export const max = (x: Tensor, axes?: Axes, keepDims = false) => extreme('max', x, axes, keepDims);
/** Smallest value over the given axes (all by default); tied minima share the gradient equally. */
export const min = (x: Tensor, axes?: Axes, keepDims = false) => extreme('min', x, axes, keepDims);

function argExtreme(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepDims: boolean): Tensor {
  if (axis === undefined) return scope(() => argExtreme(op, reshape(x, [x.size]), 0, false));
  const a = normalizeAxis(axis, x.rank, op);
  if (x.shape[a] === 0) throw new ShapeError(`${op}: axis ${axis} of ${formatShape(x.shape)} is empty`);
  const xc = contiguous(x);
  const shape = keptShape(x.shape, [a]);
  const out = empty(shape, 'int32', x.backend);
  x.backend.argReduce(op, out.view(), xc.view(), a);
  if (xc !== x) xc.dispose();
  if (keepDims) return out;
  const squeezed = out.restride(droppedShape(x.shape, [a]));
  out.dispose();
  return squeezed;
}

/** Index of the largest element along an axis (of the flattened tensor when no axis is given). */
export const argmax = (x: Tensor, axis?: number, keepDims = false) => argExtreme('argmax', x, axis, keepDims);
/** Index of the smallest element along an axis (of the flattened tensor when no axis is given). */
export const argmin = (x: Tensor, axis?: number, keepDims = false) => argExtreme('argmin', x, axis, keepDims);

/** The k largest (or smallest) entries along an axis, sorted, with their int32 indices. */
export function topk(x: Tensor, k: number, axis = -1, largest = true): { values: Tensor; indices: Tensor } {
  const a = normalizeAxis(axis, x.rank, 'topk');
  const n = x.shape[a]!;
  if (!Number.isInteger(k) || k < 0 || k > n)
    throw new ShapeError(`topk: k = ${k} must be an integer in [0, ${n}] for axis ${axis} of ${formatShape(x.shape)}`);
  return scope(() => {
    const last = x.rank - 1;
    const order = Array.from({ length: x.rank }, (_, i) => i);
    order[a] = last;
    order[last] = a;
    const moved = contiguous(a === last ? x : permute(x, order));
    const shape = [...moved.shape.slice(0, -1), k];
    const values = empty(shape, x.dtype, x.backend);
    const indices = empty(shape, 'int32', x.backend);
    x.backend.topk(values.view(), indices.view(), moved.view(), k, largest);
    const movedShape = moved.shape;
    attach('topk', [moved], [values], [indices], ([g], [idx]) => {
      const gx = filled(movedShape, g!.dtype, g!.backend, 0);
      g!.backend.scatterAdd(gx.view(), last, idx!.view(), contiguous(g!).view());
      return [gx];
    });
    if (a === last) return { values, indices };
    return { values: permute(values, order), indices: permute(indices, order) };
  });
}
