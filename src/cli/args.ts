import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MambaError } from '../util/errors.js';

/** Bad command-line use: the CLI prints the message and the command's usage, then exits 2. */
export class UsageError extends MambaError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Config = Omit<ParseArgsConfig, 'args' | 'strict'>;

/** parseArgs in strict mode, with its errors turned into UsageErrors that show the usage. */
export function parse<C extends Config>(
  argv: string[],
  config: C,
  usage: string,
): ReturnType<typeof parseArgs<C & { strict: true }>> {
  try {
    return parseArgs({ ...config, args: argv, strict: true }) as ReturnType<typeof parseArgs<C & { strict: true }>>;
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/** A numeric flag, or its default; rejects text that is not a number in range. */
export function numberFlag(
  value: string | undefined,
  name: string,
  usage: string,
  fallback: number,
  { integer = false, min = -Infinity } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new UsageError(
      `--${name} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got '${value}'`,
      usage,
    );
  }
  return n;
}
