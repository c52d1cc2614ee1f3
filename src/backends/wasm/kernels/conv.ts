import type { Conv2dParams, Pool2dParams, View } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { fill } from './elementwise.js';
import { matmul } from './matmul.js';
import { sizeOf } from '../../strides.js';

/** A float32 view over a block of wasm memory. */
function block(ptr: number, bytes: number, shape: number[], strides: number[]): View {
  return { handle: { ptr, bytes }, dtype: 'float32', offset: 0, shape, strides };
}

/** The same storage as v seen with another offset (relative to v's), shape and strides. */
function reshaped(v: View, offset: number, shape: number[], strides: number[]): View {
  return { ...v, offset: v.offset + offset, shape, strides };
}

/**
 * Lays the weight out as taps [K, D] in scratch, so that the kernels load four channels' tap
 * with one SIMD load; the caller frees it.
 */
function taps(ctx: WasmContext, weight: View): number {
  const [dim, k] = weight.shape as [number, number];
  const ptr = ctx.scratch(dim * k * 4);
  ctx.run('causalConv1dTaps', [ptr, ctx.addr(weight), dim, k], dim * k);
  return ptr;
}

export function causalConv1d(ctx: WasmContext, out: View, x: View, weight: View, bias: View | null): void {
  const [batch, len, dim] = x.shape as [number, number, number];
  const k = weight.shape[1]!;
  const [sb, st, sd] = x.strides as [number, number, number];
  const t = taps(ctx, weight);
  try {
    const args = [ctx.addr(out), ctx.addr(x), sb, st, sd, t, bias ? ctx.addr(bias) : 0, batch, len, dim, k];
    ctx.run('causalConv1d', args, batch * len * dim);
  } finally {
    ctx.freeScratch(t);
  }
}

export function causalConv1dGrad(
  ctx: WasmContext,
  dx: View,
  dweight: View,
  dbias: View | null,
  g: View,
  x: View,
  weight: View,
): void {
  const [batch, len, dim] = x.shape as [number, number, number];
  const k = weight.shape[1]!;
  const [sb, st, sd] = x.strides as [number, number, number];
  const t = taps(ctx, weight);
  const acc = ctx.scratch((k + 1) * dim * 4);
  try {
    const args = [
      ctx.addr(dx),
      ctx.addr(dweight),
      dbias ? ctx.addr(dbias) : 0,
      ctx.addr(g),
      ctx.addr(x),
      sb,
      st,
      sd,
      t,
      acc,
      batch,
      len,
      dim,
      k,
    ];
    ctx.run('causalConv1dGrad', args, batch * len * dim);
  } finally {
    ctx.freeScratch(acc);
    ctx.freeScratch(t);
  }
}

/**
 * Scratch per batch chunk (column matrices, per-element weight gradients): large enough for
 * big products, small enough not to grow wasm memory, which never shrinks, by much.
 */
const CHUNK_BYTES = 1 << 24;

/**
 * conv2d as matrix products: per batch element and group g, out_g [coutPG, n] = W_g [coutPG, kc]
 * times the column matrix col_g [kc, n] (kc = cinPG * kh * kw taps, n = ho * wo positions).
 * The products of a chunk of batch elements run as one batched matmul over [chunk, groups].
 */
interface Geometry {
  batch: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  ho: number;
  wo: number;
  kh: number;
  kw: number;
  groups: number;
  coutPG: number;
  kc: number;
  n: number;
  /** 1x1, stride 1, no padding: x itself is the column matrix and needs no scratch. */
  pointwise: boolean;
  /** Batch elements per pass. */
  chunk: number;
}

/** x is the conv's input side [B, Cin, H, W], y its output side [B, Cout, Ho, Wo]. */
function geometry(x: View, weight: View, y: View, p: Conv2dParams): Geometry {
  const [batch, cin, h, w] = x.shape as [number, number, number, number];
  const [cout, cinPG, kh, kw] = weight.shape as [number, number, number, number];
  const [ho, wo] = [y.shape[2]!, y.shape[3]!];
  const pointwise = kh === 1 && kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
  const n = ho * wo;
  const perElement = ((pointwise ? 0 : cin * kh * kw * n) + cout * cinPG * kh * kw) * 4;
  const chunk = Math.max(1, Math.min(batch, Math.floor(CHUNK_BYTES / Math.max(1, perElement))));
  return {
    batch,
    cin,
    h,
    w,
    cout,
    ho,
    wo,
    kh,
    kw,
    groups: p.groups,
    coutPG: cout / p.groups,
    kc: cinPG * kh * kw,
    n,
    pointwise,
    chunk,
  };
}

function geometryArgs(gm: Geometry, p: Conv2dParams): number[] {
  return [gm.h, gm.w, gm.kh, gm.kw, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, gm.ho, gm.wo];
}

/** Strides of a chunk's column matrix [bc, groups, kc, n], laid out as im2col writes it and as x is when pointwise. */
function columnStrides(gm: Geometry): number[] {
  return [gm.groups * gm.kc * gm.n, gm.kc * gm.n, gm.n, 1];
}

/** A chunk of the output side (out, or the gradient g) as [bc, groups, coutPG, n]. */
function outputChunk(gm: Geometry, y: View, b0: number, bc: number): View {
  return reshaped(
    y,
    b0 * gm.cout * gm.n,
    [bc, gm.groups, gm.coutPG, gm.n],
    [gm.cout * gm.n, gm.coutPG * gm.n, gm.n, 1],
  );
}

