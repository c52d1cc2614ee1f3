import type { Conv2dParams, Pool2dParams, View } from '../backend.js';
import { data } from './strided.js';

/** Storage offset of x[b, t, d] for a possibly strided [B, L, D] view. */
function at3(v: View, b: number, t: number, d: number): number {
  return v.offset + b * v.strides[0]! + t * v.strides[1]! + d * v.strides[2]!;
}

export function causalConv1d(out: View, x: View, weight: View, bias: View | null): void {
  const [batch, len, dim] = x.shape as [number, number, number];
  const k = weight.shape[1]!;
  const xs = data(x);
  const w = data(weight);
  const o = data(out);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < len; t++) {
      for (let d = 0; d < dim; d++) {
        let acc = bias ? data(bias)[bias.offset + d]! : 0;
        for (let j = 0; j < k; j++) {
          const s = t - (k - 1) + j;
          if (s >= 0) acc += w[weight.offset + d * k + j]! * xs[at3(x, b, s, d)]!;
        }
        o[out.offset + (b * len + t) * dim + d] = acc;
      }
    }
  }
}

export function causalConv1dGrad(dx: View, dweight: View, dbias: View | null, g: View, x: View, weight: View): void {
  const [batch, len, dim] = x.shape as [number, number, number];
  const k = weight.shape[1]!;
  const xs = data(x);
  const w = data(weight);
  const gs = data(g);
  const dws = new Float64Array(dim * k);
  const dbs = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < len; s++) {
      for (let d = 0; d < dim; d++) {
        let acc = 0;
        for (let j = 0; j < k; j++) {
          const t = s + (k - 1) - j;
          if (t < len) acc += w[weight.offset + d * k + j]! * gs[g.offset + (b * len + t) * dim + d]!;
        }
        data(dx)[dx.offset + (b * len + s) * dim + d] = acc;
        const gv = gs[g.offset + (b * len + s) * dim + d]!;
        dbs[d] += gv;
        for (let j = 0; j < k; j++) {
          const src = s - (k - 1) + j;
          if (src >= 0) dws[d * k + j] += gv * xs[at3(x, b, src, d)]!;
        }
      }
    }
  }
  for (let i = 0; i < dim * k; i++) data(dweight)[dweight.offset + i] = dws[i]!;
  if (dbias) for (let d = 0; d < dim; d++) data(dbias)[dbias.offset + d] = dbs[d]!;
}

interface ConvGeometry {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  cinPerGroup: number;
  coutPerGroup: number;
}

function geometry(x: View, weight: View, out: View, p: Conv2dParams): ConvGeometry {
  const [batch, cin, h, w] = x.shape as [number, number, number, number];
  const [cout, cinPerGroup, kh, kw] = weight.shape as [number, number, number, number];
  return {
    batch,
    cin,
    h,
    w,
    cout,
    ho: out.shape[2]!,
    wo: out.shape[3]!,
    kh,
    kw,
    cinPerGroup,
    coutPerGroup: cout / p.groups,
  };
}

/**
 * Visits every (output position, weight tap, input position) triple of a 2-D convolution that
 * lands inside the input. The three kernels below differ only in what they accumulate.
 */
function forEachTap(
  gm: ConvGeometry,
  p: Conv2dParams,
  visit: (
    b: number,
    co: number,
    oh: number,
    ow: number,
    ci: number,
    cil: number,
    i: number,
    j: number,
    ih: number,
    iw: number,
  ) => void,
): void {
  for (let b = 0; b < gm.batch; b++) {
    for (let co = 0; co < gm.cout; co++) {
      const group = Math.floor(co / gm.coutPerGroup);
      for (let oh = 0; oh < gm.ho; oh++) {
        for (let ow = 0; ow < gm.wo; ow++) {
          for (let cil = 0; cil < gm.cinPerGroup; cil++) {
            const ci = group * gm.cinPerGroup + cil;
            for (let i = 0; i < gm.kh; i++) {
              const ih = oh * p.strideH - p.padH + i * p.dilationH;
              if (ih < 0 || ih >= gm.h) continue;
              for (let j = 0; j < gm.kw; j++) {
                const iw = ow * p.strideW - p.padW + j * p.dilationW;
                if (iw < 0 || iw >= gm.w) continue;
                visit(b, co, oh, ow, ci, cil, i, j, ih, iw);
              }
            }
          }
        }
      }
    }
  }
}

