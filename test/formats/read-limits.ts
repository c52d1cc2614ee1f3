import { setReadLimits, type ReadLimits } from '../../src/formats/limits.js';

/**
 * Runs `run` under lowered (or raised) read limits, putting the previous ones back afterwards: once
 * it returns, or, when it returns a promise, once that settles.
 */
export function withReadLimits<T>(limits: Partial<ReadLimits>, run: () => T): T {
  const previous = setReadLimits(limits);
  let result: T;
  try {
    result = run();
  } catch (error) {
    setReadLimits(previous);
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => setReadLimits(previous)) as T;
  setReadLimits(previous);
  return result;
}
