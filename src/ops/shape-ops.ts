import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, normalizeAxes, normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError, ShapeError } from '../util/errors.js';
import { backendOf, empty, filled, requireSameDType } from './helpers.js';
import { slice, unsqueeze } from './view.js';

/** Joins tensors along an existing axis. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new MambaError('concat: needs at least one tensor');
  const first = tensors[0]!;
  const backend = backendOf('concat', ...tensors);
  const a = normalizeAxis(axis, first.rank, 'concat');
  for (const t of tensors) {
    requireSameDType('concat', first, t);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(
        `concat: shapes ${tensors.map((x) => formatShape(x.shape)).join(', ')} differ outside axis ${axis}`,
      );
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((n, t) => n + t.shape[a]!, 0);
  const out = empty(shape, first.dtype, backend);
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    const part = { ...out.view(), shape: t.shape, offset: at * out.strides[a]! };
    backend.copy(part, t.view());
    at += t.shape[a]!;
  }
  attach('concat', tensors, [out], [], ([g], _saved, needs) =>
    tensors.map((t, i) => (needs[i] ? slice(g!, a, starts[i]!, starts[i]! + t.shape[a]!) : null)),
  );
  return out;
}

/** Joins tensors along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new MambaError('stack: needs at least one tensor');
  const a = normalizeAxis(axis, tensors[0]!.rank + 1, 'stack');
  return scope(() =>
    concat(
      tensors.map((t) => unsqueeze(t, a)),
      a,
    ),
  );
}

/** Views of consecutive pieces along an axis: of the given sizes, or of one size (the last may be smaller). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normalizeAxis(axis, x.rank, 'split');
  const n = x.shape[a]!;
  let parts: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0)
      throw new ShapeError(`split: the piece size must be a positive integer, got ${sizes}`);
    parts = [];
    for (let s = 0; s < n; s += sizes) parts.push(Math.min(sizes, n - s));
  } else {
    parts = [...sizes];
    if (parts.reduce((s, p) => s + p, 0) !== n) {
      throw new ShapeError(
        `split: sizes [${parts.join(', ')}] do not add up to ${n}, the size of axis ${axis} of ${formatShape(x.shape)}`,
      );
    }
  }
  const out: Tensor[] = [];
  let at = 0;
  for (const p of parts) {
    out.push(slice(x, a, at, at + p));
    at += p;
  }
  return out;
}

/** `count` nearly equal pieces along an axis. */
export function chunk(x: Tensor, count: number, axis = 0): Tensor[] {
  const n = x.shape[normalizeAxis(axis, x.rank, 'chunk')]!;
  return split(x, Math.max(1, Math.ceil(n / count)), axis);
}

/**
 * Constant padding. `pads` holds [before, after] pairs for the last pads.length axes, in axis
 * order: pad(x, [[1, 1], [2, 2]]) pads the last two axes.
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.length > x.rank) throw new ShapeError(`pad: ${pads.length} pad pairs for a tensor of rank ${x.rank}`);
  const lead = x.rank - pads.length;
  const before = x.shape.map((_, i) => (i < lead ? 0 : pads[i - lead]![0]));
  const after = x.shape.map((_, i) => (i < lead ? 0 : pads[i - lead]![1]));
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError(`pad: pads must be non-negative integers, got ${JSON.stringify(pads)}`);
  }
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const out = filled(shape, x.dtype, x.backend, value);
  const interiorOffset = before.reduce((o, b, i) => o + b * out.strides[i]!, 0);
  x.backend.copy({ ...out.view(), shape: x.shape, offset: interiorOffset }, x.view());
  attach('pad', [x], [out], [], ([g]) => [
    scope(() => before.reduce((t, b, i) => (b === 0 && after[i] === 0 ? t : slice(t, i, b, b + x.shape[i]!)), g!)),
  ]);
  return out;
}

/**
 * Reverses the order of elements along the given axes: a view with negative strides, no copy (Vim
 * reverses every layer's sequence twice). Kernels read such views in place; contiguous() copies.
 */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  const ax = normalizeAxes(axes, x.rank, 'flip');
  const strides = [...x.strides];
  let offset = x.offset;
  for (const a of ax) {
    offset += (x.shape[a]! - 1) * x.strides[a]!;
    strides[a] = -x.strides[a]!;
  }
  const out = x.restride(x.shape, strides, x.shape.some((d) => d === 0) ? x.offset : offset);
  attach('flip', [x], [out], [], ([g]) => [flip(g!, ax)]);
  return out;
}
