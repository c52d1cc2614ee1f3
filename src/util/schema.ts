import { MambaError } from './errors.js';

/**
 * One small validator for every config the project reads (model configs, trainer state,
 * tokenizer ids): typed readers with ranges, whose errors name the file, the key path and what
 * the value must be, e.g. `config.json: depth must be an integer in [1, 1024], got 1000000`.
 * Sizes are bounded so that a hostile file is refused before any work it asks for is done.
 */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A closed range [min, max], or (min, max] with `above`: a number strictly greater than min. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly above?: boolean;
}

export const range = (min: number, max: number): Range => ({ min, max });
/** (min, max]: for epsilons, scales and rates that must stay above min. */
export const above = (min: number, max: number): Range => ({ min, max, above: true });

const showRange = (r: Range): string => `${r.above ? '(' : '['}${r.min}, ${r.max}]`;
const inRange = (v: number, r: Range): boolean => (r.above ? v > r.min : v >= r.min) && v <= r.max;

/** A value as the error shows it: JSON, cut short (a hostile value may be huge). */
function show(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What an integer or a number in a range is called in messages. */
const integerIn = (r: Range) => `an integer in ${showRange(r)}`;
const numberIn = (r: Range) => `a number in ${showRange(r)}`;

const isInt = (v: unknown, r: Range): v is number => typeof v === 'number' && Number.isSafeInteger(v) && inRange(v, r);
const isNumber = (v: unknown, r: Range): v is number => typeof v === 'number' && Number.isFinite(v) && inRange(v, r);

/**
 * The keys of one JSON object, read with a type and a range each. A reader without a fallback
 * requires the key; with one, an absent key (or null, as Python writes None) takes it.
 */
export class Fields {
  private constructor(
    readonly json: JsonObject,
    /** The file, for messages. */
    readonly source: string,
    /** The key path of this object inside the file ('' at the top, 'ssm_cfg.' inside). */
    readonly path: string,
  ) {}

  /** The top-level object of a file; `what` says what it should be (a model config, a trainer state, ...). */
  static of(value: unknown, source: string, what = 'the file'): Fields {
    if (!isJsonObject(value)) throw new MambaError(`${source}: ${what} must be a JSON object, got ${show(value)}`);
    return new Fields(value, source, '');
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined && this.raw(key) !== null;
  }

  /** The key's value as stored, unchecked (for keys another reader interprets); own keys only, never Object's. */
  raw(key: string): unknown {
    return Object.hasOwn(this.json, key) ? this.json[key] : undefined;
  }

  /** Throws the error for `key`: `source: path.key must be <wanted>, got <value>`. */
  fail(key: string, wanted: string, value: unknown = this.raw(key)): never {
    throw new MambaError(`${this.source}: ${this.path}${key} must be ${wanted}, got ${show(value)}`);
  }

  private value<T>(key: string, fallback: T | undefined, ok: (v: unknown) => v is T, wanted: string): T {
    const v = this.has(key) ? this.raw(key) : fallback;
    if (!ok(v)) this.fail(key, wanted);
    return v;
  }

  int(key: string, r: Range, fallback?: number): number {
    return this.value(key, fallback, (v): v is number => isInt(v, r), integerIn(r));
  }

  number(key: string, r: Range, fallback?: number): number {
    return this.value(key, fallback, (v): v is number => isNumber(v, r), numberIn(r));
  }

  bool(key: string, fallback?: boolean): boolean {
    return this.value(key, fallback, (v): v is boolean => typeof v === 'boolean', 'true or false');
  }

  string(key: string, fallback?: string): string {
    return this.value(key, fallback, (v): v is string => typeof v === 'string', 'a string');
  }

  choice<T extends string>(key: string, options: readonly T[], fallback?: T): T {
    const ok = (v: unknown): v is T => (options as readonly unknown[]).includes(v);
    return this.value(key, fallback, ok, `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
  }

  /** A list of `length` entries (a range of lengths) that each pass `ok`. */
  private list<T>(key: string, length: Range, ok: (v: unknown) => v is T, each: string, fallback?: T[]): T[] {
    const count = length.min === length.max ? `${length.min}` : `${showRange(length)}`;
    const wanted = `a list of ${count} ${each}`;
    return this.value(
      key,
      fallback,
      (v): v is T[] => Array.isArray(v) && inRange(v.length, length) && v.every(ok),
      wanted,
    );
  }

  ints(key: string, length: Range, r: Range, fallback?: number[]): number[] {
    return this.list(key, length, (v): v is number => isInt(v, r), `integers in ${showRange(r)}`, fallback);
  }

  numbers(key: string, length: Range, r: Range, fallback?: number[]): number[] {
    return this.list(key, length, (v): v is number => isNumber(v, r), `numbers in ${showRange(r)}`, fallback);
  }

  strings(key: string, length: Range, fallback?: string[]): string[] {
    return this.list(key, length, (v): v is string => typeof v === 'string', 'strings', fallback);
  }

  /** A list of `length` entries, each one of `options` (a layer pattern). */
  choices<T extends string>(key: string, length: Range, options: readonly T[]): T[] {
    const ok = (v: unknown): v is T => (options as readonly unknown[]).includes(v);
    return this.list(key, length, ok, `names (${options.join(', ')})`);
  }

  /** `read(key)` where the key is set, else undefined (so that the config's own defaults apply). */
  optional<T>(key: string, read: (key: string) => T): T | undefined {
    return this.has(key) ? read(key) : undefined;
  }

  /** The object under `key` (`{}` when absent and `optional`), read with the same file and a longer path. */
  object(key: string, optional = false): Fields {
    const v = this.has(key) ? this.raw(key) : optional ? {} : undefined;
    if (!isJsonObject(v)) this.fail(key, 'an object');
    return new Fields(v, this.source, `${this.path}${key}.`);
  }

  /** The objects listed under `key` (`[]` when absent and `optional`), each read with the path `key[i].`. */
  objects(key: string, length: Range, optional = false): Fields[] {
    const list = this.has(key) ? this.raw(key) : optional ? [] : undefined;
    if (!Array.isArray(list) || !inRange(list.length, length)) this.fail(key, `a list of ${showRange(length)} objects`);
    return list.map((item, i) => {
      if (!isJsonObject(item)) this.fail(`${key}[${i}]`, 'an object', item);
      return new Fields(item, this.source, `${this.path}${key}[${i}].`);
    });
  }

  /** The relation low <= high between two values read from this object. */
  ordered(lowKey: string, low: number, highKey: string, high: number): void {
    if (!(low <= high))
      throw new MambaError(
        `${this.source}: ${this.path}${lowKey} (${low}) must be <= ${this.path}${highKey} (${high}); fix one of them`,
      );
  }
}
