import type { View } from '../backends/backend.js';
import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { broadcastShapes, broadcastStrides, formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { add } from './elementwise.js';
import { backendOf, empty, requireFloat, requireSameDType, sumToShape } from './helpers.js';
import { reshape, squeeze, transpose, unsqueeze } from './view.js';

/** x read with batch axes broadcast to `batch` (stride 0 where x repeats). */
function batchView(x: Tensor, batch: readonly number[]): View {
  const inner = x.shape.slice(-2);
  const innerStrides = x.strides.slice(-2);
  const outer = broadcastStrides(x.shape.slice(0, -2), x.strides.slice(0, -2), batch);
  return { ...x.view(), shape: [...batch, ...inner], strides: [...outer, ...innerStrides] };
}

function matmul2(a: Tensor, b: Tensor): Tensor {
  const backend = backendOf('matmul', a, b);
  const m = a.shape[a.rank - 2]!;
  const k = a.shape[a.rank - 1]!;
  const n = b.shape[b.rank - 1]!;
  if (b.shape[b.rank - 2] !== k) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not fit (inner sizes ${k} and ${b.shape[b.rank - 2]})`,
    );
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const out = empty([...batch, m, n], a.dtype, backend);
  backend.matmul(out.view(), batchView(a, batch), batchView(b, batch));
  attach('matmul', [a, b], [out], [a, b], ([g], [as, bs], needs) => [
    needs[0] ? sumToShape(matmul(g!, transpose(bs!)), as!.shape) : null,
    needs[1] ? sumToShape(matmul(transpose(as!), g!), bs!.shape) : null,
  ]);
  return out;
}

/**
 * Matrix product with NumPy semantics: 1-D operands gain and then lose a unit axis, leading
 * axes broadcast as batches. A transposed operand is passed to the kernel as a strided view,
 * never copied.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat('matmul', a);
  requireSameDType('matmul', a, b);
  if (a.rank === 0 || b.rank === 0)
    throw new ShapeError(
      `matmul: operands must have rank >= 1, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  if (a.rank >= 2 && b.rank >= 2 && !(a.rank > 2 && b.rank === 2)) return matmul2(a, b);
  return scope(() => {
    if (a.rank === 1 || b.rank === 1) {
      let out = matmul(a.rank === 1 ? unsqueeze(a, 0) : a, b.rank === 1 ? unsqueeze(b, 1) : b);
      if (b.rank === 1) out = squeeze(out, -1);
      if (a.rank === 1) out = squeeze(out, b.rank === 1 ? -1 : -2);
      return out;
    }
    // [..., M, K] @ [K, N]: fold the batch into M so that the kernel sees one large product.
    const k = a.shape[a.rank - 1]!;
    const out = matmul2(reshape(a, [-1, k]), b);
    return reshape(out, [...a.shape.slice(0, -1), b.shape[1]!]);
  });
}

/** y = x W^T + bias, PyTorch's nn.Linear: weight is [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new ShapeError(
      `linear: input ${formatShape(x.shape)} has ${x.shape[x.rank - 1]} features but the weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  return scope(() => {
    const y = matmul(x, transpose(weight));
    return bias ? add(y, bias) : y;
  });
}