/** The weight [cout, kc] as one [coutPG, kc] matrix per group, shared by a chunk of bc; transposed when asked. */
function weightMatrices(gm: Geometry, weight: View, bc: number, transposed: boolean): View {
  const shape = transposed ? [bc, gm.groups, gm.kc, gm.coutPG] : [bc, gm.groups, gm.coutPG, gm.kc];
  return reshaped(weight, 0, shape, [0, gm.coutPG * gm.kc, ...(transposed ? [1, gm.kc] : [gm.kc, 1])]);
}

/**
 * Calls body(b0, bc, col) for each batch chunk with the chunk's column matrix [bc, groups, kc,
 * n]: the chunk of x (the input side) when pointwise, else scratch, which im2col of x fills
 * first when `fill`.
 */
function forEachChunk(
  ctx: WasmContext,
  gm: Geometry,
  p: Conv2dParams,
  x: View,
  fill: boolean,
  body: (b0: number, bc: number, col: View) => void,
): void {
  const plane = gm.h * gm.w;
  const bytes = gm.chunk * gm.cin * gm.kh * gm.kw * gm.n * 4;
  const ptr = gm.pointwise ? 0 : ctx.scratch(bytes);
  try {
    for (let b0 = 0; b0 < gm.batch; b0 += gm.chunk) {
      const bc = Math.min(gm.chunk, gm.batch - b0);
      const shape = [bc, gm.groups, gm.kc, gm.n];
      if (gm.pointwise) {
        body(b0, bc, reshaped(x, b0 * gm.cin * plane, shape, columnStrides(gm)));
        continue;
      }
      if (fill) {
        const planes = bc * gm.cin;
        ctx.run(
          'im2col',
          [ptr, ctx.addr(x) + b0 * gm.cin * plane * 4, ...geometryArgs(gm, p), planes],
          planes * gm.kh * gm.kw * gm.n,
        );
      }
      body(b0, bc, block(ptr, bytes, shape, columnStrides(gm)));
    }
  } finally {
    if (!gm.pointwise) ctx.freeScratch(ptr);
  }
}

export function conv2d(ctx: WasmContext, out: View, x: View, weight: View, bias: View | null, p: Conv2dParams): void {
  if (sizeOf(out.shape) === 0) return;
  const gm = geometry(x, weight, out, p);
  forEachChunk(ctx, gm, p, x, true, (b0, bc, col) =>
    matmul(ctx, outputChunk(gm, out, b0, bc), weightMatrices(gm, weight, bc, false), col),
  );
  if (bias) {
    const planes = gm.batch * gm.cout;
    ctx.run('convAddBias', [ctx.addr(out), ctx.addr(bias), planes, gm.cout, gm.n], planes * gm.n);
  }
}

export function conv2dGradInput(ctx: WasmContext, dx: View, g: View, weight: View, p: Conv2dParams): void {
  if (sizeOf(dx.shape) === 0) return;
  const gm = geometry(dx, weight, g, p);
  // col = W^T g, folded back onto dx by col2im; pointwise, col is dx itself.
  forEachChunk(ctx, gm, p, dx, false, (b0, bc, col) => {
    matmul(ctx, col, weightMatrices(gm, weight, bc, true), outputChunk(gm, g, b0, bc));
    if (gm.pointwise) return;
    const planes = bc * gm.cin;
    const dst = ctx.addr(dx) + b0 * gm.cin * gm.h * gm.w * 4;
    ctx.run('col2im', [dst, ctx.addr(col), ...geometryArgs(gm, p), planes], planes * gm.kh * gm.kw * gm.n);
  });
}

export function conv2dGradWeight(ctx: WasmContext, dweight: View, x: View, g: View, p: Conv2dParams): void {
  const size = sizeOf(dweight.shape);
  if (size === 0) return;
  const gm = geometry(x, dweight, g, p);
  if (gm.batch === 0) return fill(ctx, dweight, 0);
  // g col^T gives one [cout, kc] gradient per batch element; with several, they are summed.
  const perElement = [size, gm.coutPG * gm.kc, gm.kc, 1];
  const partialBytes = gm.chunk * size * 4;
  const partial = gm.batch > 1 ? ctx.scratch(partialBytes) : null;
  try {
    forEachChunk(ctx, gm, p, x, true, (b0, bc, col) => {
      const colT = reshaped(col, 0, [bc, gm.groups, gm.n, gm.kc], [col.strides[0]!, col.strides[1]!, 1, gm.n]);
      const gc = outputChunk(gm, g, b0, bc);
      if (partial === null) {
        matmul(ctx, reshaped(dweight, 0, [1, gm.groups, gm.coutPG, gm.kc], perElement), gc, colT);
        return;
      }
      matmul(ctx, block(partial, partialBytes, [bc, gm.groups, gm.coutPG, gm.kc], perElement), gc, colT);
      ctx.run('convSumBatch', [ctx.addr(dweight), partial, bc, size, b0 > 0 ? 1 : 0], bc * size);
    });
  } finally {
    if (partial !== null) ctx.freeScratch(partial);
  }
}

export function maxPool2d(ctx: WasmContext, out: View, indices: View, x: View, p: Pool2dParams): void {
  const [batch, channels, h, w] = x.shape as [number, number, number, number];
  const [ho, wo] = [out.shape[2]!, out.shape[3]!];
  const planes = batch * channels;
  const args = [
    ctx.addr(out),
    ctx.addr(indices),
    ctx.addr(x),
    h,
    w,
    p.kernelH,
    p.kernelW,
    p.strideH,
    p.strideW,
    p.padH,
    p.padW,
    ho,
    wo,
    planes,
  ];
  ctx.run('maxPool2d', args, planes * ho * wo * p.kernelH * p.kernelW);
}
