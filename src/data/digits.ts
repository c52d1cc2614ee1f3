import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';
import { ensureDataset } from './datasets.js';

/** Labelled images as flat arrays: images[i * pixels + p], one int label per image. */
export interface LabelledImages {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  classes: number;
}

/** The sklearn 8x8 digits (pixel values 0..16), installed on first use. */
export function loadDigits(): LabelledImages {
  const file = join(ensureDataset('digits'), 'digits.csv.gz');
  const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
  const count = lines.length;
  const images = new Float32Array(count * 64);
  const labels = new Int32Array(count);
  lines.forEach((line, i) => {
    const cells = line.split(',').map(Number);
    if (cells.length !== 65 || cells.some((v) => !Number.isFinite(v)))
      throw new MambaError(`${file}: line ${i + 1} is not 64 pixels and a label`);
    images.set(cells.slice(0, 64), i * 64);
    labels[i] = cells[64]!;
  });
  return { images, labels, count, height: 8, width: 8, classes: 10 };
}

/** A seeded shuffle, then the first (1 - testFraction) for training and the rest for testing. */
export function splitImages(
  data: LabelledImages,
  testFraction: number,
  seed: number,
): { train: LabelledImages; test: LabelledImages } {
  const order = new Generator(seed).permutation(data.count);
  const nTest = Math.round(data.count * testFraction);
  const pixels = data.height * data.width;
  const take = (ids: Int32Array): LabelledImages => {
    const images = new Float32Array(ids.length * pixels);
    const labels = new Int32Array(ids.length);
    ids.forEach((id, i) => {
      images.set(data.images.subarray(id * pixels, (id + 1) * pixels), i * pixels);
      labels[i] = data.labels[id]!;
    });
    return { ...data, images, labels, count: ids.length };
  };
  return { train: take(order.subarray(nTest)), test: take(order.subarray(0, nTest)) };
}
