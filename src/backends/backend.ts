import type { DType, TypedArray } from './dtype.js';

/** Opaque per-backend storage (a typed array, an offset into wasm memory, a GPU buffer). */
export type StorageHandle = unknown;

/**
 * A strided window onto a storage: what a kernel reads or writes. Offsets and strides count
 * elements. Strides may be 0 (broadcast) or negative (flip).
 */
export interface View {
  readonly handle: StorageHandle;
  readonly dtype: DType;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'relu'
  | 'leakyRelu'
  | 'gelu'
  | 'geluTanh'
  | 'silu'
  | 'sigmoid'
  | 'tanh'
  | 'softplus'
  | 'clamp'
  | 'pow'
  | 'affine';

/** Scalars that parameterise a unary op; each op reads only its own. */
export interface UnaryParams {
  /** leakyRelu: slope for x < 0. */
  slope?: number;
  /** pow: the constant exponent. */
  exponent?: number;
  /** clamp: bounds (either may be absent). */
  min?: number;
  max?: number;
  /** affine: y = x * scale + shift. */
  scale?: number;
  shift?: number;
  /** softplus: y = log1p(exp(beta x)) / beta, or x where beta x > threshold. */
  beta?: number;
  threshold?: number;
}

export type BinaryOp =
  'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min';
export type ArgReduceOp = 'argmax' | 'argmin';

export interface Conv2dParams {
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

export interface Pool2dParams {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/** The inputs of the selective scan (see Backend.selectiveScan). */
export interface ScanInputs {
  u: View;
  delta: View;
  A: View;
  B: View;
  C: View;
  D: View | null;
  z: View | null;
  deltaBias: View | null;
  h0: View | null;
}

/** The gradients the selective scan's backward pass writes, all contiguous. */
export interface ScanGrads {
  du: View;
  ddelta: View;
  dA: View;
  dB: View;
  dC: View;
  dD: View | null;
  dz: View | null;
  ddeltaBias: View | null;
  dh0: View | null;
}

/**
 * What every backend provides besides kernels: memory. Handles are opaque; offsets and lengths
 * count elements of `dtype`.
 */
export interface BackendCore {
  readonly name: string;
  readonly dtypes: readonly DType[];

  alloc(dtype: DType, length: number): StorageHandle;
  free(handle: StorageHandle): void;
  /** Bytes of storage currently allocated through this backend. */
  bytesInUse(): number;
  write(handle: StorageHandle, dtype: DType, offset: number, data: ArrayLike<number>): void;
  /**
   * A copy of `length` elements. A backend whose memory the CPU cannot read synchronously (a GPU)
   * throws a MambaError here that points to readAsync (`await tensor.data()`).
   */
  read(handle: StorageHandle, dtype: DType, offset: number, length: number): TypedArray;
  /**
   * The same copy, delivered when the memory can be read. The elements are the ones at call time:
   * a kernel or a free issued after the call does not change what it returns.
   */
  readAsync(handle: StorageHandle, dtype: DType, offset: number, length: number): Promise<TypedArray>;
}

/**
 * The kernels of a backend. Unless a kernel says otherwise, `out` views are contiguous and
 * freshly allocated by the caller, and input views are contiguous. Where a kernel accepts strided
 * inputs its comment says so; the op layer relies on that to avoid copies. Every output view a
 * kernel is given it writes in full (indexAdd and scatterAdd add into theirs). The role of each
 * argument is listed once more, machine-readably, in kernel-signatures.ts.
 */
export interface Kernels {
  /** out[i] = x[i] for views of one shape; either side may be strided; converts dtype. */
  copy(out: View, x: View): void;
  /** Every element of a (possibly strided) view set to value. */
  fill(out: View, value: number): void;

  /** Elementwise f(x); x may be strided. */
  unary(op: UnaryOp, out: View, x: View, params: UnaryParams): void;
  /** out = g * f'(x), the chain rule of a unary op. */
  unaryGrad(op: UnaryOp, out: View, x: View, g: View, params: UnaryParams): void;
  /** Elementwise a op b; a and b are strided views already broadcast to out's shape. */
  binary(op: BinaryOp, out: View, a: View, b: View): void;
  /** out = cond != 0 ? a : b; all three strided views broadcast to out's shape. */
  where(out: View, cond: View, a: View, b: View): void;

