import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../formats/json.js';
import { openCheckpoint, saveSafetensors } from '../io/checkpoint.js';
import { loadModuleWeights } from '../io/module-weights.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { makeFolder, removeStaleTempFiles, writeFileAtomic } from '../util/fs.js';
import { above, Fields, range } from '../util/schema.js';
import type { AdamW } from './optim.js';

/** What a run needs besides weights and optimizer moments to continue exactly. */
export interface TrainerState {
  step: number;
  plannedSteps: number;
  elapsedSeconds: number;
  unitsSeen: number;
  /** The settings the run started with; a resume must use the same. */
  settings: Record<string, unknown>;
  optimizerSteps: Record<string, number>;
  lastLoss: number;
  /** Seconds per step measured when a run in minutes planned its steps; a later --minutes plans from it. */
  secondsPerStep?: number;
}

const KEEP = 2;

function stepName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/**
 * Writes a training checkpoint as checkpoints/step-N/ (model via saveModel, optimizer moments,
 * trainer_state.json), then points `latest` at it. Every file is written atomically and `latest`
 * last, so a run killed at any moment leaves `latest` naming a complete checkpoint. Older
 * checkpoints beyond the last two are removed.
 */
export async function saveTrainingCheckpoint(
  out: string,
  model: Module,
  optimizer: AdamW,
  state: TrainerState,
  saveModel: (dir: string) => Promise<unknown>,
): Promise<string> {
  const name = stepName(state.step);
  const dir = join(out, 'checkpoints', name);
  makeFolder(dir);
  await saveModel(dir);
  const names = new Map<Tensor, string>([...model.stateDict()].map(([n, t]) => [t, n]));
  const { tensors, steps } = optimizer.exportState(names);
  await saveSafetensors(
    join(dir, 'optimizer.safetensors'),
    [...tensors].map(([n, t]) => ({ name: n, shape: t.shape, data: t.toArray() as Float32Array })),
  );
  writeFileAtomic(join(dir, 'trainer_state.json'), JSON.stringify({ ...state, optimizerSteps: steps }, null, 2) + '\n');
  writeFileAtomic(join(out, 'latest'), name + '\n');
  const all = readdirSync(join(out, 'checkpoints'))
    .filter((d) => /^step-\d+$/.test(d))
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - KEEP)))
    rmSync(join(out, 'checkpoints', old), { recursive: true, force: true });
  return dir;
}

/**
 * Removes what writes killed mid-way (a SIGKILL, a power cut) left in a run folder: the temporary
 * files of atomic writes, in the folder, checkpoints/ and each checkpoint, whose process is gone.
 */
export function cleanInterruptedWrites(out: string, log: (line: string) => void): void {
  const checkpoints = join(out, 'checkpoints');
  const steps = existsSync(checkpoints)
    ? readdirSync(checkpoints, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(checkpoints, d.name))
    : [];
  const removed = [out, checkpoints, ...steps].flatMap((folder) =>
    removeStaleTempFiles(folder).map((name) => join(folder, name)),
  );
  if (removed.length > 0)
    log(`removed ${removed.length} temporary file(s) of writes that were interrupted: ${removed.join(', ')}`);
}

/** The folder `latest` names, or null when the run has no complete checkpoint yet. */
export function latestCheckpoint(out: string): string | null {
  const pointer = join(out, 'latest');
  if (!existsSync(pointer)) return null;
  const dir = join(out, 'checkpoints', readFileSync(pointer, 'utf8').trim());
  if (!existsSync(join(dir, 'trainer_state.json'))) {
    throw new MambaError(`${pointer} names ${dir}, which is incomplete; the run folder was changed by hand`);
  }
  return dir;
}

/** The trainer_state.json of a checkpoint folder: step, planned steps, time, settings and last loss. */
export function readTrainerState(dir: string): TrainerState {
  const source = join(dir, 'trainer_state.json');
  return parseTrainerState(parseJson(readFileSync(source, 'utf8'), source), source);
}

const COUNT = range(0, Number.MAX_SAFE_INTEGER);

/** A trainer state, each field typed and bounded; `source` names the file in errors. */
export function parseTrainerState(json: unknown, source: string): TrainerState {
  const f = Fields.of(json, source, 'a trainer state');
  const steps = f.object('optimizerSteps');
  const state: TrainerState = {
    step: f.int('step', COUNT),
    plannedSteps: f.int('plannedSteps', COUNT),
    elapsedSeconds: f.number('elapsedSeconds', range(0, 1e12)),
    unitsSeen: f.number('unitsSeen', COUNT),
    settings: f.object('settings').json,
    optimizerSteps: Object.fromEntries(Object.keys(steps.json).map((name) => [name, steps.int(name, COUNT)])),
    // JSON writes a NaN loss as null.
    lastLoss: f.optional('lastLoss', (k) => f.number(k, range(-1e38, 1e38))) ?? NaN,
  };
  const secondsPerStep = f.optional('secondsPerStep', (k) => f.number(k, above(0, 1e9)));
  if (secondsPerStep !== undefined) state.secondsPerStep = secondsPerStep;
  return state;
}

/** Restores model weights and optimizer moments from a checkpoint folder; returns its trainer state. */
export async function loadTrainingCheckpoint(dir: string, model: Module, optimizer: AdamW): Promise<TrainerState> {
  const state = readTrainerState(dir);
  await loadModuleWeights(model, dir);
  const stored = await openCheckpoint(join(dir, 'optimizer.safetensors'));
  const values = new Map<string, Float32Array | Int32Array>();
  for (const [name, entry] of stored.tensors) values.set(name, await entry.read());
  optimizer.importState(new Map(model.stateDict()), state.optimizerSteps, (name) => {
    const v = values.get(name);
    if (!v) throw new MambaError(`${dir}: the optimizer state has no ${name}`);
    return v;
  });
  return state;
}
