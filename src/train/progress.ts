/** One status line for a training run, redrawn in place on a terminal. */
export class ProgressLine {
  private lastDraw = 0;

  constructor(
    private readonly stream: { write(s: string): unknown; isTTY?: boolean } = process.stderr,
    /** On a non-terminal, print a full line this often (seconds). */
    private readonly plainEvery = 30,
  ) {}

  update(o: {
    step: number;
    total: number;
    loss: number;
    unitsPerS: number;
    unit: string;
    etaSeconds: number;
    extra?: string;
  }): void {
    const now = performance.now() / 1000;
    const tty = this.stream.isTTY ?? false;
    if (!tty && now - this.lastDraw < this.plainEvery && o.step < o.total) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((width * o.step) / Math.max(1, o.total));
    const bar = '='.repeat(filled) + ' '.repeat(width - filled);
    const line =
      `step ${o.step}/${o.total} [${bar}] loss ${o.loss.toFixed(4)} | ${formatRate(o.unitsPerS)} ${o.unit}/s | ` +
      `eta ${formatDuration(o.etaSeconds)}${o.extra ? ` | ${o.extra}` : ''}`;
    this.stream.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
  }

  /** Ends the in-place line so that later output starts on a fresh one. */
  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}
