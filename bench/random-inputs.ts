import type { ImageSet } from '../src/data/images.js';
import { Generator } from '../src/tensor/random.js';

/** Seeded random bytes: training data of the right shape whose content does not matter for speed. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const g = new Generator(seed);
  return Uint8Array.from({ length }, () => g.int(256));
}

/** `count` random one-channel side x side images with random labels of `classes` classes. */
export function randomImages(count: number, side: number, classes: number, seed: number): ImageSet {
  const g = new Generator(seed);
  const pixels = randomBytes(count * side * side, seed);
  const labels = Int32Array.from({ length: count }, () => g.int(classes));
  return { pixels, labels, count, channels: 1, height: side, width: side };
}
