import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  describeSpec,
  loadSegmentationData,
  MRICRON_DEFAULT_SPLIT,
  parseDatasetSpec,
  prepareSlice,
  scaledSize,
  axialSlice,
  zscore,
  type SegmentationSample,
} from '../data/segmentation.js';
import type { SegmentationDataSpec, SegmentationModelInfo } from '../models/segmentation-schema.js';
import { volumeShape } from '../formats/nifti.js';
import { fromGray, toGray } from '../formats/rgba.js';
import { readImage, writePng } from '../io/image-files.js';
import { readNifti, writeNifti } from '../io/nifti-files.js';
import { comparisonFigure, mosaic, overlayImage } from '../data/segmentation-figures.js';
import { predictionNifti } from '../io/prediction-nifti.js';
import { loadSegmentationModel } from '../io/registry.js';
import type { SegmentationNetwork } from '../models/unet.js';
import { formatDuration } from '../util/format.js';
import {
  divisorFor,
  evaluateSegmentation,
  predictSamples,
  SEGMENTATION_DEFAULTS,
  SEGMENTATION_TRAINER,
  trainSegmentation,
  type DiceReport,
  type SegmentationArchitecture,
} from '../train/segmentation.js';
import { writeFileAtomic } from '../util/fs.js';
import { MambaError } from '../util/errors.js';
import { writeLineChart } from '../util/plot.js';
import { countProgress } from '../util/progress.js';
import { choiceFlag, existingPath, numberFlag, parse, UsageError } from './args.js';
import { applyRuntime, resolveModelFor, runtimeOptions, runtimeUsage } from './model.js';
import { claimRunFolder } from './run-folder.js';
import { trainUntilStopped } from './stop.js';

const datasetHelp = `  --dataset SPEC            mricron (brain mask: ch2bet > 0), mricron:aal (the 116 AAL regions),
                            mricron:aal-lobes (AAL grouped into 7 lobes), or a folder of pairs
                            images/NAME.png (or .jpg) + masks/NAME.png whose pixel values are the
                            classes (0/255 masks are binary); train/ and test/ subfolders give the
                            split, else the last names are held out; classes.txt may name the classes
  --test-slices A:B         mricron: held-out axial slices [A, B) (default ${MRICRON_DEFAULT_SPLIT.testSlices.join(':')})
  --gap N                   mricron: slices left out on each side of the held-out block (default ${MRICRON_DEFAULT_SPLIT.gap})
  --test-fraction F         folder without train/ and test/: last fraction of sorted names held out (default 0.2)`;

export const trainSegmentationUsage = `usage: mamba-ts train umamba --dataset SPEC --out DIR [--variant bot|enc] [--steps N | --minutes M] [options]
       mamba-ts train unet --dataset SPEC --out DIR [same options]

Trains a 2D segmentation network on slices: U-Mamba_Bot (a Mamba layer at the bottleneck),
U-Mamba_Enc (one after every encoder stage), or a plain U-Net baseline (sized to U-Mamba_Bot's
parameter count unless --features is given). Loss: cross-entropy + soft Dice with deep
supervision; held-out Dice is measured at the native resolution.

${datasetHelp}
  --out DIR                 run folder: checkpoints, metrics.jsonl, training.svg, evaluation.json,
                            held-out.png and the final model (config.json + model.safetensors)
  --variant bot|enc         U-Mamba variant (default bot)
  --steps N | --minutes M   length of the run (default: ${SEGMENTATION_TRAINER.minutes} minutes, planned from the measured speed)
  --resume                  continue the run in --out (or start it when there is none); with
                            --steps N the run ends at step N, with --minutes M a finished run
                            trains about M minutes more (Ctrl-C stops a run with a checkpoint)
  --features A,B,...        channels per stage, finest first (default ${SEGMENTATION_DEFAULTS.features.join(',')})
  --scale X                 slices are resized by X for the network (default ${SEGMENTATION_DEFAULTS.scale}); Dice is
                            measured at the native size
  --batch-size N            slices per step (default ${SEGMENTATION_DEFAULTS.batchSize})
  --lr X                    peak learning rate (default ${SEGMENTATION_TRAINER.lr})
  --warmup N                warmup steps (default ${SEGMENTATION_TRAINER.warmup})
  --eval-every N            steps between held-out evaluations (default ${SEGMENTATION_TRAINER.evalEvery})
  --checkpoint-every N      steps between checkpoints (default ${SEGMENTATION_TRAINER.checkpointEvery})
  --no-augment              no flips, rotations, zooms, shifts or intensity changes
  --no-deep-supervision     train the full-resolution head only
  --seed S                  initialisation, batch order and augmentation (default 0)
  --json                    print the summary as one JSON object
${runtimeUsage}`;

