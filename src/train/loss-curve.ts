import { writeLineChart } from '../util/plot.js';
import type { MetricsRecord } from './trainer.js';

/** The training loss and held-out bits per byte against the step, as SVG. */
export function writeLossCurve(path: string, history: readonly MetricsRecord[]): void {
  const train = history.map((r) => [r.step, r.loss / Math.LN2] as const);
  const val = history.filter((r) => r['val_bpb'] !== undefined).map((r) => [r.step, r['val_bpb']!] as const);
  writeLineChart(
    path,
    [
      { name: 'training loss (bits/byte)', points: train },
      { name: 'held-out bits/byte', points: val },
    ],
    { title: 'MambaByte training', xLabel: 'step', yLabel: 'bits per byte' },
  );
}
