import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from '../nn/module.js';
import { mul } from '../ops/elementwise.js';
import { backward } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { withFileErrors } from '../util/fs-errors.js';
import { makeFolder, writeFileAtomic } from '../util/fs.js';
import { Progress, type CountCallback, type ProgressOptions } from '../util/progress.js';
import { yieldToEventLoop } from '../util/yield.js';
import {
  cleanInterruptedWrites,
  latestCheckpoint,
  loadTrainingCheckpoint,
  readTrainerState,
  saveTrainingCheckpoint,
  type TrainerState,
} from './checkpoint.js';
import { clipGradNorm } from './clip.js';
import { AdamW } from './optim.js';
import { planResume } from './run-length.js';
import { acquireRunLock, type RunLock } from './run-lock.js';
import { warmupCosine } from './schedule.js';
import { changedSettings, describeChanges } from './settings.js';

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
  /** Held-out metrics, e.g. { val_bpb: 2.1 }; reports how far it has got to `onProgress`. */
  evaluate?(onProgress?: CountCallback): Record<string, number>;
  /** Numbers about the step just taken (e.g. expert load), logged with it. */
  stepMetrics?(): Record<string, number>;
  /** Writes the model in its loadable layout (config + weights) into a folder. */
  saveModel(dir: string): Promise<unknown>;
  /** Everything that defines the run; a resume must match it. */
  settings: Record<string, unknown>;
}

/** Where a run lives and how it reports. */
export interface RunOptions {
  /** The run folder: checkpoints, metrics.jsonl and the latest model. */
  out: string;
  /** Continue the run in `out`; without it an existing run there is an error. */
  resume?: boolean;
  log?: (line: string) => void;
  /** Where the progress line goes; `{ stream: null }` for none. */
  progress?: ProgressOptions;
  /** Stops the run after the step under way, with a checkpoint: the trainer then throws TrainingStopped. */
  signal?: AbortSignal;
  /**
   * The lock of `out`, when the caller holds it already (the command line takes it before loading
   * data and keeps it while it writes figures after training); otherwise train() takes it.
   */
  lock?: RunLock;
}

/** A run stopped through its abort signal; it has written a checkpoint to resume from. */
export class TrainingStopped extends MambaError {
  constructor(
    readonly step: number,
    readonly checkpoint: string,
    readonly reason: string,
  ) {
    super(
      `training stopped at step ${step} (${reason}); its checkpoint is ${checkpoint}; resume the run to continue it`,
    );
    this.name = 'TrainingStopped';
  }
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

function readHistory(path: string, upTo: number): MetricsRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as MetricsRecord)
    .filter((r) => r.step <= upTo);
}

/** `loss 2.1234 | val_bpb 2.310`: the step's loss and the last evaluation. */
function describeStep(loss: number, evaluation: Record<string, number>): string {
  const metrics = Object.entries(evaluation).map(([name, value]) => `${name} ${value.toFixed(3)}`);
  return [`loss ${loss.toFixed(4)}`, ...metrics].join(' | ');
}

/**
 * Trains with AdamW (decoupled weight decay; none on the parameters the model exempts), linear
 * warmup then cosine decay, global-norm clipping and gradient accumulation. Writes metrics as
 * JSON lines, evaluates and checkpoints periodically and at the end, and can resume a run exactly:
 * batches depend on the step alone, and the checkpoint holds weights, moments and step. A resume
 * with a new length extends the run (see planResume); the cosine then ends at the new last step.
 * It holds the run folder's lock while it runs (a second trainer there gets RunFolderLockedError)
 * and first removes the temporary files that killed writes left there.
 */
export async function train(task: TrainTask, config: TrainerConfig, run: RunOptions): Promise<TrainResult> {
  const log = run.log ?? ((line: string) => process.stderr.write(line + '\n'));
  makeFolder(run.out);
  // One writer per run folder: a second trainer there would interleave metrics and replace models.
  const lock = run.lock ? null : acquireRunLock(run.out, log);
  try {
    cleanInterruptedWrites(run.out, log);
    return await trainHoldingLock(task, config, run, log);
  } finally {
    lock?.release();
  }
}

/** The trainer's optimizer: AdamW, with weight decay on every parameter but those the model exempts. */
export function trainerOptimizer(model: Module, config: TrainerConfig): AdamW {
  const exempt = model.noWeightDecayParameters();
  const params = model.parameters();
  return new AdamW(
    [
      { params: params.filter((p) => !exempt.has(p)), weightDecay: config.weightDecay },
      { params: params.filter((p) => exempt.has(p)), weightDecay: 0 },
    ],
    { lr: config.lr, betas: config.betas },
  );
}

