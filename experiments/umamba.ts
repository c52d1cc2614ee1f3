import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import '../src/backends/node.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSegmentationData, MRICRON_DEFAULT_SPLIT, type SegmentationData } from '../src/data/segmentation.js';
import { MRICRON_TASKS, type MricronTask } from '../src/models/segmentation-schema.js';
import { encodePng } from '../src/formats/png-encode.js';
import { comparisonFigure } from '../src/data/segmentation-figures.js';
import { loadSegmentationModel } from '../src/io/registry.js';
import {
  divisorFor,
  predictSamples,
  SEGMENTATION_DEFAULTS,
  SEGMENTATION_TRAINER,
  trainSegmentation,
  type SegmentationArchitecture,
} from '../src/train/segmentation.js';
import { MambaError } from '../src/util/errors.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { writeLineChart } from '../src/util/plot.js';

/**
 * `npm run experiment:umamba [-- --tasks brain,aal-lobes --minutes 3,6 --out DIR]`: U-Net,
 * U-Mamba_Bot and U-Mamba_Enc (the U-Net sized to U-Mamba_Bot's parameter count) trained on the
 * same mricron slices for the same wall-clock time per task, scored on the same held-out axial
 * slices at native resolution. Writes report.json, report.md (Dice tables), and per task
 * figure-<task>.png/.svg (held-out slices: image, truth, the three predictions) and
 * dice-<task>.svg (held-out Dice against training time).
 *
 * Each network trains in a child process that checkpoints every 50 steps. A child that stops
 * making progress for two minutes (a wasm thread pool that never wakes up again has been seen once
 * in a long run) is killed and resumed from its last checkpoint; batches depend on the step alone
 * and the planned steps are part of the checkpoint, so the resumed run is the same run.
 */
const { values } = parseArgs({
  options: {
    tasks: { type: 'string' },
    minutes: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    child: { type: 'string' },
  },
});
const log = (line: string) => process.stderr.write(line + '\n');
const scale = SEGMENTATION_DEFAULTS.scale;
const divisor = divisorFor(SEGMENTATION_DEFAULTS.features);

interface ChildJob {
  task: MricronTask;
  architecture: SegmentationArchitecture;
  minutes: number;
  seed: number;
  dir: string;
}

interface RunReport {
  network: string;
  parameters: number;
  steps: number;
  training_seconds: number;
  slices_per_s: number;
  mean_dice: number | null;
  per_class_dice: Record<string, number | null>;
  curve: { elapsed_s: number; val_dice: number }[];
  restarts: number;
}

function mricronData(task: MricronTask): SegmentationData {
  return loadSegmentationData({ kind: 'mricron', task, ...MRICRON_DEFAULT_SPLIT }, { scale, divisor }, log);
}

