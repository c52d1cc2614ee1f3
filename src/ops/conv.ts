import type { Conv2dParams } from '../backends/backend.js';
import { attach } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { add } from './elementwise.js';
import { backendOf, empty, filled, requireFloat, requireRank } from './helpers.js';
import { sum } from './reduce.js';
import { contiguous, reshape, squeeze, unsqueeze } from './view.js';

type Pair = number | readonly [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

function convParams(o: Conv2dOptions): Conv2dParams {
  const [strideH, strideW] = pair(o.stride ?? 1);
  const [padH, padW] = pair(o.padding ?? 0);
  const [dilationH, dilationW] = pair(o.dilation ?? 1);
  const groups = o.groups ?? 1;
  for (const [name, v, lo] of [
    ['stride', strideH, 1],
    ['stride', strideW, 1],
    ['padding', padH, 0],
    ['padding', padW, 0],
    ['dilation', dilationH, 1],
    ['dilation', dilationW, 1],
    ['groups', groups, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < lo) throw new ShapeError(`conv: ${name} must be an integer >= ${lo}, got ${v}`);
  }
  return { strideH, strideW, padH, padW, dilationH, dilationW, groups };
}

function convOut(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

/** Depthwise causal conv over time (Mamba's conv1d): x [B, L, D], weight [D, K], bias [D]. */
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  requireFloat('causalConv1d', x);
  requireRank('causalConv1d', x, 3, 'input [batch, length, channels]');
  requireRank('causalConv1d', weight, 2, 'weight [channels, kernel]');
  const dim = x.shape[2]!;
  if (weight.shape[0] !== dim || (bias && (bias.rank !== 1 || bias.shape[0] !== dim))) {
    throw new ShapeError(
      `causalConv1d: input ${formatShape(x.shape)}, weight ${formatShape(weight.shape)} and bias ${bias ? formatShape(bias.shape) : 'none'} disagree on the channel count`,
    );
  }
  const backend = backendOf('causalConv1d', x, weight, ...(bias ? [bias] : []));
  return scope(() => {
    const w = contiguous(weight);
    const out = empty(x.shape, x.dtype, backend);
    backend.causalConv1d(out.view(), x.view(), w.view(), bias ? contiguous(bias).view() : null);
    attach('causalConv1d', bias ? [x, w, bias] : [x, w], [out], [x, w], ([g], [xs, ws], needs) => {
      const dx = empty(xs!.shape, xs!.dtype, backend);
      const dw = empty(ws!.shape, ws!.dtype, backend);
      const db = bias && needs[2] ? empty(bias.shape, bias.dtype, backend) : null;
      backend.causalConv1dGrad(dx.view(), dw.view(), db?.view() ?? null, contiguous(g!).view(), xs!.view(), ws!.view());
      return [dx, dw, db];
    });
    return out;
  });
}

/** PyTorch's conv2d: x [B, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  requireFloat('conv2d', x);
  requireRank('conv2d', x, 4, 'input [batch, channels, height, width]');
  requireRank('conv2d', weight, 4, 'weight [out, in/groups, kH, kW]');
  const p = convParams(options);
  const [batch, cin, h, w] = x.shape as [number, number, number, number];
  const [cout, cinPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  if (cin !== cinPerGroup * p.groups || cout % p.groups !== 0) {
    throw new ShapeError(
      `conv2d: input ${formatShape(x.shape)} and weight ${formatShape(weight.shape)} do not fit with groups = ${p.groups}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout))
    throw new ShapeError(`conv2d: bias ${formatShape(bias.shape)} must be [${cout}]`);
  const ho = convOut(h, kh, p.strideH, p.padH, p.dilationH);
  const wo = convOut(w, kw, p.strideW, p.padW, p.dilationW);
  if (ho <= 0 || wo <= 0)
    throw new ShapeError(
      `conv2d: input ${formatShape(x.shape)} is too small for kernel ${kh}x${kw} with this padding and dilation`,
    );
  const backend = backendOf('conv2d', x, weight, ...(bias ? [bias] : []));
  return scope(() => {
    const xc = contiguous(x);
    const wc = contiguous(weight);
    const out = empty([batch, cout, ho, wo], x.dtype, backend);
    backend.conv2d(out.view(), xc.view(), wc.view(), bias ? contiguous(bias).view() : null, p);
    attach('conv2d', bias ? [xc, wc, bias] : [xc, wc], [out], [xc, wc], ([g], [xs, ws], needs) => {
      const gc = contiguous(g!);
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      if (needs[0]) {
        dx = empty(xs!.shape, xs!.dtype, backend);
        backend.conv2dGradInput(dx.view(), gc.view(), ws!.view(), p);
      }
      if (needs[1]) {
        dw = empty(ws!.shape, ws!.dtype, backend);
        backend.conv2dGradWeight(dw.view(), xs!.view(), gc.view(), p);
      }
      return [dx, dw, needs[2] ? sum(gc, [0, 2, 3]) : null];
    });
    return out;
  });
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/**
 * PyTorch's conv_transpose2d: x [B, Cin, H, W], weight [Cin, Cout/groups, kH, kW]. It is the
 * adjoint of conv2d, so it runs on conv2d's input-gradient kernel and differentiates back
 * through conv2d.
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTranspose2dOptions = {},
): Tensor {
  requireFloat('convTranspose2d', x);
  requireRank('convTranspose2d', x, 4, 'input [batch, channels, height, width]');
  requireRank('convTranspose2d', weight, 4, 'weight [in, out/groups, kH, kW]');
  const p = convParams(options);
  const [oph, opw] = pair(options.outputPadding ?? 0);
  const [batch, cin, h, w] = x.shape as [number, number, number, number];
  const [wIn, coutPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  if (wIn !== cin || cin % p.groups !== 0) {
    throw new ShapeError(
      `convTranspose2d: input ${formatShape(x.shape)} and weight ${formatShape(weight.shape)} do not fit with groups = ${p.groups}`,
    );
  }
  if (oph >= Math.max(p.strideH, p.dilationH) || opw >= Math.max(p.strideW, p.dilationW) || oph < 0 || opw < 0) {
    throw new ShapeError(`convTranspose2d: outputPadding must be smaller than the stride or the dilation`);
  }
  const cout = coutPerGroup * p.groups;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout))
    throw new ShapeError(`convTranspose2d: bias ${formatShape(bias.shape)} must be [${cout}]`);
  const ho = (h - 1) * p.strideH - 2 * p.padH + p.dilationH * (kh - 1) + oph + 1;
  const wo = (w - 1) * p.strideW - 2 * p.padW + p.dilationW * (kw - 1) + opw + 1;
  if (ho <= 0 || wo <= 0)
    throw new ShapeError(`convTranspose2d: padding leaves no output for input ${formatShape(x.shape)}`);
  const backend = backendOf('convTranspose2d', x, weight, ...(bias ? [bias] : []));
  return scope(() => {
    const xc = contiguous(x);
    const wc = contiguous(weight);
    const out = empty([batch, cout, ho, wo], x.dtype, backend);
    backend.conv2dGradInput(out.view(), xc.view(), wc.view(), p);
    attach('convTranspose2d', [xc, wc], [out], [xc, wc], ([g], [xs, ws], needs) => {
      const gc = contiguous(g!);
      let dx: Tensor | null = null;
      let dw: Tensor | null = null;
      if (needs[0]) {
        dx = empty(xs!.shape, xs!.dtype, backend);
        backend.conv2d(dx.view(), gc.view(), ws!.view(), null, p);
      }
      if (needs[1]) {
        dw = empty(ws!.shape, ws!.dtype, backend);
        backend.conv2dGradWeight(dw.view(), gc.view(), xs!.view(), p);
      }
      return [dx, dw];
    });
    return bias ? add(out, reshape(bias, [cout, 1, 1])) : out;
  });
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

/** PyTorch's conv1d: x [B, Cin, L], weight [Cout, Cin/groups, K]; runs as a conv2d of height 1. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv1dOptions = {}): Tensor {
  requireRank('conv1d', x, 3, 'input [batch, channels, length]');
  requireRank('conv1d', weight, 3, 'weight [out, in/groups, kernel]');
  return scope(() =>
    squeeze(
      conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {
        stride: [1, options.stride ?? 1],
        padding: [0, options.padding ?? 0],
        dilation: [1, options.dilation ?? 1],
        groups: options.groups ?? 1,
      }),
      2,
    ),
  );
}

export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

function poolGeometry(op: string, x: Tensor, kernel: Pair, o: Pool2dOptions) {
  requireRank(op, x, 4, 'input [batch, channels, height, width]');
  const [kernelH, kernelW] = pair(kernel);
  const [strideH, strideW] = pair(o.stride ?? kernel);
  const [padH, padW] = pair(o.padding ?? 0);
  if (padH * 2 > kernelH || padW * 2 > kernelW)
    throw new ShapeError(`${op}: padding must be at most half the kernel size`);
  const ho = Math.floor((x.shape[2]! + 2 * padH - kernelH) / strideH) + 1;
  const wo = Math.floor((x.shape[3]! + 2 * padW - kernelW) / strideW) + 1;
  if (ho <= 0 || wo <= 0)
    throw new ShapeError(`${op}: input ${formatShape(x.shape)} is smaller than the ${kernelH}x${kernelW} kernel`);
  return { p: { kernelH, kernelW, strideH, strideW, padH, padW }, ho, wo };
}

/** Max pooling over [B, C, H, W]; the gradient goes to the position of each maximum. */
export function maxPool2d(x: Tensor, kernel: Pair, options: Pool2dOptions = {}): Tensor {
  requireFloat('maxPool2d', x);
  const { p, ho, wo } = poolGeometry('maxPool2d', x, kernel, options);
  const [batch, channels, h, w] = x.shape as [number, number, number, number];
  const backend = x.backend;
  return scope(() => {
    const xc = contiguous(x);
    const out = empty([batch, channels, ho, wo], x.dtype, backend);
    const indices = empty([batch, channels, ho, wo], 'int32', backend);
    backend.maxPool2d(out.view(), indices.view(), xc.view(), p);
    attach('maxPool2d', [xc], [out], [indices], ([g], [idx]) => {
      const planes = batch * channels;
      const gx = filled([planes, h * w], g!.dtype, backend, 0);
      const flatIdx = { ...idx!.view(), shape: [planes, ho * wo], strides: [ho * wo, 1] };
      const flatG = { ...contiguous(g!).view(), shape: [planes, ho * wo], strides: [ho * wo, 1] };
      backend.scatterAdd(gx.view(), 1, flatIdx, flatG);
      return [reshape(gx, x.shape)];
    });
    return out;
  });
}

/** Average pooling with zero padding counted (PyTorch's default count_include_pad). */
export function avgPool2d(x: Tensor, kernel: Pair, options: Pool2dOptions = {}): Tensor {
  requireFloat('avgPool2d', x);
  const { p } = poolGeometry('avgPool2d', x, kernel, options);
  const channels = x.shape[1]!;
  // A depthwise conv with constant weights is exactly this average, gradient included.
  return scope(() => {
    const weight = filled([channels, 1, p.kernelH, p.kernelW], x.dtype, x.backend, 1 / (p.kernelH * p.kernelW));
    return conv2d(x, weight, null, { stride: [p.strideH, p.strideW], padding: [p.padH, p.padW], groups: channels });
  });
}