  /** Reduces x over `axes`; out has x's shape with those axes set to 1. x may be strided. */
  reduce(op: ReduceOp, out: View, x: View, axes: readonly number[]): void;
  /** Index (int32) of the extreme along one axis; out has x's shape with that axis set to 1. */
  argReduce(op: ArgReduceOp, out: View, x: View, axis: number): void;

  /**
   * Batched matrix product. a is [...batch, M, K] and b is [...batch, K, N], both strided
   * (a transposed operand arrives as a view with swapped strides, a broadcast batch with
   * stride 0); out is contiguous [...batch, M, N].
   */
  matmul(out: View, a: View, b: View): void;

  /** out = x.index_select(axis, index); index is int32 1-D. */
  indexSelect(out: View, x: View, axis: number, index: View): void;
  /** out.index_add_(axis, index, src): accumulates into out in place. */
  indexAdd(out: View, axis: number, index: View, src: View): void;
  /** out = x.gather(axis, index) (PyTorch semantics; out has index's shape); x and index may be strided. */
  gather(out: View, x: View, axis: number, index: View): void;
  /** out.scatter_add_(axis, index, src): accumulates into out in place; index and src (of index's shape) may be strided. */
  scatterAdd(out: View, axis: number, index: View, src: View): void;

  /** Softmax (or log-softmax) over the last axis. */
  softmax(out: View, x: View, log: boolean): void;
  /**
   * Per-row cross-entropy of logits [N, C] against int32 targets [N]; rows whose target is
   * ignoreIndex get loss 0. Also writes each row's log-sum-exp for the backward pass.
   */
  crossEntropy(loss: View, logSumExp: View, logits: View, targets: View, ignoreIndex: number): void;
  /** dlogits = (softmax(logits) - onehot(target)) * gLoss[row]; 0 on ignored rows. */
  crossEntropyGrad(dlogits: View, logits: View, logSumExp: View, targets: View, gLoss: View, ignoreIndex: number): void;

  /** Layer norm over the last axis; writes per-row mean and 1/std. weight and bias optional. */
  layerNorm(out: View, mean: View, rstd: View, x: View, weight: View | null, bias: View | null, eps: number): void;
  layerNormGrad(
    dx: View,
    dweight: View | null,
    dbias: View | null,
    g: View,
    x: View,
    mean: View,
    rstd: View,
    weight: View | null,
  ): void;
  /** RMS norm over the last axis; writes per-row 1/rms. */
  rmsNorm(out: View, rstd: View, x: View, weight: View | null, eps: number): void;
  rmsNormGrad(dx: View, dweight: View | null, g: View, x: View, rstd: View, weight: View | null): void;

  /**
   * Fused residual add and RMS norm: sum = x + residual, out = rmsNorm(sum) * weight, with the
   * per-row 1/rms for the backward pass (which reuses rmsNormGrad on sum).
   */
  addRmsNorm(out: View, sum: View, rstd: View, x: View, residual: View, weight: View | null, eps: number): void;
  /** out = y * silu(z), the gate of the Mamba mixer. */
  siluMul(out: View, y: View, z: View): void;
  siluMulGrad(dy: View, dz: View, g: View, y: View, z: View): void;

  /**
   * Depthwise causal conv over time: x [B, L, D] (may be strided), weight [D, K], bias [D];
   * out[b,t,d] = bias[d] + sum_k weight[d,k] * x[b, t-(K-1)+k, d], zero before t = 0.
   */
  causalConv1d(out: View, x: View, weight: View, bias: View | null): void;
  causalConv1dGrad(dx: View, dweight: View, dbias: View | null, g: View, x: View, weight: View): void;