async function trainHoldingLock(
  task: TrainTask,
  config: TrainerConfig,
  run: RunOptions,
  log: (line: string) => void,
): Promise<TrainResult> {
  const model = task.model;
  const params = model.parameters();
  const optimizer = trainerOptimizer(model, config);
  const metricsPath = join(run.out, 'metrics.jsonl');
  let state: TrainerState;
  let minutes = config.minutes;
  let resumedFrom: number | null = null;
  const existing = latestCheckpoint(run.out);
  if (existing && !run.resume) {
    throw new MambaError(
      `${run.out} already holds a training run (${existing}); pass --resume to continue it, or choose another --out`,
    );
  }
  if (existing) {
    const stored = readTrainerState(existing);
    const changes = changedSettings(stored.settings, { ...task.settings, trainer: config });
    if (changes.length > 0) {
      throw new MambaError(
        `the run in ${run.out} was started with other settings: ${describeChanges(changes)}; resume with the flags it started with, or choose another --out`,
      );
    }
    const plan = planResume(stored, { steps: config.steps, minutes: config.minutes }, run.out);
    state = await loadTrainingCheckpoint(existing, model, optimizer);
    log(`resuming from step ${state.step} of ${state.plannedSteps || 'a number still to plan'} (${existing})`);
    state.plannedSteps = plan.plannedSteps;
    state.settings = { ...task.settings, trainer: { ...config, ...plan.length } };
    minutes = plan.length.minutes;
    resumedFrom = state.step;
    if (plan.note) log(plan.note);
  } else {
    if (config.steps === undefined && config.minutes === undefined)
      throw new MambaError('give a number of steps or of minutes to train for');
    state = {
      step: 0,
      plannedSteps: config.steps ?? 0,
      elapsedSeconds: 0,
      unitsSeen: 0,
      settings: { ...task.settings, trainer: config },
      optimizerSteps: {},
      lastLoss: NaN,
    };
  }
  const history = readHistory(metricsPath, state.step);
  writeFileAtomic(metricsPath, history.map((r) => JSON.stringify(r) + '\n').join(''));
  const unitsPerStep = task.unitsPerMicroBatch * config.accumulate;
  const progress = new Progress(
    {
      label: 'step',
      unit: '',
      total: state.plannedSteps || undefined,
      start: state.step,
      rateUnit: { unit: task.unit, perCount: unitsPerStep },
      pending: 'measuring speed',
    },
    run.progress,
  );
  const say = (line: string) => {
    progress.clear();
    log(line);
  };

  let savedStep = existing ? state.step : -1;
  const checkpoint = async () => {
    if (state.step === savedStep) return;
    await saveTrainingCheckpoint(run.out, model, optimizer, state, task.saveModel);
    await task.saveModel(run.out);
    savedStep = state.step;
  };

  // A plan of 0 steps means the speed is still to be measured: the run was given in minutes.
  const calibrating = state.plannedSteps === 0;
  const budgetSeconds = (minutes ?? 0) * 60;
  const firstStep = state.step;
  // Training time of the steps after the first, evaluations and checkpoints left out.
  let calibrationSeconds = 0;
  let evaluation: Record<string, number> = {};
  while (state.plannedSteps === 0 || state.step < state.plannedSteps) {
    // The steps are synchronous compute: a signal handler (Ctrl-C) runs only in between.
    await yieldToEventLoop();
    if (run.signal?.aborted) {
      progress.finish();
      await checkpoint();
      const reason = run.signal.reason;
      throw new TrainingStopped(
        state.step,
        latestCheckpoint(run.out)!,
        typeof reason === 'string' ? reason : 'aborted',
      );
    }
    const stepStart = performance.now();
    optimizer.lr = warmupCosine(state.step, {
      peak: config.lr,
      warmup: config.warmup,
      total: state.plannedSteps || Number.MAX_SAFE_INTEGER,
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
    state.unitsSeen += unitsPerStep;
    state.lastLoss = loss;
    if (calibrating && state.plannedSteps === 0 && state.step > firstStep + 1) {
      // The first step pays for compilation; plan from the steadier steps after it.
      calibrationSeconds += seconds;
      const timed = state.step - firstStep - 1;
      if (timed >= CALIBRATION_STEPS && calibrationSeconds >= CALIBRATION_SHARE * budgetSeconds) {
        const perStep = calibrationSeconds / timed;
        // The steps up to the first timed one, then as many as the rest of the budget holds.
        const untimedSeconds = state.elapsedSeconds - calibrationSeconds;
        state.plannedSteps = Math.max(
          state.step,
          firstStep + 1 + Math.floor((budgetSeconds - untimedSeconds) / perStep),
        );
        state.secondsPerStep = perStep;
        say(
          `planned ${state.plannedSteps} steps to train for about ${minutes} minutes (${perStep.toFixed(3)} s per step)`,
        );
      }
    }
    const record: MetricsRecord = {
      step: state.step,
      loss,
      lr: optimizer.lr,
      grad_norm: gradNorm,
      units_per_s: unitsPerStep / seconds,
      elapsed_s: state.elapsedSeconds,
      ...task.stepMetrics?.(),
    };
    const last = state.plannedSteps > 0 && state.step >= state.plannedSteps;
    const evaluated = task.evaluate !== undefined && (state.step % config.evalEvery === 0 || last);
    if (evaluated) {
      evaluation = task.evaluate!((done, total) =>
        progress.update(state.step, { detail: `evaluating, ${Math.floor((100 * done) / total)}%` }),
      );
      Object.assign(record, evaluation);
    }
    if (state.step % config.logEvery === 0 || last || evaluated) {
      history.push(record);
      withFileErrors(metricsPath, () => appendFileSync(metricsPath, JSON.stringify(record) + '\n'));
    }
    progress.update(state.step, { total: state.plannedSteps || undefined, detail: describeStep(loss, evaluation) });
    if (state.step % config.checkpointEvery === 0 || last) await checkpoint();
  }
  progress.finish();
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
