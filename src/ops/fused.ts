import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { add } from './elementwise.js';
import { backendOf, empty, requireFloat, requireSameDType } from './helpers.js';
import { rmsNorm } from './norm.js';
import { contiguous } from './view.js';

/**
 * Mamba's residual step in one pass: sum = x + residual and out = rmsNorm(sum) * weight.
 * With no residual (the first block) the sum is x itself.
 */
export function addRmsNorm(
  x: Tensor,
  residual: Tensor | null,
  weight: Tensor | null,
  eps = 1e-5,
): { out: Tensor; sum: Tensor } {
  if (residual === null) return { out: rmsNorm(x, weight, eps), sum: x };
  requireFloat('addRmsNorm', x);
  requireSameDType('addRmsNorm', x, residual);
  if (!shapesEqual(x.shape, residual.shape)) {
    throw new ShapeError(
      `addRmsNorm: x ${formatShape(x.shape)} and residual ${formatShape(residual.shape)} must have the same shape`,
    );
  }
  const features = x.shape[x.rank - 1];
  if (weight && (weight.rank !== 1 || weight.shape[0] !== features)) {
    throw new ShapeError(
      `addRmsNorm: weight ${formatShape(weight.shape)} does not match the ${features} features of ${formatShape(x.shape)}`,
    );
  }
  const backend = backendOf('addRmsNorm', x, residual, ...(weight ? [weight] : []));
  return scope(() => {
    const xc = contiguous(x);
    const rc = contiguous(residual);
    const out = empty(x.shape, x.dtype, backend);
    const sum = empty(x.shape, x.dtype, backend);
    const rstd = empty([x.size / (features || 1)], x.dtype, backend);
    backend.addRmsNorm(out.view(), sum.view(), rstd.view(), xc.view(), rc.view(), weight?.view() ?? null, eps);
    const inputs = weight ? [xc, rc, weight] : [xc, rc];
    attach(
      'addRmsNorm',
      inputs,
      [out, sum],
      weight ? [sum, rstd, weight] : [sum, rstd],
      ([gOut, gSum], [s, r, w], needs) => {
        let dsum: Tensor | null = null;
        let dw: Tensor | null = null;
        if (gOut) {
          dsum = empty(s!.shape, s!.dtype, backend);
          dw = w && needs[2] ? empty(w.shape, w.dtype, backend) : null;
          backend.rmsNormGrad(
            dsum.view(),
            dw?.view() ?? null,
            contiguous(gOut).view(),
            s!.view(),
            r!.view(),
            w?.view() ?? null,
          );
        }
        const total = dsum && gSum ? add(dsum, gSum) : (dsum ?? gSum);
        return [total, total, dw];
      },
    );
    return { out, sum };
  });
}

/** y * silu(z) in one pass: the output gate of the Mamba mixer. */
export function siluGate(y: Tensor, z: Tensor): Tensor {
  requireFloat('siluGate', y);
  requireSameDType('siluGate', y, z);
  if (!shapesEqual(y.shape, z.shape))
    throw new ShapeError(`siluGate: y ${formatShape(y.shape)} and z ${formatShape(z.shape)} must have the same shape`);
  const backend = backendOf('siluGate', y, z);
  return scope(() => {
    const yc = contiguous(y);
    const zc = contiguous(z);
    const out = empty(y.shape, y.dtype, backend);
    backend.siluMul(out.view(), yc.view(), zc.view());
    attach('siluGate', [yc, zc], [out], [yc, zc], ([g], [ys, zs]) => {
      const dy = empty(ys!.shape, ys!.dtype, backend);
      const dz = empty(zs!.shape, zs!.dtype, backend);
      backend.siluMulGrad(dy.view(), dz.view(), contiguous(g!).view(), ys!.view(), zs!.view());
      return [dy, dz];
    });
    return out;
  });
}
