import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { backendOf, copyOf, empty, filled, requireDType, requireSameDType } from './helpers.js';
import { contiguous, reshape } from './view.js';

/** Rows (or slices along `axis`) of x picked by a 1-D int32 index. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const backend = backendOf('indexSelect', x, index);
  requireDType('indexSelect', index, 'int32', 'the index');
  if (index.rank !== 1)
    throw new ShapeError(`indexSelect: the index must be 1-D, got shape ${formatShape(index.shape)}`);
  const a = normalizeAxis(axis, x.rank, 'indexSelect');
  const shape = [...x.shape];
  shape[a] = index.size;
  const out = empty(shape, x.dtype, backend);
  scope(() => backend.indexSelect(out.view(), contiguous(x).view(), a, contiguous(index).view()));
  const inShape = x.shape;
  attach('indexSelect', [x], [out], [index], ([g], [idx]) => {
    const gx = filled(inShape, g!.dtype, backend, 0);
    backend.indexAdd(gx.view(), a, contiguous(idx!).view(), contiguous(g!).view());
    return [gx];
  });
  return out;
}

/** Embedding lookup: weight [V, D] at int32 ids of any shape gives [...ids.shape, D]. */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.rank !== 2)
    throw new ShapeError(`embedding: the weight must be [vocab, dim], got ${formatShape(weight.shape)}`);
  return scope(() => reshape(indexSelect(weight, 0, reshape(ids, [ids.size])), [...ids.shape, weight.shape[1]!]));
}

/** x with src added at the positions `index` names along `axis` (index_add). */
export function indexAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const backend = backendOf('indexAdd', x, index, src);
  requireDType('indexAdd', index, 'int32', 'the index');
  requireSameDType('indexAdd', x, src);
  const a = normalizeAxis(axis, x.rank, 'indexAdd');
  const expected = [...x.shape];
  expected[a] = index.size;
  if (index.rank !== 1 || expected.some((d, i) => d !== src.shape[i]) || src.rank !== x.rank) {
    throw new ShapeError(
      `indexAdd: src must have shape ${formatShape(expected)} for x ${formatShape(x.shape)} and index ${formatShape(index.shape)}, got ${formatShape(src.shape)}`,
    );
  }
  const out = copyOf(x);
  scope(() => backend.indexAdd(out.view(), a, contiguous(index).view(), contiguous(src).view()));
  attach('indexAdd', [x, src], [out], [index], ([g], [idx], needs) => [
    needs[0] ? g! : null,
    needs[1] ? indexSelect(g!, a, idx!) : null,
  ]);
  return out;
}

function checkGatherShapes(op: string, x: Tensor, axis: number, index: Tensor): void {
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== axis && d > x.shape[i]!)) {
    throw new ShapeError(
      `${op}: index ${formatShape(index.shape)} must have the rank of ${formatShape(x.shape)} and no larger size outside axis ${axis}`,
    );
  }
}

/** PyTorch's gather: out[i][j] = x[i][index[i][j]] along `axis`; out has index's shape. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const backend = backendOf('gather', x, index);
  requireDType('gather', index, 'int32', 'the index');
  const a = normalizeAxis(axis, x.rank, 'gather');
  checkGatherShapes('gather', x, a, index);
  const out = empty(index.shape, x.dtype, backend);
  backend.gather(out.view(), x.view(), a, index.view());
  const inShape = x.shape;
  attach('gather', [x], [out], [index], ([g], [idx]) => {
    const gx = filled(inShape, g!.dtype, backend, 0);
    backend.scatterAdd(gx.view(), a, idx!.view(), g!.view());
    return [gx];
  });
  return out;
}

/** x with src added at x[i][index[i][j]] along `axis` (scatter_add). */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const backend = backendOf('scatterAdd', x, index, src);
  requireDType('scatterAdd', index, 'int32', 'the index');
  requireSameDType('scatterAdd', x, src);
  const a = normalizeAxis(axis, x.rank, 'scatterAdd');
  checkGatherShapes('scatterAdd', x, a, index);
  if (src.rank !== index.rank || src.shape.some((d, i) => d < index.shape[i]!)) {
    throw new ShapeError(
      `scatterAdd: src ${formatShape(src.shape)} must be at least as large as index ${formatShape(index.shape)}`,
    );
  }
  const out = copyOf(x);
  const srcView = { ...src.view(), shape: index.shape };
  backend.scatterAdd(out.view(), a, index.view(), srcView);
  const srcShape = src.shape;
  attach('scatterAdd', [x, src], [out], [index], ([g], [idx], needs) => {
    if (!needs[1]) return [g!, null];
    const picked = gather(g!, a, idx!);
    if (picked.shape.every((d, i) => d === srcShape[i])) return [needs[0] ? g! : null, picked];
    const gs = filled(srcShape, g!.dtype, backend, 0);
    backend.copy({ ...gs.view(), shape: idx!.shape }, picked.view());
    return [needs[0] ? g! : null, gs];
  });
  return out;
}
