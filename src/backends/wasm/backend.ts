import type {
  ArgReduceOp,
  BinaryOp,
  Conv2dParams,
  Pool2dParams,
  ReduceOp,
  ScanGrads,
  ScanInputs,
  StorageHandle,
  PartialBackend,
  UnaryOp,
  UnaryParams,
  View,
} from '../backend.js';
import { withFallback, type ComposedBackend } from '../fallback.js';
import { ReferenceBackend } from '../reference/index.js';
import type { DType, TypedArray } from '../dtype.js';
import { MambaError } from '../../util/errors.js';
import { checkThreadCount } from '../threads.js';
import { WasmContext, type WasmHandle } from './context.js';
import { WasmHeap } from './heap.js';
import * as conv from './kernels/conv.js';
import * as elementwise from './kernels/elementwise.js';
import * as fused from './kernels/fused.js';
import * as indexing from './kernels/indexing.js';
import * as linear from './kernels/matmul.js';
import * as norm from './kernels/norm.js';
import * as reduction from './kernels/reduce.js';
import * as scan from './kernels/scan.js';
import * as softmaxes from './kernels/softmax.js';
import * as step from './kernels/step.js';
import { ThreadPool, type SpawnWorker } from './pool.js';

/** What the host platform provides: worker threads, whether this thread may block, its cores. */
export interface WasmPlatform {
  spawn: SpawnWorker | null;
  canBlock: boolean;
  defaultThreads: number;
  /** Cores of the machine, which bound the threads (MAX_THREADS_PER_CORE each). */
  cores: number;
}

export interface WasmBackendOptions {
  /** Threads for kernels, the calling thread included; defaults to every core; at most 4 per core. */
  threads?: number;
  /**
   * Work (elements for elementwise kernels) from which a kernel runs on every thread. A dispatch
   * costs an Atomics round trip (~20 us), so small kernels run on the calling thread alone.
   */
  parallelThreshold?: number;
}

type Kernel = (...args: number[]) => void;

/** The wasm backend as the factories return it: complete, with the reference kernels for the ones it lacks. */
export type ComposedWasmBackend = ComposedBackend<WasmBackend>;

/**
 * The fast CPU backend: AssemblyScript kernels compiled to WebAssembly SIMD, run on a pool of
 * threads sharing one memory. The wrappers in kernels/ choose the wasm path or, for a call the
 * wasm kernel does not take, run the reference kernel on the same memory. Kernels with no wasm
 * version at all are absent here: createWasmBackend takes them from the reference backend.
 */
export class WasmBackend implements PartialBackend {
  readonly name = 'wasm';
  readonly dtypes: readonly DType[] = ['float32', 'int32'];
  readonly relaxedSimd: boolean;
  private readonly ctx: WasmContext;

  constructor(
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    relaxedSimd: boolean,
    platform: WasmPlatform,
    options: WasmBackendOptions = {},
  ) {
    this.relaxedSimd = relaxedSimd;
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const names = WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    const kernels = names.map((n) => instance.exports[n] as Kernel);
    const threads = checkThreadCount(options.threads ?? platform.defaultThreads, 'threads', platform.cores);
    if (threads > 1 && !platform.spawn)
      throw new MambaError('this platform cannot start worker threads; use threads: 1');
    const pool = new ThreadPool(threads, kernels, { module, memory, names }, platform.spawn, platform.canBlock);
    const heap = new WasmHeap(memory, (instance.exports['heapBase'] as () => number)());
    this.ctx = new WasmContext(
      memory,
      heap,
      pool,
      Object.fromEntries(names.map((n, i) => [n, i])),
      options.parallelThreshold ?? 1 << 15,
    );
  }

  get threads(): number {
    return this.ctx.threads;
  }

  alloc(dtype: DType, length: number): StorageHandle {
    if (!this.dtypes.includes(dtype))
      throw new MambaError(`the wasm backend has no ${dtype} tensors; use float32 or int32`);
    const bytes = length * 4;
    return { ptr: this.ctx.heap.alloc(bytes), bytes } satisfies WasmHandle;
  }

  free(handle: StorageHandle): void {
    this.ctx.heap.release((handle as WasmHandle).ptr);
  }

  bytesInUse(): number {
    return this.ctx.heap.bytesInUse;
  }

  write(handle: StorageHandle, dtype: DType, offset: number, data: ArrayLike<number>): void {
    this.ctx.array(dtype).set(data, (handle as WasmHandle).ptr / 4 + offset);
  }

  read(handle: StorageHandle, dtype: DType, offset: number, length: number): TypedArray {
    const start = (handle as WasmHandle).ptr / 4 + offset;
    return this.ctx.array(dtype).slice(start, start + length);
  }

  readAsync(handle: StorageHandle, dtype: DType, offset: number, length: number): Promise<TypedArray> {
    return Promise.resolve(this.read(handle, dtype, offset, length));
  }

  /** Composes this backend with the reference kernels, run on this memory, for the kernels it lacks. */
  withReferenceFallback(): ComposedWasmBackend {
    return withFallback(this, new ReferenceBackend(), this.ctx.reference);
  }

  /** Stops the worker threads; the backend cannot run kernels afterwards. */
  dispose(): void {
    this.ctx.pool.dispose();
  }

