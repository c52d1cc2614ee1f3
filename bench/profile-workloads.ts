import { channelStats } from '../src/data/images.js';
import { generate, generateSteps } from '../src/generate/generate.js';
import { Vim, vimPreset } from '../src/models/vim.js';
import { backward } from '../src/tensor/autograd.js';
import { Generator } from '../src/tensor/random.js';
import { scope } from '../src/tensor/scope.js';
import { byteLmTask } from '../src/train/byte-lm.js';
import { clipGradNorm } from '../src/train/clip.js';
import { MAMBABYTE_DEFAULTS, MAMBABYTE_TRAINER, mambaByteModel } from '../src/train/mambabyte.js';
import { trainerOptimizer, type TrainerConfig, type TrainTask } from '../src/train/trainer.js';
import { imageClassificationTask, VISION_TASK_DEFAULTS, VISION_TRAINER } from '../src/train/vim.js';
import { MambaError } from '../src/util/errors.js';
import { benchPrompt, randomMamba130m } from './decode.js';
import { randomBytes, randomImages } from './random-inputs.js';

/** Runs fn as a named part of the measured work (its wall and kernel time are added to that phase's). */
export type Phase = <T>(name: string, fn: () => T) => T;

/** A workload ready to run: the model is built and warmed up, and only `run` is measured. */
export interface PreparedWorkload {
  run(phase: Phase): void;
  dispose(): void;
}

export interface Workload {
  /** What `--steps` counts, and its default. */
  steps: { unit: string; default: number };
  describe(steps: number): string;
  /** Builds the model on the current backend and runs one unmeasured warm-up of the same work. */
  prepare(steps: number): PreparedWorkload;
}

const DECODE_PROMPT = 128;
const PREFILL_PROMPT = 256;

/** Hooks of a training task that the profile never calls: it neither evaluates nor saves. */
const UNUSED = () => {
  throw new MambaError('the profile neither evaluates nor saves a model');
};

/**
 * Optimizer steps of a training task, as the trainer takes them (trainer.ts: one micro-batch, the
 * loss's backward, clipping, the AdamW update), in three phases; the first step is the warm-up.
 */
function trainingWorkload(task: TrainTask, config: TrainerConfig): (steps: number) => PreparedWorkload {
  return (steps) => {
    const optimizer = trainerOptimizer(task.model, config);
    const params = task.model.parameters();
    let step = 0;
    const takeStep = (phase: Phase) => {
      scope(() => {
        const loss = phase('forward', () => task.loss(step, 0));
        phase('backward', () => backward(loss));
        return loss.item();
      });
      phase('optimizer', () => {
        clipGradNorm(params, config.clip);
        optimizer.step();
        optimizer.zeroGrad();
      });
      step++;
    };
    takeStep((_, fn) => fn());
    return {
      run: (phase) => {
        for (let i = 0; i < steps; i++) takeStep(phase);
      },
      dispose: () => {
        optimizer.dispose();
        task.model.dispose();
      },
    };
  };
}

function mambaByteTraining(steps: number): PreparedWorkload {
  const settings = MAMBABYTE_DEFAULTS;
  const model = mambaByteModel(settings);
  const data = { train: randomBytes(1 << 20, 1), validation: new Uint8Array(0) };
  const task = byteLmTask(model, data, settings, { bitsPerByte: UNUSED, saveModel: UNUSED, settings: {} });
  return trainingWorkload(task, MAMBABYTE_TRAINER)(steps);
}

function vimTraining(steps: number): PreparedWorkload {
  const config = vimPreset('vim-mnist');
  const model = new Vim(config, { generator: new Generator(0) });
  const images = randomImages(1024, config.imageSize, config.numClasses, 2);
  const data = {
    source: 'random images',
    classNames: Array.from({ length: config.numClasses }, (_, i) => String(i)),
    train: images,
    test: images,
  };
  const task = imageClassificationTask(model, data, channelStats(images), VISION_TASK_DEFAULTS, {
    saveModel: UNUSED,
    settings: {},
  });
  return trainingWorkload(task, VISION_TRAINER)(steps);
}

export const WORKLOADS: Record<string, Workload> = {
  decode: {
    steps: { unit: 'new tokens', default: 32 },
    describe: (steps) =>
      `decode: mamba-130m shape (random weights), ${steps} tokens one at a time after a ${DECODE_PROMPT}-token prompt`,
    prepare(steps) {
      const model = randomMamba130m(1);
      const prompt = benchPrompt(DECODE_PROMPT);
      generate(model, [prompt.slice(0, 8)], { maxNewTokens: 2 });
      // The first step prefills the prompt (unmeasured); each later one decodes a token.
      const tokens = generateSteps(model, [prompt], { maxNewTokens: steps + 1 });
      tokens.next();
      return {
        run: (phase) => {
          for (let i = 0; i < steps; i++) phase('decode', () => tokens.next());
        },
        dispose: () => {
          tokens.return(undefined as never);
          model.dispose();
        },
      };
    },
  },
  prefill: {
    steps: { unit: 'prompts', default: 2 },
    describe: (steps) => `prefill: mamba-130m shape (random weights), ${steps} x a ${PREFILL_PROMPT}-token prompt`,
    prepare(steps) {
      const model = randomMamba130m(1);
      const prompt = benchPrompt(PREFILL_PROMPT);
      generate(model, [prompt], { maxNewTokens: 1 });
      return {
        run: (phase) => {
          for (let i = 0; i < steps; i++) phase('prefill', () => generate(model, [prompt], { maxNewTokens: 1 }));
        },
        dispose: () => model.dispose(),
      };
    },
  },
  mambabyte: {
    steps: { unit: 'training steps', default: 5 },
    describe: (steps) =>
      `mambabyte: ${steps} training steps of the default MambaByte recipe (d_model ${MAMBABYTE_DEFAULTS.dModel}, ` +
      `${MAMBABYTE_DEFAULTS.nLayer} layers), batch ${MAMBABYTE_DEFAULTS.batchSize}x${MAMBABYTE_DEFAULTS.seqLen} random bytes`,
    prepare: mambaByteTraining,
  },
  vim: {
    steps: { unit: 'training steps', default: 5 },
    describe: (steps) =>
      `vim: ${steps} training steps of the default Vim recipe (vim-mnist), batch ${VISION_TASK_DEFAULTS.batchSize} random 28x28 images`,
    prepare: vimTraining,
  },
};
