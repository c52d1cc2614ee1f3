import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus } from 'node:os';
import { setBackend } from '../src/backends/registry.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import type { Backend } from '../src/backends/backend.js';
import { Vim, type VimConfigOptions } from '../src/models/vim.js';
import { ViT, vitConfigForParameters } from '../src/models/vit.js';
import { withoutInitialisation } from '../src/nn/init.js';
import { randn } from '../src/ops/create.js';
import { noGrad } from '../src/tensor/autograd.js';
import { Generator } from '../src/tensor/random.js';
import { scope } from '../src/tensor/scope.js';
import { writeLineChart } from '../src/util/plot.js';
import { time } from './timing.js';

/** Image sides at patch 4: 16, 64, 144, 256, 576, 1024, 2304 and 4096 patches. */
const SIDES = [16, 32, 48, 64, 96, 128, 192, 256];
const PATCH = 4;
/** A ViT whose attention scores would pass this many bytes is not run (scores and probabilities of one layer are alive together). */
const ATTENTION_LIMIT_BYTES = 1.5 * 2 ** 30;

/**
 * The pairs compared: the MNIST preset's width and Vim-Ti's (at depth 4: every cost but the small
 * embedding and head is per layer, so the crossover does not depend on depth), each against a ViT
 * of the same depth and parameter count.
 */
const PAIRS: { name: string; vim: Omit<VimConfigOptions, 'imageSize'>; heads: number }[] = [
  { name: 'd64', vim: { patchSize: PATCH, channels: 3, numClasses: 1000, dModel: 64, depth: 4, dState: 8 }, heads: 4 },
  {
    name: 'd192',
    vim: { patchSize: PATCH, channels: 3, numClasses: 1000, dModel: 192, depth: 4, dState: 16 },
    heads: 3,
  },
];

/**
 * Runs fn with the backend's allocations watched: the most bytes in use at any moment (kernel
 * scratch that lives within one kernel call aside) and the largest single tensor.
 */
function watchMemory<T>(backend: Backend, fn: () => T): { result: T; peakBytes: number; largestTensorBytes: number } {
  const original = backend.alloc;
  let peakBytes = backend.bytesInUse();
  let largestTensorBytes = 0;
  backend.alloc = (dtype, length) => {
    const handle = original.call(backend, dtype, length);
    peakBytes = Math.max(peakBytes, backend.bytesInUse());
    largestTensorBytes = Math.max(largestTensorBytes, length * 4);
    return handle;
  };
  try {
    return { result: fn(), peakBytes, largestTensorBytes };
  } finally {
    backend.alloc = original;
  }
}

interface Measurement {
  pair: string;
  model: 'vim' | 'vit';
  dModel: number;
  depth: number;
  parameters: number;
  imageSize: number;
  patches: number;
  forwardSeconds: { min: number; median: number } | null;
  /** Bytes the forward pass allocated on top of the weights and the input, at its peak. */
  peakActivationBytes: number | null;
  largestTensorBytes: number | null;
  note?: string;
}

function measure(backend: Backend, pair: string, kind: 'vim' | 'vit', model: Vim | ViT, side: number): Measurement {
  const patches = (side / PATCH) ** 2;
  const base = {
    pair,
    model: kind,
    dModel: model.config.dModel,
    depth: model.config.depth,
    parameters: model.numParameters(),
    imageSize: side,
    patches,
  };
  if (kind === 'vit') {
    const heads = (model as ViT).config.nHead;
    const scoreBytes = heads * (patches + 1) ** 2 * 4;
    if (2 * scoreBytes > ATTENTION_LIMIT_BYTES) {
      return {
        ...base,
        forwardSeconds: null,
        peakActivationBytes: null,
        largestTensorBytes: null,
        note: `not run: each layer's attention scores and probabilities take 2 x ${(scoreBytes / 2 ** 20).toFixed(0)} MiB, past the ${ATTENTION_LIMIT_BYTES / 2 ** 30} GiB limit of this benchmark`,
      };
    }
  }
  const images = randn([1, model.config.channels, side, side], { generator: new Generator(side) });
  model.eval();
  const forward = () => noGrad(() => scope(() => void model.forward(images).toArray()));
  const seconds = time(forward, side >= 192 ? 3 : 5);
  const before = backend.bytesInUse();
  const { peakBytes, largestTensorBytes } = watchMemory(backend, forward);
  images.dispose();
  return { ...base, forwardSeconds: seconds, peakActivationBytes: peakBytes - before, largestTensorBytes };
}

