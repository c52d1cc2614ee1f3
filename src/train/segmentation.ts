import {
  assembleBatch,
  DEFAULT_AUGMENT,
  describeSpec,
  type AugmentOptions,
  type Frame,
  type SegmentationData,
  type SegmentationSample,
} from '../data/segmentation.js';
import { resizeGray } from '../formats/rgba.js';
import { saveSegmentationModel } from '../io/model-types/segmentation.js';
import {
  buildSegmentationNetwork,
  type SegmentationModelInfo,
  type SegmentationNetworkSpec,
} from '../models/segmentation-schema.js';
import { umambaConfig, type UMambaVariant } from '../models/umamba.js';
import { deepSupervisionWeights, unetConfigForParameters, type SegmentationNetwork } from '../models/unet.js';
import { withoutInitialisation } from '../nn/init.js';
import { fromArray, zeros } from '../ops/create.js';
import { add, div, mul, sub } from '../ops/elementwise.js';
import { indexAdd, gather } from '../ops/indexing.js';
import { mean, sum } from '../ops/reduce.js';
import { crossEntropy, softmax } from '../ops/softmax.js';
import { permute, reshape, slice } from '../ops/view.js';
import { noGrad } from '../tensor/autograd.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { countProgress, type CountCallback } from '../util/progress.js';
import { train, type RunOptions, type TrainerConfig, type TrainResult, type TrainTask } from './trainer.js';

/** Hard-label counts per class, pooled over every pixel scored: Dice = 2 tp / (2 tp + fp + fn). */
export interface DiceCounts {
  tp: number[];
  fp: number[];
  fn: number[];
}

export interface DiceReport {
  /** Dice of every class (background first), or null where the class is in neither prediction nor truth. */
  perClass: (number | null)[];
  /** Mean over the foreground classes that have a Dice; null when none has. */
  meanDice: number | null;
}

export function emptyCounts(classes: number): DiceCounts {
  return {
    tp: new Array<number>(classes).fill(0),
    fp: new Array<number>(classes).fill(0),
    fn: new Array<number>(classes).fill(0),
  };
}

/** Adds one prediction/truth pair (label maps of one size) to the counts. */
export function addCounts(counts: DiceCounts, predicted: ArrayLike<number>, truth: ArrayLike<number>): void {
  if (predicted.length !== truth.length)
    throw new MambaError(`Dice: a prediction of ${predicted.length} pixels against a truth of ${truth.length}`);
  const classes = counts.tp.length;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i]!;
    const t = truth[i]!;
    if (!(p >= 0 && p < classes && t >= 0 && t < classes))
      throw new MambaError(
        `Dice: label ${p >= 0 && p < classes ? t : p} at pixel ${i} is not a class in 0..${classes - 1}`,
      );
    if (p === t) counts.tp[p]!++;
    else {
      counts.fp[p]!++;
      counts.fn[t]!++;
    }
  }
}

export function diceReport(counts: DiceCounts): DiceReport {
  const perClass = counts.tp.map((tp, k) => {
    const denominator = 2 * tp + counts.fp[k]! + counts.fn[k]!;
    return denominator === 0 ? null : (2 * tp) / denominator;
  });
  const scored = perClass.slice(1).filter((d): d is number => d !== null);
  return { perClass, meanDice: scored.length > 0 ? scored.reduce((a, b) => a + b, 0) / scored.length : null };
}

/** Per-class Dice of one predicted label map against the truth. */
export function diceScores(predicted: ArrayLike<number>, truth: ArrayLike<number>, classes: number): DiceReport {
  const counts = emptyCounts(classes);
  addCounts(counts, predicted, truth);
  return diceReport(counts);
}

/**
 * nnU-Net's DC_and_CE_loss: cross-entropy plus (1 - soft Dice), the soft Dice taken per
 * foreground class over the whole batch ("batch Dice", smooth 1e-5) and averaged. logits
 * [B, K, H, W], targets the B*H*W classes.
 */
export function diceCeLoss(logits: Tensor, targets: Int32Array, smooth = 1e-5): Tensor {
  const [b, k, h, w] = logits.shape as [number, number, number, number];
  const n = b * h * w;
  if (targets.length !== n)
    throw new MambaError(`diceCeLoss: ${targets.length} targets for logits [${logits.shape.join(', ')}]`);
  return scope(() => {
    const like = { backend: logits.backend };
    const rows = reshape(permute(logits, [0, 2, 3, 1]), [n, k]);
    const t = fromArray(targets, [n], like);
    const ce = crossEntropy(rows, t);
    const probs = softmax(rows, -1);
    const truthCounts = new Float32Array(k);
    for (const c of targets) truthCounts[c]!++;
    const picked = reshape(gather(probs, 1, reshape(t, [n, 1])), [n]);
    const intersection = indexAdd(zeros([k], { ...like, dtype: logits.dtype }), 0, t, picked);
    const denominator = add(add(sum(probs, 0), fromArray(truthCounts, [k], { ...like, dtype: logits.dtype })), smooth);
    const dice = div(add(mul(intersection, 2), smooth), denominator);
    return add(ce, sub(1, mean(slice(dice, 0, 1))));
  });
}

