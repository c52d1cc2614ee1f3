import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { add, mul } from './elementwise.js';
import { backendOf, empty, requireFloat } from './helpers.js';
import { contiguous, reshape } from './view.js';

function checkAffine(op: string, x: Tensor, p: Tensor | null | undefined, what: string): void {
  const features = x.shape[x.rank - 1];
  if (p && (p.rank !== 1 || p.shape[0] !== features)) {
    throw new ShapeError(
      `${op}: ${what} ${formatShape(p.shape)} does not match the ${features} features of input ${formatShape(x.shape)}`,
    );
  }
}

function rowsOf(x: Tensor): number {
  return x.size / (x.shape[x.rank - 1] ?? 1);
}

/** Layer normalisation over the last axis, with optional elementwise weight and bias. */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  requireFloat('layerNorm', x);
  checkAffine('layerNorm', x, weight, 'weight');
  checkAffine('layerNorm', x, bias, 'bias');
  const params = [weight, bias].filter((p): p is Tensor => !!p);
  const backend = backendOf('layerNorm', x, ...params);
  return scope(() => {
    const xc = contiguous(x);
    const out = empty(x.shape, x.dtype, backend);
    const mean = empty([rowsOf(x)], x.dtype, backend);
    const rstd = empty([rowsOf(x)], x.dtype, backend);
    backend.layerNorm(
      out.view(),
      mean.view(),
      rstd.view(),
      xc.view(),
      weight?.view() ?? null,
      bias?.view() ?? null,
      eps,
    );
    attach(
      'layerNorm',
      [xc, ...params],
      [out],
      [xc, mean, rstd, ...(weight ? [weight] : [])],
      ([g], [xs, m, r, w], needs) => {
        const dx = empty(xs!.shape, xs!.dtype, backend);
        const dw = weight && needs[1] ? empty(weight.shape, weight.dtype, backend) : null;
        const db = bias && needs[weight ? 2 : 1] ? empty(bias.shape, bias.dtype, backend) : null;
        backend.layerNormGrad(
          dx.view(),
          dw?.view() ?? null,
          db?.view() ?? null,
          contiguous(g!).view(),
          xs!.view(),
          m!.view(),
          r!.view(),
          w?.view() ?? null,
        );
        return weight ? [dx, dw, db] : [dx, db];
      },
    );
    return out;
  });
}

/** RMS normalisation over the last axis (Mamba's norm): x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-5): Tensor {
  requireFloat('rmsNorm', x);
  checkAffine('rmsNorm', x, weight, 'weight');
  const backend = backendOf('rmsNorm', x, ...(weight ? [weight] : []));
  return scope(() => {
    const xc = contiguous(x);
    const out = empty(x.shape, x.dtype, backend);
    const rstd = empty([rowsOf(x)], x.dtype, backend);
    backend.rmsNorm(out.view(), rstd.view(), xc.view(), weight?.view() ?? null, eps);
    attach(
      'rmsNorm',
      weight ? [xc, weight] : [xc],
      [out],
      weight ? [xc, rstd, weight] : [xc, rstd],
      ([g], [xs, r, w], needs) => {
        const dx = empty(xs!.shape, xs!.dtype, backend);
        const dw = w && needs[1] ? empty(w.shape, w.dtype, backend) : null;
        backend.rmsNormGrad(
          dx.view(),
          dw?.view() ?? null,
          contiguous(g!).view(),
          xs!.view(),
          r!.view(),
          w?.view() ?? null,
        );
        return [dx, dw];
      },
    );
    return out;
  });
}

/**
 * Instance normalisation of x [B, C, ...spatial]: each (sample, channel) plane normalised on its
 * own, then an optional per-channel weight and bias.
 */
export function instanceNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  if (x.rank < 3)
    throw new ShapeError(`instanceNorm: input must be [batch, channels, ...spatial], got ${formatShape(x.shape)}`);
  const channels = x.shape[1]!;
  for (const [p, what] of [
    [weight, 'weight'],
    [bias, 'bias'],
  ] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== channels)) {
      throw new ShapeError(
        `instanceNorm: ${what} ${formatShape(p.shape)} does not match the ${channels} channels of ${formatShape(x.shape)}`,
      );
    }
  }
  return scope(() => {
    const planes = reshape(x, [x.shape[0]! * channels, -1]);
    let y = reshape(layerNorm(planes, null, null, eps), x.shape);
    const perChannel = [channels, ...x.shape.slice(2).map(() => 1)];
    if (weight) y = mul(y, reshape(weight, perChannel));
    if (bias) y = add(y, reshape(bias, perChannel));
    return y;
  });
}
