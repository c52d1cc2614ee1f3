import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { broadcastShapes, checkShape, formatShape, normalizeAxis, shapesEqual, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { empty, filled, sumToShape } from './helpers.js';

/** Resolves a single -1 in a requested shape against the element count. */
function resolveShape(op: string, size: number, shape: readonly number[], from: readonly number[]): number[] {
  const out = [...shape];
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    if (out.indexOf(-1, infer + 1) >= 0)
      throw new ShapeError(`${op}: only one dimension can be -1, got ${formatShape(shape)}`);
    const rest = sizeOf(out.filter((_, i) => i !== infer));
    if (rest === 0 || size % rest !== 0) {
      throw new ShapeError(`${op}: cannot reshape ${formatShape(from)} (${size} elements) into ${formatShape(shape)}`);
    }
    out[infer] = size / rest;
  }
  checkShape(out, op);
  if (sizeOf(out) !== size) {
    throw new ShapeError(`${op}: cannot reshape ${formatShape(from)} (${size} elements) into ${formatShape(shape)}`);
  }
  return out;
}

/** A copy with contiguous row-major layout (the tensor itself when it already is). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous) return x;
  return clone(x);
}

/** A contiguous copy that gradients flow through. */
export function clone(x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype, x.backend);
  x.backend.copy(out.view(), x.view());
  attach('clone', [x], [out], [], ([g]) => [g!]);
  return out;
}

/** Same values, no graph: gradients stop here. */
export function detach(x: Tensor): Tensor {
  return x.restride(x.shape, x.strides, x.offset);
}

/** The same elements in a new shape (one axis may be -1: inferred); a view when x is contiguous, else a copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveShape('reshape', x.size, shape, x.shape);
  const src = contiguous(x);
  const out = src.restride(target);
  if (src !== x) src.dispose();
  const inShape = x.shape;
  attach('reshape', [x], [out], [], ([g]) => [reshape(g!, inShape)]);
  return out;
}

/** Axes startAxis..endAxis merged into one (all by default, giving a vector), as a reshape. */
export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeAxis(startAxis, x.rank, 'flatten');
  const e = normalizeAxis(endAxis, x.rank, 'flatten');
  const merged = sizeOf(x.shape.slice(s, e + 1));
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** A view with the axes reordered: axis i of the result is axis axes[i] of x. No copy. */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const order = axes.map((a) => normalizeAxis(a, x.rank, 'permute'));
  if (order.length !== x.rank || new Set(order).size !== order.length) {
    throw new ShapeError(
      `permute: [${axes.join(', ')}] is not a permutation of the ${x.rank} axes of ${formatShape(x.shape)}`,
    );
  }
  const out = x.restride(
    order.map((a) => x.shape[a]!),
    order.map((a) => x.strides[a]!),
    x.offset,
  );
  const inverse = new Array<number>(order.length);
  order.forEach((a, i) => (inverse[a] = i));
  attach('permute', [x], [out], [], ([g]) => [permute(g!, inverse)]);
  return out;
}

/** A view with two axes swapped (the last two by default). No copy. */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normalizeAxis(axis0, x.rank, 'transpose');
  const b = normalizeAxis(axis1, x.rank, 'transpose');
  const order = Array.from({ length: x.rank }, (_, i) => i);
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}

/** A size-1 axis inserted at `axis` (which may be x.rank, to append one). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank + 1, 'unsqueeze');
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Size-1 axes removed: every one, or only `axis` (left as it is when its size is not 1). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normalizeAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) return reshape(x, x.shape);
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

/** A broadcast view of x with the given shape (size-1 axes repeat without copying). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - (shape.length - x.rank)]! : d));
  if (!shapesEqual(broadcastShapes(x.shape, target, 'expand'), target)) {
    throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }
  if (shapesEqual(x.shape, target)) return x;
  const shift = target.length - x.rank;
  const strides = target.map((_, i) => (i < shift || x.shape[i - shift] === 1 ? 0 : x.strides[i - shift]!));
  const out = x.restride(target, strides, x.offset);
  const inShape = x.shape;
  attach('expand', [x], [out], [], ([g]) => [sumToShape(g!, inShape)]);
  return out;
}

/** Elements start, start+step, ... before end along one axis (Python slice rules, step > 0). */
export function slice(x: Tensor, axis: number, start = 0, end?: number, step = 1): Tensor {
  const a = normalizeAxis(axis, x.rank, 'slice');
  const n = x.shape[a]!;
  if (!Number.isInteger(step) || step <= 0) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIndex(start);
  const e = Math.max(s, clampIndex(end ?? n));
  const count = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[a] = count;
  const strides = [...x.strides];
  strides[a] = x.strides[a]! * step;
  const out = x.restride(shape, strides, x.offset + s * x.strides[a]!);
  const inShape = x.shape;
  const dtype = x.dtype;
  attach('slice', [x], [out], [], ([g]) => {
    const gx = filled(inShape, dtype, g!.backend, 0);
    const target = gx.restride(shape, stridesOf(gx, a, step), s * gx.strides[a]!);
    g!.backend.copy(target.view(), g!.view());
    target.dispose();
    return [gx];
  });
  return out;
}

function stridesOf(t: Tensor, axis: number, step: number): number[] {
  const strides = [...t.strides];
  strides[axis] = t.strides[axis]! * step;
  return strides;
}

/** The sub-tensor at one index of an axis, with that axis removed. */
export function select(x: Tensor, axis: number, index: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'select');
  const n = x.shape[a]!;
  const i = index < 0 ? index + n : index;
  if (i < 0 || i >= n) throw new ShapeError(`select: index ${index} is out of range for axis ${axis} of size ${n}`);
  return scope(() => squeeze(slice(x, a, i, i + 1), a));
}
