import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setBackend } from '../src/backends/registry.js';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import type { ImageDataset } from '../src/data/images.js';
import { Vim, vimPreset } from '../src/models/vim.js';
import { ViT } from '../src/models/vit.js';
import { Generator } from '../src/tensor/random.js';
import { MAMBABYTE_DEFAULTS, MAMBABYTE_TRAINER, trainMambaByte } from '../src/train/mambabyte.js';
import type { MetricsRecord, RunOptions, TrainerConfig } from '../src/train/trainer.js';
import { trainImageClassifier, VISION_TASK_DEFAULTS, VISION_TRAINER, vitBaselineConfig } from '../src/train/vim.js';
import { runNumpy, type NumpyJob } from './numpy.js';
import { randomBytes, randomImages } from './random-inputs.js';
import { rate, spread } from './timing.js';
import { runTorchPeer } from './torch-peer.js';

const THREADS = [1, 2];
/** Steps left out of the timing (the first ones compile kernels and grow the heap), then steps timed. */
const WARMUP = 2;
const TIMED = 5;
/** The peer's steps cost about 3x ours: fewer of them keep the section short. */
const PEER_WARMUP = 2;
const PEER_TIMED = 3;
const TARGET_OVER_PEER = 5;
const TARGET_VIM_OVER_VIT = 0.8;
/** Far past the run's last step: no periodic evaluation or checkpoint inside the timed steps. */
const NEVER = 1e9;

type Seconds = { min: number; median: number };

/**
 * A trainer config that runs `WARMUP + TIMED` steps of a recipe and logs each step's speed (the
 * trainer times a step from its batch to its optimizer update, evaluations and checkpoints left
 * out), with the recipe's optimizer settings untouched.
 */
function benchTrainer(recipe: TrainerConfig): TrainerConfig {
  return {
    ...recipe,
    steps: WARMUP + TIMED,
    minutes: undefined,
    logEvery: 1,
    evalEvery: NEVER,
    checkpointEvery: NEVER,
  };
}

/** Min and median seconds of the timed steps, from the speed the trainer logged for each. */
function timedSteps(history: MetricsRecord[], unitsPerStep: number): Seconds {
  const { min, median } = spread(history.filter((r) => r.step > WARMUP).map((r) => unitsPerStep / r.units_per_s));
  return { min, median };
}

