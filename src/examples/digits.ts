import { loadDigits, splitImages, type LabelledImages } from '../data/digits.js';
import { Activation, Linear, Sequential } from '../nn/index.js';
import { fromArray } from '../ops/create.js';
import { argmax } from '../ops/reduce.js';
import { crossEntropy } from '../ops/softmax.js';
import { backward, noGrad } from '../tensor/autograd.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import { AdamW } from '../train/optim.js';

export interface DigitsOptions {
  epochs?: number;
  hidden?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  onEpoch?: (epoch: number, loss: number, testAccuracy: number) => void;
}

export interface DigitsResult {
  trainCount: number;
  testCount: number;
  parameters: number;
  finalLoss: number;
  testAccuracy: number;
  seconds: number;
}

function batchOf(data: LabelledImages, ids: ArrayLike<number>) {
  const pixels = data.height * data.width;
  const x = new Float32Array(ids.length * pixels);
  const y = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    for (let p = 0; p < pixels; p++) x[i * pixels + p] = data.images[id * pixels + p]! / 16;
    y[i] = data.labels[id]!;
  }
  return { x: fromArray(x, [ids.length, pixels]), y: fromArray(y, [ids.length]) };
}

function accuracy(model: Sequential, data: LabelledImages): number {
  return noGrad(() =>
    scope(() => {
      const { x, y } = batchOf(
        data,
        Array.from({ length: data.count }, (_, i) => i),
      );
      const predicted = Array.from(argmax(model.forward(x), 1).toArray());
      const labels = y.toArray();
      return predicted.reduce((n, p, i) => n + (p === labels[i] ? 1 : 0), 0) / data.count;
    }),
  );
}

/**
 * Trains a two-layer perceptron on the sklearn 8x8 digits (80/20 split) with AdamW and returns
 * its held-out accuracy: a small end-to-end run of tensors, autograd, modules and optimizer.
 */
export function trainDigitsClassifier(options: DigitsOptions = {}): DigitsResult {
  const { epochs = 15, hidden = 128, batchSize = 32, lr = 3e-3, seed = 0 } = options;
  const start = performance.now();
  const { train, test } = splitImages(loadDigits(), 0.2, seed);
  const generator = new Generator(seed);
  const model = new Sequential(
    new Linear(64, hidden, { generator }),
    new Activation('relu'),
    new Linear(hidden, train.classes, { generator }),
  );
  const optimizer = new AdamW(model.parameters(), { lr, weightDecay: 1e-4 });
  let finalLoss = NaN;
  let testAccuracy = NaN;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = generator.permutation(train.count);
    let total = 0;
    let batches = 0;
    for (let at = 0; at < train.count; at += batchSize) {
      total += scope(() => {
        const { x, y } = batchOf(train, order.subarray(at, at + batchSize));
        const loss = crossEntropy(model.forward(x), y);
        optimizer.zeroGrad();
        backward(loss);
        optimizer.step();
        return loss.item();
      });
      batches++;
    }
    finalLoss = total / batches;
    testAccuracy = accuracy(model.eval(), test);
    model.train();
    options.onEpoch?.(epoch, finalLoss, testAccuracy);
  }
  const result = {
    trainCount: train.count,
    testCount: test.count,
    parameters: model.numParameters(),
    finalLoss,
    testAccuracy,
    seconds: (performance.now() - start) / 1000,
  };
  optimizer.dispose();
  model.dispose();
  return result;
}
