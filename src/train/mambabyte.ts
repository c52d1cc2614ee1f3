import { saveMambaLM } from '../io/model-types/mamba.js';
import { ByteTokenizer } from '../io/tokenizer.js';
import { generate } from '../generate/generate.js';
import type { LanguageModel, LMState } from '../models/language-model.js';
import { MambaLM } from '../models/mamba-lm.js';
import { mambaConfig } from '../models/mamba-config.js';
import { sequenceNll } from '../eval/nll.js';
import { Generator } from '../tensor/random.js';
import { byteLmTask } from './byte-lm.js';
import type { CountCallback } from '../util/progress.js';
import { train, type RunOptions, type TrainerConfig, type TrainResult } from './trainer.js';

/** The model and data settings of a MambaByte run. */
export interface MambaByteSettings {
  dModel: number;
  nLayer: number;
  dState: number;
  expand: number;
  seqLen: number;
  batchSize: number;
  /** Held-out bytes scored at each evaluation. */
  evalBytes: number;
  seed: number;
}

/** A recipe that trains well in about ten minutes on two cores (see README for its figures). */
export const MAMBABYTE_DEFAULTS: MambaByteSettings = {
  dModel: 256,
  nLayer: 4,
  dState: 16,
  expand: 2,
  seqLen: 256,
  batchSize: 8,
  evalBytes: 32768,
  seed: 0,
};

export const MAMBABYTE_TRAINER: TrainerConfig = {
  minutes: 10,
  lr: 2e-3,
  warmup: 100,
  minLrRatio: 0.1,
  weightDecay: 0.1,
  betas: [0.9, 0.95],
  clip: 1,
  accumulate: 1,
  evalEvery: 200,
  checkpointEvery: 100,
  logEvery: 10,
};

/** Bits per byte of a recurrent byte model on a text: exact NLL with the state carried across chunks. */
export function bitsPerByte<S extends LMState>(
  model: LanguageModel<S>,
  bytes: Uint8Array,
  chunk = 1024,
  onProgress?: CountCallback,
): number {
  return sequenceNll(model, Array.from(bytes), chunk, onProgress).meanNll / Math.LN2;
}

export interface MambaByteResult extends TrainResult {
  model: MambaLM;
  parameters: number;
}

/** A freshly initialised MambaByte of these settings: a Mamba LM over the 256 byte values. */
export function mambaByteModel(settings: MambaByteSettings): MambaLM {
  const { dModel, nLayer, dState, expand, seed } = settings;
  return new MambaLM(mambaConfig({ dModel, nLayer, dState, expand, vocabSize: 256 }), {
    generator: new Generator(seed),
  });
}

/** Trains MambaByte (a Mamba LM over the 256 byte values) on `train`, scoring `validation`. */
export async function trainMambaByte(
  data: { train: Uint8Array; validation: Uint8Array },
  settings: MambaByteSettings,
  trainer: TrainerConfig,
  run: RunOptions,
): Promise<MambaByteResult> {
  const model = mambaByteModel(settings);
  const task = byteLmTask(model, data, settings, {
    bitsPerByte: (bytes, onProgress) => bitsPerByte(model, bytes, settings.seqLen, onProgress),
    saveModel: (dir) => saveMambaLM(model, dir),
    settings: {
      model: 'mambabyte',
      dModel: settings.dModel,
      nLayer: settings.nLayer,
      dState: settings.dState,
      expand: settings.expand,
    },
  });
  const result = await train(task, trainer, run);
  return { ...result, model, parameters: model.numParameters() };
}

/** Text continued from a prompt by a byte model; invalid UTF-8 becomes U+FFFD. */
export function sampleText<S extends LMState>(
  model: LanguageModel<S>,
  prompt: string,
  bytes: number,
  seed = 0,
  temperature = 0.8,
): string {
  const tokenizer = new ByteTokenizer();
  const { tokens } = generate(model, [tokenizer.encode(prompt)], { maxNewTokens: bytes, temperature, seed });
  return prompt + tokenizer.decode(tokens[0]!);
}