/** A quiet run in a fresh folder, removed afterwards. */
async function inScratchRun<T>(fn: (run: RunOptions) => Promise<T>): Promise<T> {
  const out = mkdtempSync(join(tmpdir(), 'mamba-ts-bench-training-'));
  try {
    return await fn({ out, log: () => {}, progress: { stream: null } });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** MambaByte's default recipe (model, batch, optimizer) through trainMambaByte, as `mamba-ts train mambabyte` runs it. */
async function mambaByteSteps(): Promise<{ seconds: Seconds; parameters: number }> {
  const settings = { ...MAMBABYTE_DEFAULTS, evalBytes: MAMBABYTE_DEFAULTS.seqLen };
  const data = { train: randomBytes(1 << 16, 1), validation: randomBytes(settings.evalBytes, 2) };
  return inScratchRun(async (run) => {
    const result = await trainMambaByte(data, settings, benchTrainer(MAMBABYTE_TRAINER), run);
    result.model.dispose();
    return {
      seconds: timedSteps(result.history, settings.batchSize * settings.seqLen),
      parameters: result.parameters,
    };
  });
}

/** A classifier's steps under the vision recipe (src/train/vim.ts defaults), as `mamba-ts train vim|vit` runs them. */
async function classifierSteps(model: Vim | ViT, data: ImageDataset): Promise<Seconds> {
  const settings = { ...VISION_TASK_DEFAULTS, evalImages: data.test.count };
  return inScratchRun(async (run) => {
    const result = await trainImageClassifier(model, data, settings, benchTrainer(VISION_TRAINER), run);
    return timedSteps(result.history, settings.batchSize);
  });
}

/**
 * numpy's GEMM speed on the model's own projections (x [batch * seqLen, in] times W^T), the
 * yardstick of the FLOP limit: the fastest of them is what this machine's BLAS reaches at the
 * model's sizes.
 */
function projectionGemm(threads: number, tokens: number, dModel: number, dInner: number) {
  const shapes = [
    { name: 'in_proj', k: dModel, n: 2 * dInner },
    { name: 'out_proj', k: dInner, n: dModel },
    { name: 'lm_head', k: dModel, n: 256 },
  ];
  const jobs: NumpyJob[] = shapes.map((s) => ({ kind: 'linear', m: tokens, k: s.k, n: s.n, repeats: 20 }));
  const numpy = runNumpy(jobs, threads);
  if ('unavailable' in numpy) return numpy;
  const measured = shapes.map((s, i) => ({
    name: `${s.name}: [${tokens}, ${s.k}] x [${s.k}, ${s.n}]`,
    gflops: (2 * tokens * s.k * s.n) / numpy.results[i]!.min / 1e9,
  }));
  const limit = measured.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { numpy: numpy.version, shapes: measured, limitShape: limit.name, limitGflops: limit.gflops };
}

/** Ours over theirs, from the best and from the median rates. */
function ratio(ours: { best: number; median: number }, theirs: { best: number; median: number }) {
  return { best: ours.best / theirs.best, median: ours.median / theirs.median };
}

/**
 * Training throughput at 1 and 2 threads: MambaByte's default recipe beside the PyTorch peer on the
 * same model and batch (bench/peers/torch_mamba.py; `npm run peers:torch` installs it) and as a
 * fraction of the FLOP limit (6 x parameters x bytes/s over numpy's GEMM speed at the model's
 * projection shapes); the Vim recipe (vim-mnist, batch 64 of 28x28 images) beside its ViT baseline
 * of equal parameters. Random data of the real shapes: speed does not depend on the values.
 */
export async function benchTraining(): Promise<object> {
  const { batchSize, seqLen, dModel, nLayer, dState, expand } = MAMBABYTE_DEFAULTS;
  const tokens = batchSize * seqLen;
  const vimConfig = vimPreset('vim-mnist');
  const vitConfig = vitBaselineConfig(vimConfig);
  const images: ImageDataset = {
    source: 'random 28x28 images',
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    train: randomImages(VISION_TASK_DEFAULTS.batchSize * (WARMUP + TIMED), 28, 10, 3),
    test: randomImages(VISION_TASK_DEFAULTS.batchSize, 28, 10, 4),
  };
  const ours = [];
  for (const threads of THREADS) {
    const backend = createNodeWasmBackend({ threads });
    setBackend(backend);
    const mambaByte = await mambaByteSteps();
    const vim = new Vim(vimConfig, { generator: new Generator(0) });
    const vit = new ViT(vitConfig, { generator: new Generator(0) });
    const vision = {
      vimParameters: vim.numParameters(),
      vitParameters: vit.numParameters(),
      vim: await classifierSteps(vim, images),
      vit: await classifierSteps(vit, images),
    };
    vim.dispose();
    vit.dispose();
    backend.dispose();
    ours.push({ threads, mambaByte, vision, gemm: projectionGemm(threads, tokens, dModel, expand * dModel) });
  }
  const parameters = ours[0]!.mambaByte.parameters;
  const peer = runTorchPeer({
    dModel,
    nLayer,
    dState,
    dConv: 4,
    expand,
    vocabSize: 256,
    batchSize,
    seqLen,
    threads: THREADS,
    warmup: PEER_WARMUP,
    steps: PEER_TIMED,
    lr: MAMBABYTE_TRAINER.lr,
    betas: MAMBABYTE_TRAINER.betas,
    weightDecay: MAMBABYTE_TRAINER.weightDecay,
    clip: MAMBABYTE_TRAINER.clip,
    expectParams: parameters,
  });
  const mambaByteRows = ours.map(({ threads, mambaByte, gemm }) => {
    const bytesPerS = rate(tokens, mambaByte.seconds);
    const peerRun = 'runs' in peer ? peer.runs.find((r) => r.threads === threads)! : null;
    const flops = 'limitGflops' in gemm ? (6 * parameters * bytesPerS.best) / (gemm.limitGflops * 1e9) : null;
    return {
      threads,
      stepSeconds: mambaByte.seconds,
      bytesPerS,
      peerTokensPerS: peerRun?.tokensPerS ?? null,
      overPeer: peerRun ? ratio(bytesPerS, peerRun.tokensPerS) : null,
      targetMet: peerRun ? bytesPerS.median >= TARGET_OVER_PEER * peerRun.tokensPerS.median : null,
      numpyGemm: gemm,
      flopLimitFraction: flops,
    };
  });
  const visionRows = ours.map(({ threads, vision }) => {
    const vimImagesPerS = rate(VISION_TASK_DEFAULTS.batchSize, vision.vim);
    const vitImagesPerS = rate(VISION_TASK_DEFAULTS.batchSize, vision.vit);
    const vimOverVit = ratio(vimImagesPerS, vitImagesPerS);
    return { threads, vimImagesPerS, vitImagesPerS, vimOverVit, targetMet: vimOverVit.median >= TARGET_VIM_OVER_VIT };
  });
  return {
    mambaByte: {
      name: `MambaByte default recipe: d_model ${dModel}, ${nLayer} layers, d_state ${dState}, expand ${expand}; batch ${batchSize} x ${seqLen} random bytes`,
      driver: `trainMambaByte with the recipe's trainer settings, ${WARMUP} warm-up + ${TIMED} timed steps (each step's speed from the trainer's metrics)`,
      parameters,
      peer:
        'runs' in peer
          ? {
              name: `PyTorch ${peer.torch} CPU, mamba.py's design (parallel scan over time), same model and batch, AdamW, ${PEER_WARMUP} warm-up + ${PEER_TIMED} timed steps`,
              parameters: peer.params,
            }
          : peer,
      target: `mamba-ts >= ${TARGET_OVER_PEER}x the peer (median rates)`,
      flopLimit:
        '6 x parameters x bytes/s (best) over the GFLOP/s of the fastest numpy GEMM among the projection shapes',
      rows: mambaByteRows,
    },
    vim: {
      name: `Vim (vim-mnist) beside its ViT baseline (d_model ${vitConfig.dModel}, ${vitConfig.nHead} heads): batch ${VISION_TASK_DEFAULTS.batchSize} of random 28x28 images, the vision recipe`,
      parameters: { vim: ours[0]!.vision.vimParameters, vit: ours[0]!.vision.vitParameters },
      target: `Vim >= ${TARGET_VIM_OVER_VIT}x ViT images/s (median rates)`,
      rows: visionRows,
    },
  };
}
