import { mkdirSync } from 'node:fs';
import '../src/backends/node.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTextCorpus, splitBytes } from '../src/data/text.js';
import { bitsPerByte, MAMBABYTE_DEFAULTS, MAMBABYTE_TRAINER, trainMambaByte } from '../src/train/mambabyte.js';
import { defaultMoE, trainMoEMambaByte } from '../src/train/moe-mamba.js';
import type { MetricsRecord } from '../src/train/trainer.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { writeLineChart } from '../src/util/plot.js';

/**
 * `npm run experiment:moe [-- --steps N --pairs P --experts E --out DIR]`: plain Mamba (2P Mamba
 * layers) against MoE-Mamba (P Mamba layers interleaved with P Switch MoE layers whose experts
 * have about a Mamba layer's parameters, so both have the same active parameters per token), over
 * bytes, with the same data order and the same number of steps. Reports the steps each needs to
 * reach plain Mamba's final validation loss (the paper claims 2.35x fewer for MoE-Mamba), the
 * wall-clock time of both, the expert load, and writes report.json, loss.svg and experts.svg.
 */
const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    pairs: { type: 'string' },
    experts: { type: 'string' },
    out: { type: 'string' },
  },
});
const steps = Number(values.steps ?? 600);
const pairs = Number(values.pairs ?? 2);
const out = values.out ?? 'runs/experiment-moe';
mkdirSync(out, { recursive: true });
const log = (line: string) => process.stderr.write(line + '\n');

const split = splitBytes(loadTextCorpus('default', log), 0.05, { seed: 0 });
const data = { train: split.train.bytes, validation: split.validation.bytes };
const settings = { ...MAMBABYTE_DEFAULTS };
const trainer = {
  ...MAMBABYTE_TRAINER,
  minutes: undefined,
  steps,
  warmup: Math.max(10, Math.round(steps / 20)),
  evalEvery: Math.max(10, Math.round(steps / 12)),
};

log(`plain Mamba: ${2 * pairs} layers, ${steps} steps`);
const plainStart = performance.now();
const plain = await trainMambaByte(data, { ...settings, nLayer: 2 * pairs }, trainer, { out: join(out, 'mamba'), log });
const plainSeconds = (performance.now() - plainStart) / 1000;

const moe = { ...defaultMoE(settings.dModel, settings.expand), experts: Number(values.experts ?? 8) };
log(`MoE-Mamba: ${pairs} Mamba + ${pairs} MoE layers of ${moe.experts} experts, ${steps} steps`);
const moeStart = performance.now();
const mixture = await trainMoEMambaByte(data, { ...settings, nLayer: pairs, moe }, trainer, {
  out: join(out, 'moe-mamba'),
  log,
});
const moeSeconds = (performance.now() - moeStart) / 1000;

const curve = (h: MetricsRecord[]) =>
  h.filter((r) => r['val_bpb'] !== undefined).map((r) => [r.step, r['val_bpb']!] as const);
const plainCurve = curve(plain.history);
const moeCurve = curve(mixture.history);
const target = plainCurve[plainCurve.length - 1]![1];
/** The first step at which a curve reaches `y`, interpolating between evaluations; null if never. */
function stepsTo(points: readonly (readonly [number, number])[], y: number): number | null {
  for (let i = 0; i < points.length; i++) {
    const [s, v] = points[i]!;
    if (v > y) continue;
    if (i === 0) return s;
    const [s0, v0] = points[i - 1]!;
    return s0 + ((s - s0) * (v0 - y)) / (v0 - v);
  }
  return null;
}
const moeSteps = stepsTo(moeCurve, target);
const heldOut = data.validation.subarray(0, 262144);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const loadByLayer = mixture.expertLoad;
const report = {
  steps,
  pairs,
  plain_mamba: {
    layers: 2 * pairs,
    parameters: plain.parameters,
    seconds: plainSeconds,
    final_val_bpb: target,
    held_out_bpb_256k: bitsPerByte(plain.model, heldOut, settings.seqLen),
  },
  moe_mamba: {
    mamba_layers: pairs,
    moe_layers: pairs,
    moe,
    parameters: mixture.parameters,
    active_parameters: mixture.activeParameters,
    seconds: moeSeconds,
    final_val_bpb: moeCurve[moeCurve.length - 1]![1],
    held_out_bpb_256k: bitsPerByte(mixture.model, heldOut, settings.seqLen),
    steps_to_plain_final_val_bpb: moeSteps,
    expert_load_last_step: loadByLayer,
    mean_dropped_fraction: mean(mixture.history.map((r) => r['moe_dropped']!)),
    mean_max_load_over_mean: mean(mixture.history.map((r) => r['moe_max_load_over_mean']!)),
  },
  step_ratio: moeSteps ? steps / moeSteps : null,
  paper_claim_step_ratio: 2.35,
};
writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
writeLineChart(
  join(out, 'loss.svg'),
  [
    { name: `Mamba (${2 * pairs} layers)`, points: plainCurve },
    { name: `MoE-Mamba (${pairs}+${pairs} layers, ${moe.experts} experts)`, points: moeCurve },
  ],
  {
    title: 'Held-out bits per byte against training step',
    xLabel: 'step',
    yLabel: 'bits per byte',
    references: [{ y: target, label: 'plain Mamba final' }],
  },
);
writeLineChart(
  join(out, 'experts.svg'),
  loadByLayer.map((load, i) => ({ name: `MoE layer ${i + 1}`, points: load.map((n, e) => [e, n] as const) })),
  { title: 'Tokens per expert (last training step)', xLabel: 'expert', yLabel: 'tokens' },
);
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