  /** x [B, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout] -> out [B, Cout, Ho, Wo]. */
  conv2d(out: View, x: View, weight: View, bias: View | null, p: Conv2dParams): void;
  /** The adjoint of conv2d in its input (also the forward of a transposed conv): g [B, Cout, Ho, Wo] -> dx [B, Cin, H, W]. */
  conv2dGradInput(dx: View, g: View, weight: View, p: Conv2dParams): void;
  /** The gradient of conv2d in its weight. */
  conv2dGradWeight(dweight: View, x: View, g: View, p: Conv2dParams): void;

  /**
   * The selective scan of Mamba (S6), channels last: for every batch b and channel d,
   *   delta_t = softplus(delta[b,t,d] + deltaBias[d])            (softplus optional)
   *   h_t[n]  = exp(delta_t A[d,n]) h_{t-1}[n] + delta_t B[b,t,n] u[b,t,d]
   *   y[b,t,d] = (sum_n h_t[n] C[b,t,n] + D[d] u[b,t,d]) * silu(z[b,t,d])   (D and z optional)
   * from h_{-1} = h0[b,d,:] (or 0). u, delta, z [B, L, D] and B, C [B, L, N] may be strided
   * (slices of wider rows); A is [D, N]. Writes y [B, L, D], lastState [B, D, N] (which may
   * alias h0) and, when given, the state before each chunk of `chunk` steps in chunkStates
   * [B, ceil(L / chunk), D, N], from which the backward pass recomputes the rest.
   */
  selectiveScan(
    y: View,
    lastState: View,
    chunkStates: View | null,
    inputs: ScanInputs,
    softplus: boolean,
    chunk: number,
  ): void;
  /**
   * Gradients of selectiveScan given gy [B, L, D] and optionally gLast [B, D, N]. ddelta is the
   * gradient of the raw delta (before bias and softplus). Every gradient output given is fully
   * written; the optional ones are null when the input was absent.
   */
  selectiveScanGrad(
    grads: ScanGrads,
    gy: View,
    gLast: View | null,
    inputs: ScanInputs,
    chunkStates: View,
    softplus: boolean,
    chunk: number,
  ): void;

  /**
   * One recurrent step of the Mamba mixer between in_proj and out_proj, one token per sequence
   * (docs/mamba-spec.md §1.3-1.5), for generation. For every batch b and channel d:
   *   xc[d]    = convBias[d] + sum_{k<K-1} convWeight[d,k] convState[b,k,d] + convWeight[d,K-1] x[b,d]
   *   u[d]     = silu(xc[d]);  then convState[b] shifts by one and takes x[b] as its last row
   *   (dt_low, B, C) = xProjWeight u, split R, N, N
   *   delta[d] = softplus(dtProjWeight[d] . dt_low + dtBias[d]);  A[d,n] = -exp(ALog[d,n])
   *   h[n]     = exp(delta[d] A[d,n]) h[n] + delta[d] B[n] u[d]   (ssmState[b,d,n], updated)
   *   y[b,d]   = (sum_n h[n] C[n] + D[d] u[d]) * silu(z[b,d])
   * x and z are [B, dInner] with contiguous rows (slices of in_proj's output); convState
   * [B, K-1, dInner], ssmState [B, dInner, N], convWeight [dInner, K], xProjWeight [R+2N, dInner],
   * dtProjWeight [dInner, R], ALog [dInner, N] and y [B, dInner] are contiguous. No gradient.
   */
  mambaStep(
    y: View,
    convState: View,
    ssmState: View,
    x: View,
    z: View,
    convWeight: View,
    convBias: View | null,
    xProjWeight: View,
    dtProjWeight: View,
    dtBias: View | null,
    ALog: View,
    D: View | null,
  ): void;

  /** Max pooling of x [B, C, H, W]; indices (int32) are flat positions within each H*W plane. */
  maxPool2d(out: View, indices: View, x: View, p: Pool2dParams): void;

  /** The k largest (or smallest) values along the last axis, sorted, with int32 indices. */
  topk(values: View, indices: View, x: View, k: number, largest: boolean): void;
}

/** A backend: memory and every kernel. */
export type Backend = BackendCore & Kernels;

export type KernelName = keyof Kernels;

/** A backend with some of the kernels; withFallback (fallback.ts) completes it. */
export type PartialBackend = BackendCore & Partial<Kernels>;