export const evalSegmentationUsage = `usage: mamba-ts eval --model DIR [--dataset SPEC] [--json]

Mean and per-class Dice of a segmentation model (model_type umamba or unet) on held-out slices,
counted over all their pixels at the native resolution. Without --dataset (or with plain
'mricron'), the model's own data, task and split are used.

${datasetHelp}
  --json                    print one JSON object
${runtimeUsage}`;

export const segmentUsage = `usage: mamba-ts segment --model DIR --input FILE --out FILE [--overlay PNG] [--json]

Segments an image with a trained U-Mamba or U-Net.

  --model DIR               a folder written by 'mamba-ts train umamba' or 'train unet'
  --input FILE              a NIfTI-1 volume (.nii or .nii.gz; every slice along its third axis) or
                            a PNG/JPEG image
  --out FILE                for a volume: a .nii/.nii.gz of labels on the input's grid (same dim,
                            pixdim, qform and sform); for an image: a .png mask (class values, or
                            0/255 for a two-class model)
  --overlay PNG             also write the image in gray with the predicted classes coloured
                            (for a volume, a mosaic of up to 16 slices)
  --json                    print a JSON summary
${runtimeUsage}`;

const splitOptions = {
  dataset: { type: 'string' },
  'test-slices': { type: 'string' },
  gap: { type: 'string' },
  'test-fraction': { type: 'string' },
} as const;

function splitFlags(
  values: { 'test-slices'?: string; gap?: string; 'test-fraction'?: string },
  usage: string,
): { testSlices?: [number, number]; gap?: number; testFraction?: number } {
  const out: { testSlices?: [number, number]; gap?: number; testFraction?: number } = {};
  if (values['test-slices'] !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(values['test-slices']);
    if (!m)
      throw new UsageError(
        `--test-slices must be START:END (axial slice numbers), got '${values['test-slices']}'`,
        usage,
      );
    out.testSlices = [Number(m[1]), Number(m[2])];
  }
  if (values.gap !== undefined) out.gap = numberFlag(values.gap, 'gap', usage, 0, { integer: true, min: 0 });
  if (values['test-fraction'] !== undefined)
    out.testFraction = numberFlag(values['test-fraction'], 'test-fraction', usage, 0.2, { min: 0 });
  return out;
}

