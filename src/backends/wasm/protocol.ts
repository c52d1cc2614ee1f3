/**
 * The control block that the calling thread and the workers share (a SharedArrayBuffer): which
 * kernel to run with which arguments, and counters synchronised with Atomics.
 */
export const GENERATION = 0;
export const REMAINING = 1;
export const FUNCTION = 2;
export const THREADS = 3;
export const ARG_COUNT = 4;
export const FAILED = 5;
export const READY = 6;
export const STOP = 7;
export const ARGS_OFFSET_BYTES = 64;
export const MAX_ARGS = 24;
export const CONTROL_BYTES = ARGS_OFFSET_BYTES + MAX_ARGS * 8;
/** The longest a thread sleeps in Atomics.wait before it looks at the control block again. */
export const WAIT_BOUND_MS = 1000;
/**
 * How often a thread looks at the control block before it sleeps: generation dispatches a kernel
 * every few to tens of microseconds, and waking a sleeping thread costs 30-50 us, more than the
 * kernel. About 50 us of looking on this machine's cores.
 */
export const SPIN_CHECKS = 20000;

/** Whether control[slot] still holds `value` after looking up to SPIN_CHECKS times. */
export function spinWhileEqual(control: Int32Array, slot: number, value: number): boolean {
  for (let i = 0; i < SPIN_CHECKS; i++) if (Atomics.load(control, slot) !== value) return false;
  return true;
}

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** This worker's thread index (the calling thread is 0). */
  index: number;
  /** Export names, indexed by the FUNCTION slot. */
  names: string[];
}

type Kernel = (...args: number[]) => void;

/** A worker's life: instantiate the module on the shared memory, then run kernels until told to stop. */
export function workerLoop(init: WorkerInit): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const kernels = init.names.map((n) => instance.exports[n] as Kernel);
  const control = new Int32Array(init.control);
  const args = new Float64Array(init.control, ARGS_OFFSET_BYTES, MAX_ARGS);
  Atomics.add(control, READY, 1);
  Atomics.notify(control, READY);
  let seen = 0;
  for (;;) {
    // Bounded waits, re-checked: runs that stopped for good on a wake-up that never came have been
    // seen twice (in long, oversubscribed runs); with a bound such a miss costs a second, not the run.
    if (spinWhileEqual(control, GENERATION, seen))
      while (Atomics.load(control, GENERATION) === seen) Atomics.wait(control, GENERATION, seen, WAIT_BOUND_MS);
    seen = Atomics.load(control, GENERATION);
    if (Atomics.load(control, STOP)) return;
    const threads = Atomics.load(control, THREADS);
    if (init.index >= threads) continue;
    try {
      const list = Array.from(args.subarray(0, Atomics.load(control, ARG_COUNT)));
      kernels[Atomics.load(control, FUNCTION)]!(...list, init.index, threads);
    } catch {
      Atomics.store(control, FAILED, 1);
    }
    if (Atomics.sub(control, REMAINING, 1) === 1) Atomics.notify(control, REMAINING);
  }
}