/** Targets at 1/factor resolution: the pixel nearest each output pixel's centre (nnU-Net downsamples masks with order 0). */
export function downsampleTargets(
  targets: Int32Array,
  batch: number,
  height: number,
  width: number,
  factor: number,
): Int32Array {
  if (factor === 1) return targets;
  const h = height / factor;
  const w = width / factor;
  const out = new Int32Array(batch * h * w);
  const off = Math.floor(factor / 2);
  for (let b = 0; b < batch; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        out[(b * h + y) * w + x] = targets[(b * height + y * factor + off) * width + x * factor + off]!;
  return out;
}

/** The deep-supervision loss: diceCeLoss of every head against targets at its resolution, weighted as nnU-Net weights them. */
export function deepSupervisionLoss(
  outputs: Tensor[],
  targets: Int32Array,
  batch: number,
  height: number,
  width: number,
): Tensor {
  const weights = deepSupervisionWeights(outputs.length);
  return scope(() => {
    let total: Tensor | null = null;
    outputs.forEach((o, i) => {
      if (weights[i] === 0) return;
      const factor = height / o.shape[2]!;
      const term = mul(diceCeLoss(o, downsampleTargets(targets, batch, height, width, factor)), weights[i]!);
      total = total ? add(total, term) : term;
    });
    return total!;
  });
}

/**
 * The class of every native pixel from one sample's logits [K, H, W] on the canvas: each class's
 * map cropped to the scaled slice and resized (bilinear) to the native size, then the argmax.
 */
export function logitsToLabels(
  logits: Float32Array,
  classes: number,
  height: number,
  width: number,
  frame: Frame,
): Uint8Array {
  const { scaledHeight: sh, scaledWidth: sw, top, left } = frame;
  const pixels = frame.height * frame.width;
  const best = new Float32Array(pixels).fill(-Infinity);
  const labels = new Uint8Array(pixels);
  const crop = new Float32Array(sh * sw);
  for (let k = 0; k < classes; k++) {
    const plane = logits.subarray(k * height * width, (k + 1) * height * width);
    for (let y = 0; y < sh; y++)
      crop.set(plane.subarray((top + y) * width + left, (top + y) * width + left + sw), y * sw);
    const native = resizeGray(crop, sw, sh, frame.width, frame.height);
    for (let p = 0; p < pixels; p++) {
      if (native[p]! > best[p]!) {
        best[p] = native[p]!;
        labels[p] = k;
      }
    }
  }
  return labels;
}

/** Predicted classes at native resolution for samples on a height x width canvas, `batch` at a time. */
export function predictSamples(
  net: SegmentationNetwork,
  samples: readonly SegmentationSample[],
  height: number,
  width: number,
  batch = 8,
  onProgress?: CountCallback,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const plane = height * width;
  for (let start = 0; start < samples.length; start += batch) {
    const chunk = samples.slice(start, start + batch);
    const images = new Float32Array(chunk.length * plane);
    chunk.forEach((s, i) => images.set(s.image, i * plane));
    const logits = noGrad(() =>
      scope(() => net.forward(fromArray(images, [chunk.length, 1, height, width])).toArray() as Float32Array),
    );
    chunk.forEach((s, i) =>
      out.push(
        logitsToLabels(
          logits.subarray(i * net.classes * plane, (i + 1) * net.classes * plane),
          net.classes,
          height,
          width,
          s.frame,
        ),
      ),
    );
    onProgress?.(start + chunk.length, samples.length);
  }
  return out;
}

/** Dice of the network on the held-out samples, counts pooled over all their native pixels (a 3D Dice over the held-out slab of a volume). */
export function evaluateSegmentation(
  net: SegmentationNetwork,
  data: SegmentationData,
  samples: readonly SegmentationSample[] = data.test,
  onProgress?: CountCallback,
): DiceReport & { counts: DiceCounts; predictions: Uint8Array[] } {
  const predictions = predictSamples(net, samples, data.height, data.width, undefined, onProgress);
  const counts = emptyCounts(net.classes);
  samples.forEach((s, i) => addCounts(counts, predictions[i]!, s.native));
  return { ...diceReport(counts), counts, predictions };
}

export type SegmentationArchitecture = 'umamba-bot' | 'umamba-enc' | 'unet';

export interface SegmentationSettings {
  architecture: SegmentationArchitecture;
  /** Channels per stage of U-Mamba; the U-Net gets channels matching U-Mamba_Bot's parameter count unless `unetFeatures` is set. */
  features: number[];
  unetFeatures: number[] | null;
  /** Slices per step. */
  batchSize: number;
  augment: AugmentOptions | null;
  deepSupervision: boolean;
  seed: number;
}

/** A recipe that learns the brain mask to a held-out Dice above 0.95 within two minutes on two cores. */
export const SEGMENTATION_DEFAULTS: Omit<SegmentationSettings, 'architecture'> & { scale: number } = {
  features: [16, 32, 64, 128, 256],
  unetFeatures: null,
  batchSize: 8,
  augment: DEFAULT_AUGMENT,
  deepSupervision: true,
  seed: 0,
  scale: 0.5,
};

/**
 * The generic trainer's AdamW with warmup and cosine decay, chosen for a budget of minutes, where
 * nnU-Net runs SGD (momentum 0.99, poly decay) for 1000 epochs. Clipping at 12 is nnU-Net's.
 * Whole slices replace nnU-Net's patches, and there is no test-time mirroring (U-Mamba predicts
 * with --disable_tta too).
 */
export const SEGMENTATION_TRAINER: TrainerConfig = {
  minutes: 4,
  lr: 5e-3,
  warmup: 20,
  minLrRatio: 0.02,
  weightDecay: 1e-4,
  betas: [0.9, 0.999],
  clip: 12,
  accumulate: 1,
  evalEvery: 100,
  checkpointEvery: 100,
  logEvery: 10,
};

/** The network settings of an architecture for a number of classes; the U-Net is sized to U-Mamba_Bot's parameter count. */
export function networkSpec(
  settings: Pick<SegmentationSettings, 'architecture' | 'features' | 'unetFeatures' | 'deepSupervision'>,
  classes: number,
): SegmentationNetworkSpec {
  const { architecture, features, deepSupervision } = settings;
  if (architecture !== 'unet') {
    const variant: UMambaVariant = architecture === 'umamba-bot' ? 'bot' : 'enc';
    return { type: 'umamba', config: umambaConfig({ classes, features, variant, deepSupervision }) };
  }
  const base = { inChannels: 1, classes, convsPerStage: 2, deepSupervision };
  if (settings.unetFeatures) return { type: 'unet', config: { ...base, features: [...settings.unetFeatures] } };
  const bot = withoutInitialisation(() =>
    buildSegmentationNetwork(networkSpec({ ...settings, architecture: 'umamba-bot' }, classes)),
  );
  const target = bot.numParameters();
  bot.dispose();
  return { type: 'unet', config: unetConfigForParameters(target, { ...base, stages: features.length }) };
}

/** The trainer's task: Dice + CE with deep supervision on seeded, augmented batches of training slices; held-out mean Dice as the evaluation. */
export function segmentationTask(
  net: SegmentationNetwork,
  data: SegmentationData,
  settings: SegmentationSettings,
  hooks: { saveModel: (dir: string) => Promise<unknown>; settings: Record<string, unknown> },
): TrainTask {
  const { batchSize: batch, seed } = settings;
  const { height, width } = data;
  return {
    model: net,
    loss: (step, micro) => {
      const rng = new Generator((seed * 0x9e3779b1 + step * 4099 + micro * 65537) % 4294967296);
      const picks = Array.from({ length: batch }, () => data.train[rng.int(data.train.length)]!);
      const { images, labels } = assembleBatch(data, picks, rng, settings.augment);
      return deepSupervisionLoss(
        net.forwardAll(fromArray(images, [batch, 1, height, width])),
        labels,
        batch,
        height,
        width,
      );
    },
    unitsPerMicroBatch: batch,
    unit: 'slices',
    evaluate: (onProgress) => ({ val_dice: evaluateSegmentation(net, data, data.test, onProgress).meanDice ?? NaN }),
    saveModel: hooks.saveModel,
    settings: {
      ...hooks.settings,
      ...settings,
      data: describeSpec(data.spec),
      trainSlices: data.train.length,
      testSlices: data.test.length,
    },
  };
}

export interface SegmentationResult extends TrainResult {
  net: SegmentationNetwork;
  info: SegmentationModelInfo;
  parameters: number;
  evaluation: DiceReport & { counts: DiceCounts; predictions: Uint8Array[] };
}

/** Trains one network on the data's training slices and scores it on the held-out ones. */
export async function trainSegmentation(
  data: SegmentationData,
  settings: SegmentationSettings,
  trainer: TrainerConfig,
  run: RunOptions,
): Promise<SegmentationResult> {
  const spec = networkSpec(settings, data.classNames.length);
  const net = buildSegmentationNetwork(spec, { generator: new Generator(settings.seed) });
  if (net.divisor !== data.preprocessing.divisor)
    throw new MambaError(
      `the data was padded for a divisor of ${data.preprocessing.divisor}, the network needs ${net.divisor}`,
    );
  const info: SegmentationModelInfo = {
    network: spec,
    classNames: data.classNames,
    preprocessing: data.preprocessing,
    data: data.spec,
  };
  const task = segmentationTask(net, data, settings, {
    saveModel: (dir) => saveSegmentationModel(net, info, dir),
    settings: { network: spec },
  });
  const result = await train(task, trainer, run);
  net.eval();
  const evaluation = evaluateSegmentation(
    net,
    data,
    data.test,
    countProgress('scoring the held-out slices', 'slices', run.progress),
  );
  return { ...result, net, info, parameters: net.numParameters(), evaluation };
}

/** The divisor a U-Mamba or U-Net with this many stages needs. */
export function divisorFor(features: readonly number[]): number {
  return 2 ** (features.length - 1);
}