function dataSpec(value: string, split: ReturnType<typeof splitFlags>, usage: string): SegmentationDataSpec {
  try {
    return parseDatasetSpec(value, split);
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

function formatDice(d: number | null): string {
  return d === null ? '-' : d.toFixed(4);
}

function perClassJson(report: DiceReport, classNames: readonly string[]): Record<string, number | null> {
  return Object.fromEntries(classNames.map((name, k) => [name, report.perClass[k] ?? null]));
}

function diceLines(report: DiceReport, classNames: readonly string[]): string {
  const width = Math.max(...classNames.map((n) => n.length));
  return classNames.map((name, k) => `  ${name.padEnd(width)}  ${formatDice(report.perClass[k] ?? null)}`).join('\n');
}

export async function trainSegmentationCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind !== 'umamba' && kind !== 'unet')
    throw new UsageError(
      kind
        ? `unknown segmentation model '${kind}'; available: umamba, unet`
        : 'name the model to train: umamba or unet',
      trainSegmentationUsage,
    );
  const usage = trainSegmentationUsage;
  const { values } = parse(
    rest,
    {
      options: {
        ...splitOptions,
        out: { type: 'string' },
        variant: { type: 'string' },
        steps: { type: 'string' },
        minutes: { type: 'string' },
        resume: { type: 'boolean' },
        features: { type: 'string' },
        scale: { type: 'string' },
        'batch-size': { type: 'string' },
        lr: { type: 'string' },
        warmup: { type: 'string' },
        'eval-every': { type: 'string' },
        'checkpoint-every': { type: 'string' },
        'no-augment': { type: 'boolean' },
        'no-deep-supervision': { type: 'boolean' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        ...runtimeOptions,
      },
    },
    usage,
  );
  if (!values.dataset)
    throw new UsageError(
      '--dataset is required: mricron, mricron:aal, mricron:aal-lobes or a folder of PNG pairs',
      usage,
    );
  if (!values.out)
    throw new UsageError('--out is required: the folder for checkpoints, metrics and the final model', usage);
  if (values.steps !== undefined && values.minutes !== undefined)
    throw new UsageError('give --steps or --minutes, not both', usage);
  if (kind === 'unet' && values.variant !== undefined) throw new UsageError('--variant applies to umamba only', usage);
  const variant = choiceFlag(values.variant, 'variant', ['bot', 'enc'], usage, 'bot');
  const int = (name: string, fallback: number) =>
    numberFlag(values[name as keyof typeof values] as string | undefined, name, usage, fallback, {
      integer: true,
      min: 1,
    });
  const features = values.features === undefined ? null : parseFeatures(values.features, usage);
  const architecture: SegmentationArchitecture =
    kind === 'unet' ? 'unet' : variant === 'bot' ? 'umamba-bot' : 'umamba-enc';
  const settings = {
    architecture,
    features: kind === 'umamba' && features ? features : SEGMENTATION_DEFAULTS.features,
    unetFeatures: kind === 'unet' ? features : null,
    batchSize: int('batch-size', SEGMENTATION_DEFAULTS.batchSize),
    augment: values['no-augment'] ? null : SEGMENTATION_DEFAULTS.augment,
    deepSupervision: !values['no-deep-supervision'],
    seed: numberFlag(values.seed, 'seed', usage, SEGMENTATION_DEFAULTS.seed, { integer: true }),
  };
  const steps = values.steps !== undefined ? int('steps', 1) : undefined;
  const resume = values.resume === true && existsSync(join(values.out, 'latest'));
  // A resume without a length keeps the run's own.
  const minutes =
    values.minutes !== undefined
      ? numberFlag(values.minutes, 'minutes', usage, 1, { min: 0.01 })
      : steps === undefined && !resume
        ? SEGMENTATION_TRAINER.minutes
        : undefined;
  const trainer = {
    ...SEGMENTATION_TRAINER,
    steps,
    minutes,
    lr: numberFlag(values.lr, 'lr', usage, SEGMENTATION_TRAINER.lr, { min: 0 }),
    warmup: numberFlag(values.warmup, 'warmup', usage, SEGMENTATION_TRAINER.warmup, { integer: true, min: 0 }),
    evalEvery: int('eval-every', SEGMENTATION_TRAINER.evalEvery),
    checkpointEvery: int('checkpoint-every', SEGMENTATION_TRAINER.checkpointEvery),
  };
  const scale = numberFlag(values.scale, 'scale', usage, SEGMENTATION_DEFAULTS.scale, { min: 0.05 });
  const spec = dataSpec(values.dataset, splitFlags(values, usage), usage);
  const lock = claimRunFolder(values.out, values.resume === true, usage);
  await applyRuntime(values, usage);

  const log = (line: string) => process.stderr.write(line + '\n');
  const divisor = divisorFor(settings.unetFeatures ?? settings.features);
  const data = loadSegmentationData(spec, { scale, divisor }, log);
  log(
    `${describeSpec(spec)}: ${data.classNames.length} classes, ${data.train.length} training and ${data.test.length} held-out slices, ${data.height}x${data.width} for the network`,
  );
  const out = values.out;
  const result = await trainUntilStopped((signal) =>
    trainSegmentation(data, settings, trainer, { out, resume, log, signal, lock }),
  );
  const { evaluation } = result;
  writeLineChart(
    join(values.out, 'training.svg'),
    [
      { name: 'training loss (CE + 1 - Dice)', points: result.history.map((r) => [r.step, r.loss] as const) },
      {
        name: 'held-out mean Dice',
        points: result.history.filter((r) => r['val_dice'] !== undefined).map((r) => [r.step, r['val_dice']!] as const),
      },
    ],
    { title: `${architecture} on ${describeSpec(spec)}`, xLabel: 'step', yLabel: 'loss / Dice' },
  );
  const shown = evenlySpaced(data.test.length, 4).map((i) => data.test[i]!);
  const shownPredictions = evenlySpaced(data.test.length, 4).map((i) => evaluation.predictions[i]!);
  writePng(
    join(values.out, 'held-out.png'),
    comparisonFigure(shown, [shownPredictions], data.classNames.length, data.displayFlipRows),
  );
  const summary = {
    model: architecture,
    dataset: describeSpec(spec),
    parameters: result.parameters,
    steps: result.steps,
    training_seconds: result.elapsedSeconds,
    slices_per_s: result.unitsSeen / Math.max(result.elapsedSeconds, 1e-9),
    final_train_loss: result.finalLoss,
    test_slices: data.test.length,
    mean_dice: evaluation.meanDice,
    per_class_dice: perClassJson(evaluation, data.classNames),
    out: values.out,
  };
  writeFileAtomic(join(values.out, 'evaluation.json'), JSON.stringify(summary, null, 2) + '\n');
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(
    [
      `trained ${architecture} (${result.parameters.toLocaleString('en-US')} parameters) for ${result.steps} steps in ${formatDuration(result.elapsedSeconds)} (${summary.slices_per_s.toFixed(1)} slices/s)`,
      `held-out mean Dice ${formatDice(evaluation.meanDice)} over ${data.test.length} slices of ${describeSpec(spec)}`,
      ...(data.classNames.length <= 12 ? [diceLines(evaluation, data.classNames)] : []),
      `model, checkpoints, metrics.jsonl, training.svg, held-out.png and evaluation.json in ${values.out}`,
      '',
    ].join('\n'),
  );
}

function parseFeatures(text: string, usage: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const features = parts.map(Number);
  if (features.length < 2 || features.some((f, i) => !Number.isInteger(f) || f < 1 || !/^\d+$/.test(parts[i]!))) {
    throw new UsageError(
      `--features must list two or more positive channel counts, e.g. 16,32,64,128,256; got '${text}'`,
      usage,
    );
  }
  return features;
}

/** Up to `count` indices spread evenly over 0..n-1. */
function evenlySpaced(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round(((i + 0.5) * n) / count - 0.5));
}

