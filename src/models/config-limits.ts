import { above, range } from '../util/schema.js';

/**
 * The ranges every config.json of a model is read with (util/schema.ts). The size bounds sit far
 * above every published model of these kinds (mamba-2.8b: width 2560, 64 layers; falcon-mamba-7b:
 * width 4096, 65024 tokens; Switch: 2048 experts) and far below what would exhaust memory while a
 * hostile config's network is built; the weights then bound each size exactly.
 */
export const WIDTH = range(1, 65536);
export const DEPTH = range(1, 1024);
export const VOCAB = range(1, 2 ** 24);
export const TOKEN_ID = range(0, 2 ** 24);
export const STATE_SIZE = range(1, 1024);
export const CONV_KERNEL = range(1, 64);
/** A width multiplier (Mamba's expand, an MLP ratio): finite and bounded. */
export const MULTIPLIER = above(0, 64);
export const EXPERTS = range(1, 4096);
export const HEADS = range(1, 1024);
export const CONTEXT = range(1, 2 ** 20);
/** Norm epsilons. */
export const EPSILON = above(0, 1);
/** Mamba's initial step sizes and their scale. */
export const STEP = above(0, 100);
/** A probability or rate: dropout, stochastic depth, loss weights. */
export const RATE = range(0, 1);
export const LOSS_WEIGHT = range(0, 1000);
export const IMAGE_SIZE = range(1, 16384);
export const CHANNELS = range(1, 4096);
export const CLASSES = range(2, 65536);
export const STAGES = range(2, 12);
export const BLOCKS = range(1, 64);
