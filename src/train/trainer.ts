import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../nn/module.js';
import { mul } from '../ops/elementwise.js';
import { backward } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import {
  latestCheckpoint,
  loadTrainingCheckpoint,
  readTrainerState,
  saveTrainingCheckpoint,
  type TrainerState,
} from './checkpoint.js';
import { clipGradNorm } from './clip.js';
import { AdamW } from './optim.js';
import { ProgressLine } from './progress.js';
import { warmupCosine } from './schedule.js';

export interface TrainerConfig {
  /** Optimizer steps; or give `minutes` and the run plans its steps from its measured speed. */
  steps?: number;
  minutes?: number;
  lr: number;
  warmup: number;
  /** The cosine ends at lr * minLrRatio. */
  minLrRatio: number;
  weightDecay: number;
  betas: [number, number];
  /** Clip the global gradient norm to this. */
  clip: number;
  /** Micro-batches per optimizer step. */
  accumulate: number;
  evalEvery: number;
  checkpointEvery: number;
  logEvery: number;
}

/** What is being trained: the model, its loss on deterministic batches, evaluation, and saving. */
export interface TrainTask {
  model: Module;
  /** Mean loss of micro-batch `micro` of step `step`; the batch must depend on (step, micro) alone. */
  loss(step: number, micro: number): Tensor;
  /** Units (bytes, tokens, images) per micro-batch, for throughput. */
  unitsPerMicroBatch: number;
  unit: string;
  /** Held-out metrics, e.g. { val_bpb: 2.1 }. */
  evaluate?(): Record<string, number>;
  /** Numbers about the step just taken (e.g. expert load), logged with it. */
  stepMetrics?(): Record<string, number>;
  /** Writes the model in its loadable layout (config + weights) into a folder. */
  saveModel(dir: string): Promise<unknown>;
  /** Everything that defines the run; a resume must match it. */
  settings: Record<string, unknown>;
}

export interface MetricsRecord {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  units_per_s: number;
  elapsed_s: number;
  [metric: string]: number;
}

export interface TrainResult {
  steps: number;
  finalLoss: number;
  elapsedSeconds: number;
  unitsSeen: number;
  history: MetricsRecord[];
  resumedFrom: number | null;
}

/**
 * `minutes` becomes a step count once at least CALIBRATION_STEPS steps after the first have run
 * and they took CALIBRATION_SHARE of the budget: the first steps run slower than the rest (the
 * engine is still optimising), and planning from four of them left a Vim run at 733 of 900 s.
 */
const CALIBRATION_STEPS = 4;
const CALIBRATION_SHARE = 0.05;

function sameSettings(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function readHistory(path: string, upTo: number): MetricsRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as MetricsRecord)
    .filter((r) => r.step <= upTo);
}

/**
 * Trains with AdamW (decoupled weight decay; none on the parameters the model exempts), linear
 * warmup then cosine decay, global-norm clipping and gradient accumulation. Writes metrics as
 * JSON lines, evaluates and checkpoints periodically and at the end, and can resume a run exactly:
 * batches depend on the step alone, and the checkpoint holds weights, moments and step.
 */
