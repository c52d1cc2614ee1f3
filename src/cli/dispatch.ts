import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelTask } from '../load/model-types/types.js';
import { modelTaskOf } from '../io/registry.js';
import { evaluate, evalUsage } from './eval.js';
import {
  evalSegmentationCommand,
  evalSegmentationUsage,
  trainSegmentationCommand,
  trainSegmentationUsage,
} from './segmentation.js';
import { trainCommand, trainUsage } from './train.js';
import { evalVisionCommand, trainVisionCommand, visionEvalUsage, visionTrainUsage } from './vision.js';
import { UsageError } from './args.js';
import { didYouMean } from './suggest.js';

type Command = (argv: string[]) => Promise<void>;

const TRAINERS: Record<string, { run: Command; usage: string }> = {
  mambabyte: { run: trainCommand, usage: trainUsage },
  'moe-mamba': { run: trainCommand, usage: trainUsage },
  vim: { run: trainVisionCommand, usage: visionTrainUsage },
  vit: { run: trainVisionCommand, usage: visionTrainUsage },
  umamba: { run: trainSegmentationCommand, usage: trainSegmentationUsage },
  unet: { run: trainSegmentationCommand, usage: trainSegmentationUsage },
};

const TRAINABLE = Object.keys(TRAINERS).join(', ');

const trainModels = `usage: mamba-ts train <model> --out DIR [options]

models: ${TRAINABLE}; 'mamba-ts train <model> --help' gives that model's options.`;

export const anyTrainUsage = `${trainModels}

${trainUsage}

${visionTrainUsage}

${trainSegmentationUsage}`;

export const anyEvalUsage = `${evalUsage}

${visionEvalUsage}

${evalSegmentationUsage}`;

/** `mamba-ts train <model> ...`: the first argument picks the trainer. */
export function train(argv: string[]): Promise<void> {
  const kind = argv[0];
  const trainer = kind !== undefined && Object.hasOwn(TRAINERS, kind) ? TRAINERS[kind] : undefined;
  if (!trainer)
    throw new UsageError(
      kind
        ? `unknown model '${kind}' to train; available: ${TRAINABLE}${didYouMean(kind, Object.keys(TRAINERS))}`
        : `name the model to train: ${TRAINABLE}`,
      trainModels,
    );
  return trainer.run(argv);
}

/** The usage `mamba-ts train <model> --help` prints. */
export function trainHelp(argv: readonly string[]): string {
  const kind = argv[0] ?? '';
  return Object.hasOwn(TRAINERS, kind) ? TRAINERS[kind]!.usage : anyTrainUsage;
}

/** What the model in the local folder that --model names does (from its config.json), if it names one. */
export function modelTaskOfArgs(argv: readonly string[]): ModelTask | undefined {
  const i = argv.indexOf('--model');
  const folder = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--model='))?.slice('--model='.length);
  if (folder === undefined || !existsSync(join(folder, 'config.json'))) return undefined;
  return modelTaskOf(folder);
}

const hasFlag = (argv: readonly string[], flag: string) => argv.some((a) => a === flag || a.startsWith(`${flag}=`));

/** The flags only a language model's evaluation takes. */
const TEXT_EVAL_FLAGS = ['--text-file', '--ids-file', '--chunk'];

/** `mamba-ts eval ...`: each task has its own evaluation (the model-type registry says which a folder holds). */
export function evalAny(argv: string[]): Promise<void> {
  const task = modelTaskOfArgs(argv);
  if (task !== undefined && task !== 'language-model') {
    const textFlag = TEXT_EVAL_FLAGS.find((flag) => hasFlag(argv, flag));
    if (textFlag !== undefined)
      throw new UsageError(
        `${textFlag} scores a language model, and --model holds ${task === 'image-classifier' ? 'an image classifier: score it with --dataset SPEC' : 'a segmentation network: score it on its own data, or with --dataset SPEC'}`,
        task === 'image-classifier' ? visionEvalUsage : evalSegmentationUsage,
      );
    return task === 'image-classifier' ? evalVisionCommand(argv) : evalSegmentationCommand(argv);
  }
  if (hasFlag(argv, '--dataset')) {
    throw new UsageError(
      '--dataset scores an image classifier or a segmentation network: --model must name a folder written by mamba-ts train vim, vit, umamba or unet',
      anyEvalUsage,
    );
  }
  return evaluate(argv);
}
