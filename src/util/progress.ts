import { MambaError } from './errors.js';
import { formatBytes, formatDuration, formatRate } from './format.js';

/** Where progress goes: process.stderr, or anything with `write` (tests collect the text). */
export interface ProgressStream {
  write(text: string): unknown;
  /** On a terminal the line is redrawn in place; elsewhere a full line is written now and then. */
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Default process.stderr; null reports nothing. */
  stream?: ProgressStream | null;
  /** Seconds between lines on a stream that is not a terminal: default $MAMBA_TS_PROGRESS_EVERY, else 5. */
  every?: number;
  /** Seconds from any fixed origin; tests drive a fake one. */
  clock?: () => number;
}

/** What is being counted. */
export interface ProgressTask {
  /** What is happening: `scoring held-out text`, `step`, a file name. */
  label: string;
  /** What the count counts (`bytes`, `images`); '' for plain numbers such as steps. */
  unit: string;
  total?: number;
  /** The count when reporting starts (a resumed run): the rate and the ETA count only what follows. */
  start?: number;
  /** The count is a size in bytes, printed as `12.1 MB`. */
  bytes?: boolean;
  /** Shows the rate in other units: `perCount` of them per counted item (bytes per training step). */
  rateUnit?: { unit: string; perCount: number };
  /** Shown in place of the bar while the total is unknown, e.g. `measuring speed`. */
  pending?: string;
}

/** A (done, total) callback, as the scoring functions take. */
export type CountCallback = (done: number, total: number) => void;

// A redraw per network chunk or per step would cost more than the work; five a second reads fine.
const REDRAW_SECONDS = 0.2;
const DEFAULT_EVERY = 5;
const BAR_WIDTH = 24;

function defaultEvery(): number {
  const text = process.env['MAMBA_TS_PROGRESS_EVERY'];
  if (text === undefined || text === '') return DEFAULT_EVERY;
  const seconds = Number(text);
  if (!(seconds >= 0) || !Number.isFinite(seconds))
    throw new MambaError(`MAMBA_TS_PROGRESS_EVERY must be a number of seconds, got '${text}'`);
  return seconds;
}

/**
 * One line of progress for a long piece of work: the count (of a total when known), a bar, the
 * rate and the time left. On a terminal it is redrawn in place; on a pipe or a file a full line is
 * written at most every `every` seconds, and a last line when the work is done, so logs stay short
 * but never silent for long.
 */
export class Progress {
  private readonly stream: ProgressStream | null;
  private readonly tty: boolean;
  private readonly every: number;
  private readonly clock: () => number;
  private readonly started: number;
  private readonly first: number;
  private total: number | undefined;
  private done: number;
  private detail = '';
  private lastDraw: number;
  /** Whether the terminal shows an unfinished line of ours. */
  private drawn = false;
  private updated = false;

  constructor(
    private readonly task: ProgressTask,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream === undefined ? process.stderr : options.stream;
    this.tty = this.stream?.isTTY ?? false;
    this.every = options.every ?? defaultEvery();
    this.clock = options.clock ?? (() => performance.now() / 1000);
    this.started = this.clock();
    this.first = task.start ?? 0;
    this.done = this.first;
    this.total = task.total;
    // A terminal shows the first update at once; a log gets its first line after `every` seconds.
    this.lastDraw = this.tty ? -Infinity : this.started;
  }

  /** Reports the count; `total` replaces the total (a plan made mid-way), `detail` is shown after the ETA. */
  update(done: number, o: { total?: number; detail?: string } = {}): void {
    this.done = done;
    this.updated = true;
    if (o.total !== undefined) this.total = o.total;
    if (o.detail !== undefined) this.detail = o.detail;
    if (!this.stream) return;
    const now = this.clock();
    if (now - this.lastDraw < (this.tty ? REDRAW_SECONDS : this.every)) return;
    this.lastDraw = now;
    this.write(this.line(now));
  }

  /** Writes the last line: the count, the time taken and the rate. Nothing if nothing was reported. */
  finish(): void {
    if (!this.stream || !this.updated) return;
    const now = this.clock();
    const seconds = now - this.started;
    const line = `${this.task.label} ${this.count(this.done)}${this.unitSuffix()} in ${formatDuration(seconds)} (${this.rate(now)})`;
    this.write(line + this.detailSuffix());
    if (this.tty) this.stream.write('\n');
    this.drawn = false;
  }

  /** Takes an unfinished line off the terminal, so that a message can be printed on a clean line; the next update redraws it. */
  clear(): void {
    if (!this.drawn) return;
    this.stream!.write('\r\x1b[K');
    this.drawn = false;
    this.lastDraw = -Infinity;
  }

  private write(line: string): void {
    this.stream!.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
    this.drawn = this.tty;
  }

  private line(now: number): string {
    const { label, pending } = this.task;
    const total = this.total;
    if (total === undefined)
      return `${label} ${this.count(this.done)}${this.unitSuffix()}${pending ? ` (${pending})` : ''} ${this.rate(now)}${this.detailSuffix()}`;
    const filled = Math.min(BAR_WIDTH, Math.round((BAR_WIDTH * this.done) / Math.max(1, total)));
    const bar = '='.repeat(filled) + ' '.repeat(BAR_WIDTH - filled);
    const perSecond = this.perSecond(now);
    const eta = perSecond > 0 ? (total - this.done) / perSecond : NaN;
    return (
      `${label} ${this.count(this.done)}/${this.count(total)}${this.unitSuffix()} [${bar}] ${this.rate(now)}` +
      ` | eta ${formatDuration(eta)}${this.detailSuffix()}`
    );
  }

  private count(n: number): string {
    return this.task.bytes ? formatBytes(n) : n.toLocaleString('en-US');
  }

  private unitSuffix(): string {
    return this.task.unit ? ` ${this.task.unit}` : '';
  }

  private detailSuffix(): string {
    return this.detail ? ` | ${this.detail}` : '';
  }

  /** Counted items per second since reporting started. */
  private perSecond(now: number): number {
    return (this.done - this.first) / (now - this.started);
  }

  private rate(now: number): string {
    const perSecond = this.perSecond(now);
    if (this.task.bytes) return Number.isFinite(perSecond) ? `${formatBytes(perSecond)}/s` : '? B/s';
    const { unit, perCount } = this.task.rateUnit ?? { unit: this.task.unit || 'items', perCount: 1 };
    return `${formatRate(perSecond * perCount)} ${unit}/s`;
  }
}

/** A (done, total) callback that reports to a new Progress and finishes it once done reaches the total. */
export function countProgress(label: string, unit: string, options: ProgressOptions = {}): CountCallback {
  const progress = new Progress({ label, unit }, options);
  return (done, total) => {
    progress.update(done, { total });
    if (done >= total) progress.finish();
  };
}