async function openSegmentationModel(
  spec: string | undefined,
  usage: string,
): Promise<{ net: SegmentationNetwork; info: SegmentationModelInfo }> {
  const { folder } = await resolveModelFor(spec, 'segmentation', usage);
  const { model, info } = await loadSegmentationModel(folder);
  return { net: model, info };
}

export async function evalSegmentationCommand(argv: string[]): Promise<void> {
  const usage = evalSegmentationUsage;
  const { values } = parse(
    argv,
    { options: { model: { type: 'string' }, ...splitOptions, json: { type: 'boolean' }, ...runtimeOptions } },
    usage,
  );
  const split = splitFlags(values, usage);
  const given = values.dataset === undefined ? null : dataSpec(values.dataset, split, usage);
  await applyRuntime(values, usage);
  const { net, info } = await openSegmentationModel(values.model, usage);
  const own = info.data;
  let spec: SegmentationDataSpec;
  if (given === null || (values.dataset === 'mricron' && own.kind === 'mricron')) {
    spec =
      own.kind === 'mricron'
        ? {
            ...own,
            ...(split.testSlices && { testSlices: split.testSlices }),
            ...(split.gap !== undefined && { gap: split.gap }),
          }
        : { ...own, ...(split.testFraction !== undefined && { testFraction: split.testFraction }) };
  } else {
    spec = given;
  }
  const started = performance.now();
  const data = loadSegmentationData(spec, info.preprocessing);
  if (data.classNames.length !== net.classes) {
    throw new MambaError(
      `${describeSpec(spec)} has ${data.classNames.length} classes, the model predicts ${net.classes}; evaluate it on data of the task it was trained for (${describeSpec(own)})`,
    );
  }
  const report = evaluateSegmentation(net, data, data.test, countProgress('scoring the held-out slices', 'slices'));
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    dataset: describeSpec(spec),
    test_slices: data.test.length,
    mean_dice: report.meanDice,
    per_class_dice: perClassJson(report, info.classNames),
    seconds,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(
    `${data.test.length} held-out slices of ${describeSpec(spec)}: mean Dice ${formatDice(report.meanDice)} (${seconds.toFixed(1)} s)\n${diceLines(report, info.classNames)}\n`,
  );
}

