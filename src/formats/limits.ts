import { MambaError } from '../util/errors.js';

/**
 * How much work a file may ask of a reader. A few hostile bytes can claim a billion-pixel image, a
 * tensor of 2^40 elements, a gigabyte of zeros behind a small .gz or twenty million pickle opcodes;
 * every reader checks what a file declares against these before it allocates, decompresses or
 * loops, and refuses with a LimitError naming the limit. The defaults let the published Mamba
 * checkpoints (up to mamba-2.8b) and the data sets of the recipes through.
 */
export interface ReadLimits {
  /**
   * Elements of one tensor, image or volume. The default, 2^28, is twice the largest tensor of the
   * published Mamba models (mamba-2.8b's embedding: 50280 x 2560) and holds Falcon-Mamba-7B's.
   */
  maxElements: number;
  /** Bytes one reader may allocate for one file's contents (decoded, decompressed or read). */
  maxBytes: number;
  /** Pixels of one decoded image (width x height). */
  maxImagePixels: number;
  /** Bytes a compressed stream may expand to. */
  maxDecompressedBytes: number;
  /** Opcodes one pickle may run. */
  maxPickleOps: number;
  /** Containers (lists, dicts, tuples) and their items one pickle may build. */
  maxPickleItems: number;
  /** Nesting depth of JSON (configs, headers, indexes, tokenizers). */
  maxJsonDepth: number;
}

export const DEFAULT_LIMITS: Readonly<ReadLimits> = Object.freeze({
  maxElements: 2 ** 28,
  maxBytes: 16 * 2 ** 30,
  maxImagePixels: 2 ** 27,
  maxDecompressedBytes: 4 * 2 ** 30,
  maxPickleOps: 10_000_000,
  maxPickleItems: 2_000_000,
  maxJsonDepth: 64,
});

let current: ReadLimits = { ...DEFAULT_LIMITS };

/** The limits readers use when a call passes none of its own. */
export function readLimits(): Readonly<ReadLimits> {
  return current;
}

/**
 * Changes the limits for every later read in this process (the command line applies
 * MAMBA_TS_LIMITS here); returns the previous ones, so a caller can put them back.
 */
export function setReadLimits(limits: Partial<ReadLimits>): ReadLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in DEFAULT_LIMITS))
      throw new MambaError(`unknown read limit '${name}'; the limits are ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    if (typeof value !== 'number' || !(value > 0))
      throw new MambaError(`the read limit ${name} must be a positive number, got ${String(value)}`);
  }
  const previous = current;
  current = { ...current, ...limits };
  return previous;
}

/** A read refused because a file asks for more than a limit allows. */
export class LimitError extends MambaError {
  constructor(
    readonly limit: keyof ReadLimits,
    readonly asked: number,
    what: string,
  ) {
    super(
      `${what}: ${asked.toLocaleString('en-US')} is over the ${limit} limit of ${current[limit].toLocaleString('en-US')}; ` +
        `if the file is genuine, raise it (setReadLimits({ ${limit}: N }) in code, MAMBA_TS_LIMITS=${limit}=N on the command line)`,
    );
    this.name = 'LimitError';
  }
}

/** Throws a LimitError when `asked` is over the limit (NaN counts as over). */
export function checkLimit(limit: keyof ReadLimits, asked: number, what: string): void {
  if (!(asked <= current[limit])) throw new LimitError(limit, asked, what);
}

/**
 * MAMBA_TS_LIMITS's text, `name=value` pairs separated by commas (`maxImagePixels=4e8,maxJsonDepth=128`),
 * as limits; one clear error for a malformed pair.
 */
export function parseLimits(text: string): Partial<ReadLimits> {
  const limits: Partial<Record<keyof ReadLimits, number>> = {};
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const [name, value, extra] = pair.split('=').map((s) => s.trim());
    if (!name || value === undefined || extra !== undefined || value === '' || !Number.isFinite(Number(value)))
      throw new MambaError(`MAMBA_TS_LIMITS: '${pair}' is not name=number (e.g. maxImagePixels=400000000)`);
    if (!(name in DEFAULT_LIMITS))
      throw new MambaError(
        `MAMBA_TS_LIMITS: unknown limit '${name}'; the limits are ${Object.keys(DEFAULT_LIMITS).join(', ')}`,
      );
    limits[name as keyof ReadLimits] = Number(value);
  }
  return limits;
}
