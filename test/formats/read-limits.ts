import { setReadLimits, type ReadLimits } from '../../src/formats/limits.js';

/** Runs `run` under lowered (or raised) read limits, putting the previous ones back afterwards. */
export function withReadLimits<T>(limits: Partial<ReadLimits>, run: () => T): T {
  const previous = setReadLimits(limits);
  try {
    return run();
  } finally {
    setReadLimits(previous);
  }
}
