import type { Module } from '../nn/module.js';
import { fromArray } from '../ops/create.js';
import { crossEntropy } from '../ops/softmax.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CountCallback } from '../util/progress.js';
import { ByteBatches } from './byte-batches.js';
import type { TrainTask } from './trainer.js';

/** A language model over the 256 byte values, whatever its architecture. */
export interface ByteLM extends Module {
  forward(ids: Tensor): Tensor;
}

export interface ByteTaskSettings {
  seqLen: number;
  batchSize: number;
  /** Held-out bytes scored at each evaluation. */
  evalBytes: number;
  seed: number;
}

/**
 * The training task of a byte-level language model: cross-entropy of next bytes on seeded random
 * windows of the training text, held-out bits per byte as the evaluation.
 */
export function byteLmTask(
  model: ByteLM,
  data: { train: Uint8Array; validation: Uint8Array },
  settings: ByteTaskSettings,
  hooks: {
    bitsPerByte: (bytes: Uint8Array, onProgress?: CountCallback) => number;
    saveModel: (dir: string) => Promise<unknown>;
    settings: Record<string, unknown>;
  },
): TrainTask {
  const batches = new ByteBatches(data.train, settings.seqLen, settings.batchSize, settings.seed);
  const heldOut = data.validation.subarray(0, settings.evalBytes);
  const shape = [settings.batchSize, settings.seqLen];
  return {
    model,
    loss: (step, micro) => {
      const { input, target } = batches.batch(step, micro);
      return crossEntropy(model.forward(fromArray(input, shape)), fromArray(target, shape));
    },
    unitsPerMicroBatch: settings.batchSize * settings.seqLen,
    unit: 'bytes',
    evaluate: (onProgress) => ({ val_bpb: hooks.bitsPerByte(heldOut, onProgress) }),
    saveModel: hooks.saveModel,
    settings: {
      ...hooks.settings,
      ...settings,
      trainBytes: data.train.length,
      validationBytes: data.validation.length,
    },
  };
}