export async function train(
  task: TrainTask,
  config: TrainerConfig,
  run: { out: string; resume?: boolean; progress?: ProgressLine; log?: (line: string) => void },
): Promise<TrainResult> {
  if (config.steps === undefined && config.minutes === undefined)
    throw new MambaError('give a number of steps or of minutes to train for');
  const log = run.log ?? ((line: string) => process.stderr.write(line + '\n'));
  mkdirSync(run.out, { recursive: true });
  const model = task.model;
  const exempt = model.noWeightDecayParameters();
  const params = model.parameters();
  const optimizer = new AdamW(
    [
      { params: params.filter((p) => !exempt.has(p)), weightDecay: config.weightDecay },
      { params: params.filter((p) => exempt.has(p)), weightDecay: 0 },
    ],
    { lr: config.lr, betas: config.betas },
  );
  const settings = { ...task.settings, trainer: config };
  const metricsPath = join(run.out, 'metrics.jsonl');
  let state: TrainerState = {
    step: 0,
    plannedSteps: config.steps ?? 0,
    elapsedSeconds: 0,
    unitsSeen: 0,
    settings,
    optimizerSteps: {},
    lastLoss: NaN,
  };
  let resumedFrom: number | null = null;
  const existing = latestCheckpoint(run.out);
  if (existing && !run.resume) {
    throw new MambaError(
      `${run.out} already holds a training run (${existing}); pass --resume to continue it, or choose another --out`,
    );
  }
  if (existing) {
    const differ = sameSettings(readTrainerState(existing).settings, settings);
    if (differ.length > 0) {
      throw new MambaError(
        `the run in ${run.out} was started with other settings (${differ.join(', ')}); resume with the same flags, or choose another --out`,
      );
    }
    state = await loadTrainingCheckpoint(existing, model, optimizer);
    resumedFrom = state.step;
    log(`resuming from step ${state.step} of ${state.plannedSteps} (${existing})`);
  }
  const history = readHistory(metricsPath, state.step);
  writeFileAtomic(metricsPath, history.map((r) => JSON.stringify(r) + '\n').join(''));
  const progress = run.progress ?? new ProgressLine();

  let savedStep = existing ? state.step : -1;
  const checkpoint = async () => {
    if (state.step === savedStep) return;
    await saveTrainingCheckpoint(run.out, model, optimizer, state, task.saveModel);
    await task.saveModel(run.out);
    savedStep = state.step;
  };

  const calibrating = config.steps === undefined && state.plannedSteps === 0;
  const firstStep = state.step;
  // Training time of the steps after the first, evaluations and checkpoints left out.
  let calibrationSeconds = 0;
  while (state.plannedSteps === 0 || state.step < state.plannedSteps) {
    const stepStart = performance.now();
    const total = state.plannedSteps || Number.MAX_SAFE_INTEGER;
    optimizer.lr = warmupCosine(state.step, {
      peak: config.lr,
      warmup: config.warmup,
      total,
      minRatio: config.minLrRatio,
    });
    let loss = 0;
    for (let micro = 0; micro < config.accumulate; micro++) {
      loss += scope(() => {
        const l = task.loss(state.step, micro);
        backward(config.accumulate === 1 ? l : mul(l, 1 / config.accumulate));
        return l.item();
      });
    }
    loss /= config.accumulate;
    const gradNorm = clipGradNorm(params, config.clip);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      optimizer.zeroGrad();
      const where = latestCheckpoint(run.out);
      throw new MambaError(
        `training stopped at step ${state.step}: the loss became ${loss} (gradient norm ${gradNorm}); ` +
          `lower --lr or raise the warmup${where ? `; the last good checkpoint is ${where}` : ''}`,
      );
    }
    optimizer.step();
    optimizer.zeroGrad();
    const seconds = (performance.now() - stepStart) / 1000;
    state.step++;
    state.elapsedSeconds += seconds;
    state.unitsSeen += task.unitsPerMicroBatch * config.accumulate;
    state.lastLoss = loss;
    if (calibrating && state.plannedSteps === 0 && state.step > firstStep + 1) {
      // The first step pays for compilation; plan from the steadier steps after it.
      calibrationSeconds += seconds;
      const timed = state.step - firstStep - 1;
      if (timed >= CALIBRATION_STEPS && calibrationSeconds >= CALIBRATION_SHARE * config.minutes! * 60) {
        const perStep = calibrationSeconds / timed;
        // The steps up to the first timed one, then as many as the rest of the budget holds.
        const untimedSeconds = state.elapsedSeconds - calibrationSeconds;
        state.plannedSteps = Math.max(
          state.step,
          firstStep + 1 + Math.floor((config.minutes! * 60 - untimedSeconds) / perStep),
        );
        log(
          `planned ${state.plannedSteps} steps to train for about ${config.minutes} minutes (${perStep.toFixed(3)} s per step)`,
        );
      }
    }
    const unitsPerS = (task.unitsPerMicroBatch * config.accumulate) / seconds;
    const record: MetricsRecord = {
      step: state.step,
      loss,
      lr: optimizer.lr,
      grad_norm: gradNorm,
      units_per_s: unitsPerS,
      elapsed_s: state.elapsedSeconds,
      ...task.stepMetrics?.(),
    };
    const last = state.plannedSteps > 0 && state.step >= state.plannedSteps;
    const evaluated = task.evaluate !== undefined && (state.step % config.evalEvery === 0 || last);
    if (evaluated) Object.assign(record, task.evaluate!());
    if (state.step % config.logEvery === 0 || last || evaluated) {
      history.push(record);
      appendFileSync(metricsPath, JSON.stringify(record) + '\n');
    }
    const remaining = state.plannedSteps > 0 ? state.plannedSteps - state.step : NaN;
    progress.update({
      step: state.step,
      total: state.plannedSteps || state.step,
      loss,
      unitsPerS,
      unit: task.unit,
      etaSeconds: (remaining * state.elapsedSeconds) / state.step,
      ...(record['val_bpb'] !== undefined && { extra: `val ${record['val_bpb'].toFixed(3)} bits/byte` }),
    });
    if (state.step % config.checkpointEvery === 0 || last) await checkpoint();
  }
  progress.done();
  await checkpoint();
  optimizer.dispose();
  return {
    steps: state.step,
    finalLoss: state.lastLoss,
    elapsedSeconds: state.elapsedSeconds,
    unitsSeen: state.unitsSeen,
    history,
    resumedFrom,
  };
}
