import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError, ShapeError } from '../util/errors.js';
import { cast, div, exp, mul, ne, sub } from './elementwise.js';
import { backendOf, empty, requireDType, requireFloat } from './helpers.js';
import { sum } from './reduce.js';
import { contiguous, permute, reshape } from './view.js';

function lastAxisOp(name: string, x: Tensor, axis: number, run: (xc: Tensor) => Tensor): Tensor {
  requireFloat(name, x);
  const a = normalizeAxis(axis, x.rank, name);
  const last = x.rank - 1;
  if (a === last) return scope(() => run(contiguous(x)));
  const order = Array.from({ length: x.rank }, (_, i) => i);
  order[a] = last;
  order[last] = a;
  return scope(() => permute(run(contiguous(permute(x, order))), order));
}

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const out = empty(x.shape, x.dtype, x.backend);
  x.backend.softmax(out.view(), x.view(), log);
  attach(log ? 'logSoftmax' : 'softmax', [x], [out], [out], ([g], [y]) => {
    const total = sum(log ? g! : mul(g!, y!), -1, true);
    return [log ? sub(g!, mul(exp(y!), total)) : mul(y!, sub(g!, total))];
  });
  return out;
}

/** exp(x) / sum(exp(x)) along an axis (the last by default), computed stably (max subtracted first). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return lastAxisOp('softmax', x, axis, (xc) => softmaxLast(xc, false));
}

/** log(softmax(x)) along an axis (the last by default), computed without forming softmax. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return lastAxisOp('logSoftmax', x, axis, (xc) => softmaxLast(xc, true));
}

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (PyTorch's default, -100). */
  ignoreIndex?: number;
  /** 'mean' over the targets that are not ignored (default), 'sum', or 'none' for one loss per row. */
  reduction?: 'mean' | 'sum' | 'none';
}

/** Per-row loss of logits [N, C] against int32 targets [N], through the fused kernels. */
function crossEntropyRows(logits: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  const backend = backendOf('crossEntropy', logits, targets);
  const n = logits.shape[0]!;
  const loss = empty([n], logits.dtype, backend);
  const lse = empty([n], logits.dtype, backend);
  backend.crossEntropy(loss.view(), lse.view(), logits.view(), targets.view(), ignoreIndex);
  attach('crossEntropy', [logits], [loss], [logits, lse, targets], ([g], [x, s, t]) => {
    const dx = empty(x!.shape, x!.dtype, backend);
    backend.crossEntropyGrad(dx.view(), x!.view(), s!.view(), t!.view(), contiguous(g!).view(), ignoreIndex);
    return [dx];
  });
  lse.dispose();
  return loss;
}

/**
 * Cross-entropy of logits [..., C] against int32 class targets [...] (PyTorch's F.cross_entropy
 * with class indices), computed from log-sum-exp without materialising log-probabilities.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean' } = options;
  requireFloat('crossEntropy', logits);
  requireDType('crossEntropy', targets, 'int32', 'targets (class indices)');
  const classes = logits.shape[logits.rank - 1];
  if (logits.rank < 1 || targets.rank !== logits.rank - 1 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ShapeError(
      `crossEntropy: logits ${formatShape(logits.shape)} need targets of shape ${formatShape(logits.shape.slice(0, -1))}, got ${formatShape(targets.shape)}`,
    );
  }
  return scope(() => {
    const rows = crossEntropyRows(
      contiguous(reshape(logits, [-1, classes!])),
      contiguous(reshape(targets, [-1])),
      ignoreIndex,
    );
    if (reduction === 'none') return reshape(rows, targets.shape);
    const total = sum(rows);
    if (reduction === 'sum') return total;
    if (reduction !== 'mean')
      throw new MambaError(`crossEntropy: unknown reduction '${String(reduction)}'; use 'mean', 'sum' or 'none'`);
    // Counted on the device, so that the loss never waits for a read back; 0 / 0 is NaN, as in PyTorch.
    const counted = sum(cast(ne(targets, ignoreIndex), logits.dtype));
    return div(total, counted);
  });
}
