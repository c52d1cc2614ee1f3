import { statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MambaError } from '../util/errors.js';
import { didYouMean } from './suggest.js';

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

/** parseArgs in strict mode, with its errors turned into UsageErrors that show the usage (and the flag meant). */
export function parse<C extends Config>(
  argv: string[],
  config: C,
  usage: string,
): ReturnType<typeof parseArgs<C & { strict: true }>> {
  try {
    return parseArgs({ ...config, args: argv, strict: true }) as ReturnType<typeof parseArgs<C & { strict: true }>>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const unknown = unknownOption(argv, config);
      if (unknown !== undefined) throw new UsageError(unknownOptionMessage(unknown, config), usage);
    }
    throw new UsageError((error as Error).message, usage);
  }
}

/** The first option in argv that the config does not declare, as typed (`--temprature`, `-x`). */
function unknownOption(argv: string[], config: Config): string | undefined {
  const { tokens } = parseArgs({ ...config, args: argv, strict: false, tokens: true });
  const known = new Set([
    ...Object.keys(config.options ?? {}),
    ...Object.values(config.options ?? {}).flatMap((o) => (o.short ? [o.short] : [])),
  ]);
  for (const token of tokens) if (token.kind === 'option' && !known.has(token.name)) return token.rawName;
  return undefined;
}

function unknownOptionMessage(raw: string, config: Config): string {
  const name = raw.replace(/^-+/, '');
  return `unknown option '${raw}'${didYouMean(name, Object.keys(config.options ?? {}), (o) => `--${o}`)}`;
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

/** A flag that takes one of a few words, or its default; a mistyped word gets the one meant. */
export function choiceFlag<T extends string>(
  value: string | undefined,
  name: string,
  choices: readonly T[],
  usage: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `--${name} must be ${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices.at(-1)}, got '${value}'${didYouMean(value, choices)}`,
    usage,
  );
}

/** A path a flag names that must exist (a file or a folder as `kind` says); otherwise a UsageError naming the flag. */
export function existingPath(
  path: string,
  flag: string,
  usage: string,
  kind: 'file' | 'folder' | 'any' = 'any',
): string {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`${flag} ${path}: no such ${kind === 'any' ? 'file or folder' : kind}`, usage);
  if (kind === 'file' && !stat.isFile()) throw new UsageError(`${flag} ${path}: is a folder, not a file`, usage);
  if (kind === 'folder' && !stat.isDirectory()) throw new UsageError(`${flag} ${path}: is a file, not a folder`, usage);
  return path;
}

/**
 * Runs a library check of flag values (which throws a MambaError naming the problem) and turns its
 * error into a UsageError, so that the CLI's rules stay the library's.
 */
export function checkAsUsage(usage: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof MambaError && !(error instanceof UsageError)) throw new UsageError(error.message, usage);
    throw error;
  }
}
