import type { Backend, KernelName } from './backend.js';
import { forEachKernelView, KERNEL_NAMES, type KernelArgs } from './kernel-signatures.js';
import { sizeOf } from './strides.js';

/** The kind of work a kernel does, for a profile's per-family totals. */
export type KernelFamily =
  'elementwise' | 'reduce' | 'matmul' | 'indexing' | 'softmax/loss' | 'norm' | 'fused' | 'conv' | 'scan';

/** The family of every kernel; the compiler holds it to exactly one entry per kernel. */
export const KERNEL_FAMILIES = {
  copy: 'elementwise',
  fill: 'elementwise',
  unary: 'elementwise',
  unaryGrad: 'elementwise',
  binary: 'elementwise',
  where: 'elementwise',
  reduce: 'reduce',
  argReduce: 'reduce',
  topk: 'reduce',
  matmul: 'matmul',
  indexSelect: 'indexing',
  indexAdd: 'indexing',
  gather: 'indexing',
  scatterAdd: 'indexing',
  softmax: 'softmax/loss',
  crossEntropy: 'softmax/loss',
  crossEntropyGrad: 'softmax/loss',
  layerNorm: 'norm',
  layerNormGrad: 'norm',
  rmsNorm: 'norm',
  rmsNormGrad: 'norm',
  addRmsNorm: 'fused',
  siluMul: 'fused',
  siluMulGrad: 'fused',
  causalConv1d: 'conv',
  causalConv1dGrad: 'conv',
  conv2d: 'conv',
  conv2dGradInput: 'conv',
  conv2dGradWeight: 'conv',
  maxPool2d: 'conv',
  selectiveScan: 'scan',
  selectiveScanGrad: 'scan',
  mambaStep: 'scan',
} as const satisfies { readonly [K in KernelName]: KernelFamily };

/** Calls of one kernel (or one family) and the time they took. */
export interface KernelTally {
  calls: number;
  /** Milliseconds inside the calls, the backend's own argument handling included. */
  ms: number;
  /** Elements of every view the calls wrote (their outputs and gradients). */
  elementsWritten: number;
}

/** One kernel's row of a KernelTimes report. */
export interface KernelStat extends KernelTally {
  kernel: KernelName;
  family: KernelFamily;
  /** The kernel runs on a composed backend's fallback (e.g. a reference kernel under wasm). */
  fallback: boolean;
}

/** One family's row of a KernelTimes report: the sum of its kernels' rows. */
export interface FamilyStat extends KernelTally {
  family: KernelFamily;
}

/** What a KernelTimer has counted since it was made or reset; rows with calls only, slowest first. */
export interface KernelTimes extends KernelTally {
  kernels: KernelStat[];
  families: FamilyStat[];
}

/** What timeKernels returns: the timed backend and what it has counted. */
export interface KernelTimer<B extends Backend> {
  /** The timed backend: use it wherever the original was used (setBackend, tensor options). */
  readonly backend: B;
  /** Milliseconds inside kernels so far: cheap, for timing a stretch of work by difference. */
  kernelMs(): number;
  report(): KernelTimes;
  /** Forgets everything counted so far (e.g. after a warm-up). */
  reset(): void;
}

function emptyTally(): KernelTally {
  return { calls: 0, ms: 0, elementsWritten: 0 };
}

function elementsWritten<K extends KernelName>(name: K, args: KernelArgs<K>): number {
  let elements = 0;
  forEachKernelView(name, args, (view, access) => {
    if (access !== 'read') elements += sizeOf(view.shape);
  });
  return elements;
}

function bySlowest<T extends KernelTally>(rows: T[]): T[] {
  return rows.filter((row) => row.calls > 0).sort((a, b) => b.ms - a.ms);
}

/**
 * Wraps a backend so that every kernel call is timed (clock() before and after the synchronous
 * call; performance.now by default) and counted, per kernel and per family (KERNEL_FAMILIES).
 * Everything else (memory, name, extra members such as dispose) is the backend's own, called on
 * it, so a kernel that calls another kernel of its backend is counted once. Tensors made on the
 * timed backend are that backend's: make the model after `setBackend(timer.backend)`. The wasm
 * backend's kernels block until every thread is done, so their time is the parallel run's.
 */
export function timeKernels<B extends Backend>(
  backend: B,
  clock: () => number = () => performance.now(),
): KernelTimer<B> {
  const tallies = new Map<KernelName, KernelTally>(KERNEL_NAMES.map((name) => [name, emptyTally()]));
  let total = 0;
  const wrappers = new Map<PropertyKey, unknown>();
  for (const name of KERNEL_NAMES) {
    const kernel = backend[name] as (...args: KernelArgs<typeof name>) => void;
    const tally = tallies.get(name)!;
    wrappers.set(name, (...args: KernelArgs<typeof name>) => {
      const start = clock();
      try {
        kernel.apply(backend, args);
      } finally {
        const ms = clock() - start;
        tally.ms += ms;
        total += ms;
        tally.calls++;
      }
      tally.elementsWritten += elementsWritten(name, args);
    });
  }
  const bound = new Map<PropertyKey, unknown>();
  const timed = new Proxy(backend, {
    get(target, key) {
      if (wrappers.has(key)) return wrappers.get(key);
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(key);
      if (method === undefined) {
        method = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(key, method);
      }
      return method;
    },
  });
  const fallbacks: readonly KernelName[] =
    (backend as Partial<{ fallbackKernels: readonly KernelName[] }>).fallbackKernels ?? [];
  return {
    backend: timed,
    kernelMs: () => total,
    report() {
      const kernels = KERNEL_NAMES.map((kernel) => ({
        kernel,
        family: KERNEL_FAMILIES[kernel],
        fallback: fallbacks.includes(kernel),
        ...tallies.get(kernel)!,
      }));
      const families = new Map<KernelFamily, FamilyStat>();
      const sum = emptyTally();
      for (const row of kernels) {
        let family = families.get(row.family);
        if (!family) families.set(row.family, (family = { family: row.family, ...emptyTally() }));
        for (const tally of [family, sum]) {
          tally.calls += row.calls;
          tally.ms += row.ms;
          tally.elementsWritten += row.elementsWritten;
        }
      }
      return { ...sum, kernels: bySlowest(kernels), families: bySlowest([...families.values()]) };
    },
    reset() {
      // In place: each kernel's wrapper holds its tally.
      for (const tally of tallies.values()) Object.assign(tally, emptyTally());
      total = 0;
    },
  };
}