if (values.child) {
  const job = JSON.parse(values.child) as ChildJob;
  const data = mricronData(job.task);
  const r = await trainSegmentation(
    data,
    { ...SEGMENTATION_DEFAULTS, architecture: job.architecture, seed: job.seed },
    { ...SEGMENTATION_TRAINER, minutes: job.minutes, evalEvery: 50, checkpointEvery: 50 },
    { out: job.dir, resume: existsSync(join(job.dir, 'latest')), log },
  );
  const result: Omit<RunReport, 'network' | 'restarts'> = {
    parameters: r.parameters,
    steps: r.steps,
    training_seconds: r.elapsedSeconds,
    slices_per_s: r.unitsSeen / r.elapsedSeconds,
    mean_dice: r.evaluation.meanDice,
    per_class_dice: Object.fromEntries(data.classNames.map((n, k) => [n, r.evaluation.perClass[k] ?? null])),
    curve: r.history
      .filter((h) => h['val_dice'] !== undefined)
      .map((h) => ({ elapsed_s: h.elapsed_s, val_dice: h['val_dice']! })),
  };
  writeFileAtomic(join(job.dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  process.exit(0);
}

/** Runs one training job in a child process, restarting it from its checkpoint when it stalls; returns the restarts needed. */
async function runChild(job: ChildJob): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const metrics = join(job.dir, 'metrics.jsonl');
  for (let restarts = 0; ; restarts++) {
    const child = spawn(process.execPath, [script, '--child', JSON.stringify(job)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const started = Date.now();
    let lastChange = Date.now();
    let lastSize = -1;
    const outcome = await new Promise<'done' | 'stalled'>((resolve, reject) => {
      const timer = setInterval(() => {
        const size = existsSync(metrics) ? statSync(metrics).size : -1;
        if (size !== lastSize) {
          lastSize = size;
          lastChange = Date.now();
        }
        if (Date.now() - Math.max(lastChange, started) > 120_000) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve('stalled');
        }
      }, 5000);
      child.once('exit', (code, signal) => {
        clearInterval(timer);
        if (signal === 'SIGKILL') return;
        if (code === 0) resolve('done');
        else
          reject(
            new MambaError(
              `training ${job.architecture} on ${job.task} failed (exit code ${code}${signal ? `, ${signal}` : ''})`,
            ),
          );
      });
    });
    if (outcome === 'done') return restarts;
    log(`${job.architecture} on ${job.task} made no progress for two minutes; restarting it from its last checkpoint`);
  }
}

const tasks = (values.tasks ?? 'brain,aal-lobes').split(',') as MricronTask[];
for (const t of tasks)
  if (!MRICRON_TASKS.includes(t)) throw new MambaError(`unknown task ${t}; available: ${MRICRON_TASKS.join(', ')}`);
const minutesList = (values.minutes ?? '3,6').split(',').map(Number);
const minutesFor = (i: number) => minutesList[Math.min(i, minutesList.length - 1)]!;
const out = values.out ?? 'runs/experiment-umamba';
const seed = Number(values.seed ?? 0);
mkdirSync(out, { recursive: true });

const NETWORKS: { architecture: SegmentationArchitecture; label: string }[] = [
  { architecture: 'unet', label: 'U-Net' },
  { architecture: 'umamba-bot', label: 'U-Mamba_Bot' },
  { architecture: 'umamba-enc', label: 'U-Mamba_Enc' },
];

const report: {
  scale: number;
  features: number[];
  tasks: Record<
    string,
    {
      minutes: number;
      train_slices: number;
      test_slices: number;
      test_block: [number, number];
      gap: number;
      runs: RunReport[];
    }
  >;
} = {
  scale,
  features: SEGMENTATION_DEFAULTS.features,
  tasks: {},
};
const md: string[] = ['# U-Mamba vs U-Net on mricron slices', ''];

for (const [ti, task] of tasks.entries()) {
  const minutes = minutesFor(ti);
  const data = mricronData(task);
  log(
    `task ${task}: ${data.classNames.length} classes, ${data.train.length} training and ${data.test.length} held-out slices, ${minutes} minutes per network`,
  );
  const picks = [0.2, 0.5, 0.8].map((f) => Math.round(f * (data.test.length - 1)));
  const runs: RunReport[] = [];
  const predictions: Uint8Array[][] = [];
  for (const { architecture, label } of NETWORKS) {
    const dir = join(out, task, architecture);
    rmSync(dir, { recursive: true, force: true });
    log(`training ${label} on ${task}`);
    const restarts = await runChild({ task, architecture, minutes, seed, dir });
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Omit<
      RunReport,
      'network' | 'restarts'
    >;
    log(
      `${label}: ${result.parameters} parameters, ${result.steps} steps in ${result.training_seconds.toFixed(0)} s, held-out mean Dice ${result.mean_dice?.toFixed(4)}`,
    );
    runs.push({ network: label, ...result, restarts });
    const { model: net } = await loadSegmentationModel(dir);
    predictions.push(
      predictSamples(
        net,
        picks.map((i) => data.test[i]!),
        data.height,
        data.width,
      ),
    );
    net.dispose();
  }
  report.tasks[task] = {
    minutes,
    train_slices: data.train.length,
    test_slices: data.test.length,
    test_block: MRICRON_DEFAULT_SPLIT.testSlices,
    gap: MRICRON_DEFAULT_SPLIT.gap,
    runs,
  };

  const figure = comparisonFigure(
    picks.map((i) => data.test[i]!),
    predictions,
    data.classNames.length,
    data.displayFlipRows,
  );
  const png = encodePng(figure);
  writeFileAtomic(join(out, `figure-${task}.png`), png);
  const titles = ['image', 'truth', ...NETWORKS.map((n) => n.label)];
  const rowTitles = picks.map((i) => `slice ${data.test[i]!.id}`);
  writeFileAtomic(
    join(out, `figure-${task}.svg`),
    labelledFigure(
      png,
      figure.width,
      figure.height,
      titles,
      data.test[0]!.frame.width,
      rowTitles,
      `${task}: held-out axial slices`,
    ),
  );
  writeLineChart(
    join(out, `dice-${task}.svg`),
    runs.map((r) => ({
      name: `${r.network} (${r.parameters} params)`,
      points: r.curve.map((p) => [p.elapsed_s, p.val_dice] as const),
    })),
    { title: `Held-out mean Dice, ${task}`, xLabel: 'training time (s)', yLabel: 'mean Dice' },
  );

  md.push(
    `## ${task} (${data.classNames.length - 1} foreground classes; ${minutes} min per network; test slices ${MRICRON_DEFAULT_SPLIT.testSlices.join(':')}, gap ${MRICRON_DEFAULT_SPLIT.gap})`,
    '',
  );
  md.push('| network | parameters | steps | training s | slices/s | held-out mean Dice |', '|---|---|---|---|---|---|');
  for (const r of runs)
    md.push(
      `| ${r.network} | ${r.parameters.toLocaleString('en-US')} | ${r.steps} | ${r.training_seconds.toFixed(0)} | ${r.slices_per_s.toFixed(1)} | ${r.mean_dice?.toFixed(4) ?? '-'} |`,
    );
  for (const r of runs.filter((x) => x.restarts > 0))
    md.push('', `${r.network} stalled and was resumed from its last checkpoint ${r.restarts} time(s).`);
  if (data.classNames.length > 2 && data.classNames.length <= 12) {
    md.push('', `| class | ${runs.map((r) => r.network).join(' | ')} |`, `|---|${runs.map(() => '---').join('|')}|`);
    for (const name of data.classNames.slice(1))
      md.push(`| ${name} | ${runs.map((r) => r.per_class_dice[name]?.toFixed(4) ?? '-').join(' | ')} |`);
  }
  md.push('', `![${task}](figure-${task}.png)`, '');
}

writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
writeFileAtomic(join(out, 'report.md'), md.join('\n') + '\n');
process.stdout.write(md.join('\n') + '\n');

/** The figure with column and row titles above and beside it, as SVG around the embedded PNG. */
function labelledFigure(
  png: Uint8Array,
  width: number,
  height: number,
  columns: string[],
  tileWidth: number,
  rows: string[],
  title: string,
): string {
  const top = 44;
  const left = 90;
  const tileHeight = (height - 2 * (rows.length - 1)) / rows.length;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width + left}" height="${height + top}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="16" font-weight="bold">${esc(title)}</text>`,
    ...columns.map(
      (c, i) => `<text x="${left + i * (tileWidth + 2) + tileWidth / 2}" y="36" text-anchor="middle">${esc(c)}</text>`,
    ),
    ...rows.map(
      (r, i) =>
        `<text x="${left - 8}" y="${top + i * (tileHeight + 2) + tileHeight / 2}" text-anchor="end">${esc(r)}</text>`,
    ),
    `<image x="${left}" y="${top}" width="${width}" height="${height}" href="data:image/png;base64,${Buffer.from(png).toString('base64')}"/>`,
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}
