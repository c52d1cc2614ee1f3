import { MambaError } from '../../util/errors.js';
import {
  ARG_COUNT,
  ARGS_OFFSET_BYTES,
  CONTROL_BYTES,
  FAILED,
  FUNCTION,
  GENERATION,
  MAX_ARGS,
  READY,
  REMAINING,
  STOP,
  THREADS,
  spinWhileEqual,
  WAIT_BOUND_MS,
  type WorkerInit,
} from './protocol.js';

type Kernel = (...args: number[]) => void;

export interface WorkerHandle {
  terminate(): unknown;
}

/** Starts a worker that runs workerLoop(init) (worker_threads in Node, a Web Worker in a page). */
export type SpawnWorker = (init: WorkerInit) => WorkerHandle;

const READY_TIMEOUT_MS = 60_000;

/**
 * Runs kernels on `threads` threads: the calling thread takes share 0 and the workers the rest,
 * all on one shared WebAssembly.Memory. A dispatch costs one Atomics round trip, so small
 * kernels run on the calling thread alone.
 */
export class ThreadPool {
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: WorkerHandle[] = [];
  private ready: boolean;

  constructor(
    readonly threads: number,
    private readonly kernels: Kernel[],
    init: Omit<WorkerInit, 'index' | 'control'>,
    spawn: SpawnWorker | null,
    /** Whether this thread may block in Atomics.wait (not a browser's main thread). */
    readonly canBlock: boolean,
  ) {
    // Only workers need a shared control block; one thread must also work on pages that are not
    // cross-origin isolated, where SharedArrayBuffer does not exist.
    const control = threads > 1 ? new SharedArrayBuffer(CONTROL_BYTES) : new ArrayBuffer(CONTROL_BYTES);
    this.control = new Int32Array(control);
    this.args = new Float64Array(control, ARGS_OFFSET_BYTES, MAX_ARGS);
    this.ready = threads === 1;
    if (threads > 1) {
      if (!spawn) throw new Error('internal error: a thread pool of several threads needs a way to spawn workers');
      for (let index = 1; index < threads; index++)
        this.workers.push(spawn({ ...init, control: control as SharedArrayBuffer, index }));
    }
  }

  /** Runs kernel `fn` with `args` (then thread index and count), on every thread when `parallel`. */
  run(fn: number, args: readonly number[], parallel: boolean): void {
    if (!parallel || this.threads === 1) {
      this.kernels[fn]!(...args, 0, 1);
      return;
    }
    this.awaitWorkers();
    const c = this.control;
    this.args.set(args);
    c[FUNCTION] = fn;
    c[ARG_COUNT] = args.length;
    c[THREADS] = this.threads;
    c[FAILED] = 0;
    Atomics.store(c, REMAINING, this.threads - 1);
    Atomics.add(c, GENERATION, 1);
    Atomics.notify(c, GENERATION);
    try {
      this.kernels[fn]!(...args, 0, this.threads);
    } finally {
      this.waitWhileNonZero(REMAINING);
    }
    if (Atomics.load(c, FAILED)) throw new MambaError('a wasm kernel failed on a worker thread');
  }

  private awaitWorkers(): void {
    if (this.ready) return;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Atomics.load(this.control, READY) < this.threads - 1) {
      if (Date.now() > deadline) {
        throw new MambaError(
          `the wasm worker threads did not start within ${READY_TIMEOUT_MS / 1000} s; run with one thread (threads: 1)`,
        );
      }
      const seen = Atomics.load(this.control, READY);
      if (this.canBlock) Atomics.wait(this.control, READY, seen, 100);
    }
    this.ready = true;
  }

  private waitWhileNonZero(slot: number): void {
    for (;;) {
      const v = Atomics.load(this.control, slot);
      if (v === 0) return;
      // The workers are usually microseconds from done: look for a while before sleeping.
      if (!spinWhileEqual(this.control, slot, v)) continue;
      if (this.canBlock) Atomics.wait(this.control, slot, v, WAIT_BOUND_MS);
    }
  }

  dispose(): void {
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