export async function segmentCommand(argv: string[]): Promise<void> {
  const usage = segmentUsage;
  const { values } = parse(
    argv,
    {
      options: {
        model: { type: 'string' },
        input: { type: 'string' },
        out: { type: 'string' },
        overlay: { type: 'string' },
        json: { type: 'boolean' },
        ...runtimeOptions,
      },
    },
    usage,
  );
  if (!values.input) throw new UsageError('--input is required: a .nii/.nii.gz volume or a PNG/JPEG image', usage);
  if (!values.out) throw new UsageError('--out is required: where to write the predicted labels', usage);
  const volume = /\.nii(\.gz)?$/i.test(values.input);
  if (volume && !/\.nii(\.gz)?$/i.test(values.out))
    throw new UsageError('for a NIfTI input, --out must end in .nii or .nii.gz', usage);
  if (!volume && !/\.png$/i.test(values.out)) throw new UsageError('for an image input, --out must end in .png', usage);
  if (values.overlay !== undefined && !/\.png$/i.test(values.overlay))
    throw new UsageError('--overlay must end in .png', usage);
  existingPath(values.input, '--input', usage, 'file');
  await applyRuntime(values, usage);
  const { net, info } = await openSegmentationModel(values.model, usage);
  const started = performance.now();
  const classes = net.classes;
  const counts = new Array<number>(classes).fill(0);
  if (volume) {
    const image = readNifti(values.input);
    const [nx, ny, nz] = volumeShape(image, values.input);
    const { values: normalised, background } = zscore(
      image.data,
      info.preprocessing.normalisation === 'zscore-nonzero',
    );
    const size = scaledSize(ny, nx, info.preprocessing);
    const canvas = { height: size.canvasHeight, width: size.canvasWidth };
    const samples = Array.from({ length: nz }, (_, z) =>
      prepareSlice(`z=${z}`, axialSlice(normalised, nx, ny, z), null, ny, nx, background, info.preprocessing, canvas),
    );
    const predicted = predictSamples(
      net,
      samples,
      canvas.height,
      canvas.width,
      undefined,
      countProgress(`segmenting ${values.input}`, 'slices'),
    );
    const labels = new Uint8Array(nx * ny * nz);
    predicted.forEach((p, z) => labels.set(p, z * nx * ny));
    for (const v of labels) counts[v]!++;
    writeNifti(values.out, predictionNifti(image, labels, classes));
    if (values.overlay) {
      const withLabels = predicted.map((p, z) => ({ z, p })).filter(({ p }) => p.some((v) => v !== 0));
      const chosen = (withLabels.length > 0 ? withLabels : predicted.map((p, z) => ({ z, p }))).filter((_, i, all) =>
        evenlySpaced(all.length, 16).includes(i),
      );
      writePng(
        values.overlay,
        mosaic(
          chosen.map(({ z, p }) => overlayImage(samples[z]!.nativeImage, p, nx, ny, classes, { flipRows: true })),
          4,
        ),
      );
    }
  } else {
    const img = readImage(values.input);
    const { values: normalised, background } = zscore(
      toGray(img),
      info.preprocessing.normalisation === 'zscore-nonzero',
    );
    const size = scaledSize(img.height, img.width, info.preprocessing);
    const sample: SegmentationSample = prepareSlice(
      values.input,
      normalised,
      null,
      img.height,
      img.width,
      background,
      info.preprocessing,
      { height: size.canvasHeight, width: size.canvasWidth },
    );
    const [labels] = predictSamples(net, [sample], size.canvasHeight, size.canvasWidth) as [Uint8Array];
    for (const v of labels) counts[v]!++;
    writePng(values.out, fromGray(classes === 2 ? labels.map((v) => v * 255) : labels, img.width, img.height));
    if (values.overlay) writePng(values.overlay, overlayImage(normalised, labels, img.width, img.height, classes));
  }
  const seconds = (performance.now() - started) / 1000;
  const pixels = Object.fromEntries(info.classNames.map((name, k) => [name, counts[k]!]));
  if (values.json) {
    process.stdout.write(
      JSON.stringify({
        input: values.input,
        out: values.out,
        overlay: values.overlay ?? null,
        pixels_per_class: pixels,
        seconds,
      }) + '\n',
    );
    return;
  }
  const found = info.classNames.map((name, k) => ({ name, n: counts[k]! })).filter((c, k) => k > 0 && c.n > 0);
  process.stdout.write(
    `segmented ${values.input} in ${seconds.toFixed(1)} s: ${found.length} of ${classes - 1} classes found` +
      (found.length > 0 && found.length <= 12
        ? ` (${found.map((c) => `${c.name} ${c.n} ${volume ? 'voxels' : 'pixels'}`).join(', ')})`
        : '') +
      `\nlabels in ${values.out}${values.overlay ? `, overlay in ${values.overlay}` : ''}\n`,
  );
}