  copy(out: View, x: View): void {
    elementwise.copy(this.ctx, out, x);
  }
  fill(out: View, value: number): void {
    elementwise.fill(this.ctx, out, value);
  }
  unary(op: UnaryOp, out: View, x: View, params: UnaryParams): void {
    elementwise.unary(this.ctx, op, out, x, params);
  }
  unaryGrad(op: UnaryOp, out: View, x: View, g: View, params: UnaryParams): void {
    elementwise.unaryGrad(this.ctx, op, out, x, g, params);
  }
  binary(op: BinaryOp, out: View, a: View, b: View): void {
    elementwise.binary(this.ctx, op, out, a, b);
  }
  where(out: View, cond: View, a: View, b: View): void {
    elementwise.where(this.ctx, out, cond, a, b);
  }
  reduce(op: ReduceOp, out: View, x: View, axes: readonly number[]): void {
    reduction.reduce(this.ctx, op, out, x, axes);
  }
  argReduce(op: ArgReduceOp, out: View, x: View, axis: number): void {
    reduction.argReduce(this.ctx, op, out, x, axis);
  }
  matmul(out: View, a: View, b: View): void {
    linear.matmul(this.ctx, out, a, b);
  }
  indexSelect(out: View, x: View, axis: number, index: View): void {
    indexing.indexSelect(this.ctx, out, x, axis, index);
  }
  indexAdd(out: View, axis: number, index: View, src: View): void {
    indexing.indexAdd(this.ctx, out, axis, index, src);
  }
  gather(out: View, x: View, axis: number, index: View): void {
    indexing.gather(this.ctx, out, x, axis, index);
  }
  scatterAdd(out: View, axis: number, index: View, src: View): void {
    indexing.scatterAdd(this.ctx, out, axis, index, src);
  }
  softmax(out: View, x: View, log: boolean): void {
    softmaxes.softmax(this.ctx, out, x, log);
  }
  crossEntropy(loss: View, logSumExp: View, logits: View, targets: View, ignoreIndex: number): void {
    softmaxes.crossEntropy(this.ctx, loss, logSumExp, logits, targets, ignoreIndex);
  }
  crossEntropyGrad(
    dlogits: View,
    logits: View,
    logSumExp: View,
    targets: View,
    gLoss: View,
    ignoreIndex: number,
  ): void {
    softmaxes.crossEntropyGrad(this.ctx, dlogits, logits, logSumExp, targets, gLoss, ignoreIndex);
  }
  layerNorm(out: View, mean: View, rstd: View, x: View, weight: View | null, bias: View | null, eps: number): void {
    norm.layerNorm(this.ctx, out, mean, rstd, x, weight, bias, eps);
  }
  layerNormGrad(
    dx: View,
    dweight: View | null,
    dbias: View | null,
    g: View,
    x: View,
    mean: View,
    rstd: View,
    weight: View | null,
  ): void {
    norm.layerNormGrad(this.ctx, dx, dweight, dbias, g, x, mean, rstd, weight);
  }
  rmsNorm(out: View, rstd: View, x: View, weight: View | null, eps: number): void {
    norm.rmsNorm(this.ctx, out, rstd, x, weight, eps);
  }
  rmsNormGrad(dx: View, dweight: View | null, g: View, x: View, rstd: View, weight: View | null): void {
    norm.rmsNormGrad(this.ctx, dx, dweight, g, x, rstd, weight);
  }
  addRmsNorm(out: View, sum: View, rstd: View, x: View, residual: View, weight: View | null, eps: number): void {
    fused.addRmsNorm(this.ctx, out, sum, rstd, x, residual, weight, eps);
  }
  siluMul(out: View, y: View, z: View): void {
    fused.siluMul(this.ctx, out, y, z);
  }
  siluMulGrad(dy: View, dz: View, g: View, y: View, z: View): void {
    fused.siluMulGrad(this.ctx, dy, dz, g, y, z);
  }
  causalConv1d(out: View, x: View, weight: View, bias: View | null): void {
    conv.causalConv1d(this.ctx, out, x, weight, bias);
  }
  causalConv1dGrad(dx: View, dweight: View, dbias: View | null, g: View, x: View, weight: View): void {
    conv.causalConv1dGrad(this.ctx, dx, dweight, dbias, g, x, weight);
  }
  conv2d(out: View, x: View, weight: View, bias: View | null, p: Conv2dParams): void {
    conv.conv2d(this.ctx, out, x, weight, bias, p);
  }
  conv2dGradInput(dx: View, g: View, weight: View, p: Conv2dParams): void {
    conv.conv2dGradInput(this.ctx, dx, g, weight, p);
  }
  conv2dGradWeight(dweight: View, x: View, g: View, p: Conv2dParams): void {
    conv.conv2dGradWeight(this.ctx, dweight, x, g, p);
  }
  maxPool2d(out: View, indices: View, x: View, p: Pool2dParams): void {
    conv.maxPool2d(this.ctx, out, indices, x, p);
  }
  selectiveScan(
    y: View,
    lastState: View,
    chunkStates: View | null,
    inputs: ScanInputs,
    softplus: boolean,
    chunk: number,
  ): void {
    scan.selectiveScan(this.ctx, y, lastState, chunkStates, inputs, softplus, chunk);
  }
  selectiveScanGrad(
    grads: ScanGrads,
    gy: View,
    gLast: View | null,
    inputs: ScanInputs,
    chunkStates: View,
    softplus: boolean,
    chunk: number,
  ): void {
    scan.selectiveScanGrad(this.ctx, grads, gy, gLast, inputs, chunkStates, softplus, chunk);
  }
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
  ): void {
    step.mambaStep(
      this.ctx,
      y,
      convState,
      ssmState,
      x,
      z,
      convWeight,
      convBias,
      xProjWeight,
      dtProjWeight,
      dtBias,
      ALog,
      D,
    );
  }
}
