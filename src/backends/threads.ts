import { MambaError } from '../util/errors.js';

/**
 * The most wasm threads per core: each thread is a worker with an engine of its own (about 9 MB
 * and a start-up cost), and past one per core they only take turns; 256 threads on 2 cores took
 * 31 s and 2.2 GB to generate 5 tokens. A few per core are allowed for measuring exactly that.
 */
export const MAX_THREADS_PER_CORE = 4;

/**
 * Checks a thread count given as `what` (e.g. 'init: threads'): a whole number of at least 1 and,
 * where the cores are known, at most MAX_THREADS_PER_CORE per core.
 */
export function checkThreadCount(threads: number, what: string, cores?: number): number {
  if (!Number.isInteger(threads) || threads < 1)
    throw new MambaError(`${what} must be a whole number of at least 1, got ${String(threads)}`);
  if (cores !== undefined && threads > MAX_THREADS_PER_CORE * cores)
    throw new MambaError(
      `${what} is ${threads}, more than ${MAX_THREADS_PER_CORE} per core of this machine's ${cores} ` +
        `(at most ${MAX_THREADS_PER_CORE * cores}); more threads than cores only cost memory and time: use at most ${cores}`,
    );
  return threads;
}
