/** Where progress goes: process.stderr, or anything with `write` (tests collect the text). */
export interface ProgressStream {
  write(text: string): unknown;
  /** On a terminal the line is redrawn in place; elsewhere only one line per file is written. */
  isTTY?: boolean;
}

// A terminal redraw per network chunk would cost more than the download; five a second reads fine.
const REDRAW_MS = 200;

/**
 * Reports one file's download: on a terminal a `\r`-redrawn line with bytes done, total and
 * rate; otherwise a single line when the file is done, so logs stay short.
 */
export class DownloadProgress {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly stream: ProgressStream | null,
    private readonly label: string,
    private readonly total: number | undefined,
  ) {}

  update(done: number): void {
    if (!this.stream?.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.stream.write(`\r${this.line(done, now)}\x1b[K`);
  }

  finish(done: number): void {
    if (!this.stream) return;
    const line = this.line(done, Date.now());
    this.stream.write(this.stream.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  private line(done: number, now: number): string {
    const seconds = Math.max((now - this.started) / 1000, 1e-3);
    const total = this.total === undefined ? '' : ` / ${formatBytes(this.total)}`;
    return `${this.label}  ${formatBytes(done)}${total}  ${formatBytes(done / seconds)}/s`;
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