export function conv2d(out: View, x: View, weight: View, bias: View | null, p: Conv2dParams): void {
  const gm = geometry(x, weight, out, p);
  const xs = data(x);
  const ws = data(weight);
  const acc = new Float64Array(gm.batch * gm.cout * gm.ho * gm.wo);
  forEachTap(gm, p, (b, co, oh, ow, ci, cil, i, j, ih, iw) => {
    acc[((b * gm.cout + co) * gm.ho + oh) * gm.wo + ow] +=
      ws[weight.offset + ((co * gm.cinPerGroup + cil) * gm.kh + i) * gm.kw + j]! *
      xs[x.offset + ((b * gm.cin + ci) * gm.h + ih) * gm.w + iw]!;
  });
  const o = data(out);
  const plane = gm.ho * gm.wo;
  for (let e = 0; e < acc.length; e++) {
    const co = Math.floor(e / plane) % gm.cout;
    o[out.offset + e] = acc[e]! + (bias ? data(bias)[bias.offset + co]! : 0);
  }
}

export function conv2dGradInput(dx: View, g: View, weight: View, p: Conv2dParams): void {
  const gm = geometry(dx, weight, g, p);
  const gs = data(g);
  const ws = data(weight);
  const acc = new Float64Array(gm.batch * gm.cin * gm.h * gm.w);
  forEachTap(gm, p, (b, co, oh, ow, ci, cil, i, j, ih, iw) => {
    acc[((b * gm.cin + ci) * gm.h + ih) * gm.w + iw] +=
      ws[weight.offset + ((co * gm.cinPerGroup + cil) * gm.kh + i) * gm.kw + j]! *
      gs[g.offset + ((b * gm.cout + co) * gm.ho + oh) * gm.wo + ow]!;
  });
  const d = data(dx);
  for (let e = 0; e < acc.length; e++) d[dx.offset + e] = acc[e]!;
}

export function conv2dGradWeight(dweight: View, x: View, g: View, p: Conv2dParams): void {
  const gm = geometry(x, dweight, g, p);
  const gs = data(g);
  const xs = data(x);
  const acc = new Float64Array(gm.cout * gm.cinPerGroup * gm.kh * gm.kw);
  forEachTap(gm, p, (b, co, oh, ow, ci, cil, i, j, ih, iw) => {
    acc[((co * gm.cinPerGroup + cil) * gm.kh + i) * gm.kw + j] +=
      gs[g.offset + ((b * gm.cout + co) * gm.ho + oh) * gm.wo + ow]! *
      xs[x.offset + ((b * gm.cin + ci) * gm.h + ih) * gm.w + iw]!;
  });
  const d = data(dweight);
  for (let e = 0; e < acc.length; e++) d[dweight.offset + e] = acc[e]!;
}

export function maxPool2d(out: View, indices: View, x: View, p: Pool2dParams): void {
  const [batch, channels, h, w] = x.shape as [number, number, number, number];
  const ho = out.shape[2]!;
  const wo = out.shape[3]!;
  const xs = data(x);
  const o = data(out);
  const idx = data(indices);
  for (let plane = 0; plane < batch * channels; plane++) {
    const base = x.offset + plane * h * w;
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        let best = -Infinity;
        let bestAt = -1;
        for (let i = 0; i < p.kernelH; i++) {
          const ih = oh * p.strideH - p.padH + i;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < p.kernelW; j++) {
            const iw = ow * p.strideW - p.padW + j;
            if (iw < 0 || iw >= w) continue;
            const v = xs[base + ih * w + iw]!;
            if (v > best || bestAt < 0 || Number.isNaN(v)) {
              best = v;
              bestAt = ih * w + iw;
              if (Number.isNaN(v)) break;
            }
          }
        }
        const e = (plane * ho + oh) * wo + ow;
        o[out.offset + e] = best;
        idx[indices.offset + e] = bestAt;
      }
    }
  }
}