/** The first size from which the Vim stays ahead (faster, or lighter) at every larger size measured. */
function crossover(
  rows: Measurement[],
  key: (m: Measurement) => number | null,
): { imageSize: number; patches: number } | null {
  let found: Measurement | null = null;
  for (const side of SIDES) {
    const vim = rows.find((r) => r.model === 'vim' && r.imageSize === side)!;
    const vit = rows.find((r) => r.model === 'vit' && r.imageSize === side)!;
    const [a, b] = [key(vim), key(vit)];
    // A ViT too large to run counts as beaten.
    const ahead = a !== null && (b === null || a < b);
    if (ahead && !found) found = vim;
    if (!ahead) found = null;
  }
  return found ? { imageSize: found.imageSize, patches: found.patches } : null;
}

/**
 * Forward time (batch 1, no gradients) and peak activation memory of Vim and a ViT of the same depth
 * and parameter count at image sizes from 16 to 4096 patches of 4x4 pixels, for two widths; the
 * crossover (from where Vim's linear cost beats attention's quadratic one) and an SVG of the times
 * (`runs/bench-vision-scaling.svg`, log y). Runs on the wasm backend with every core.
 */
export function benchVisionScaling(options: { plot?: string } = {}): object[] {
  const backend = createNodeWasmBackend({ threads: cpus().length });
  setBackend(backend);
  const plot = options.plot ?? 'runs/bench-vision-scaling.svg';
  const results: object[] = [];
  const series: { name: string; points: [number, number][] }[] = [];
  for (const pair of PAIRS) {
    const rows: Measurement[] = [];
    // Matched once, at the smallest size where the position tables hardly count, so that both keep
    // their width at every size (each table then grows by the same d_model per patch).
    const { patchSize, channels, numClasses, depth } = pair.vim;
    const smallest = withoutInitialisation(() => new Vim({ ...pair.vim, imageSize: SIDES[0]! }));
    const { dModel } = vitConfigForParameters(smallest.numParameters(), {
      imageSize: SIDES[0]!,
      patchSize,
      channels,
      numClasses,
      depth,
      nHead: pair.heads,
    });
    smallest.dispose();
    for (const side of SIDES) {
      const vim = new Vim({ ...pair.vim, imageSize: side }, { generator: new Generator(0) });
      rows.push(measure(backend, pair.name, 'vim', vim, side));
      vim.dispose();
      const vit = new ViT(
        { imageSize: side, patchSize, channels, numClasses, depth, nHead: pair.heads, dModel },
        { generator: new Generator(0) },
      );
      rows.push(measure(backend, pair.name, 'vit', vit, side));
      vit.dispose();
    }
    for (const kind of ['vim', 'vit'] as const) {
      const own = rows.filter((r) => r.model === kind && r.forwardSeconds);
      const first = own[0]!;
      series.push({
        name: `${kind === 'vim' ? 'Vim' : 'ViT'} d_model ${first.dModel}, depth ${first.depth}`,
        points: own.map((r) => [r.imageSize, r.forwardSeconds!.median]),
      });
    }
    results.push({
      name: `Vim vs ViT forward scaling, ${pair.name} (batch 1, no grad, ${PATCH}x${PATCH} patches)`,
      crossover: {
        time: crossover(rows, (r) => r.forwardSeconds?.median ?? null),
        memory: crossover(rows, (r) => r.peakActivationBytes),
      },
      rows,
    });
  }
  backend.dispose();
  mkdirSync(dirname(plot), { recursive: true });
  writeLineChart(plot, series, {
    title: `Forward time of one image, Vim vs ViT of equal size (${PATCH}x${PATCH} patches: 16 to 4096)`,
    xLabel: 'image side in pixels',
    yLabel: 'seconds (median)',
    yScale: 'log',
  });
  return results;
}
