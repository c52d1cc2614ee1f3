import { mambaMixerConfig, type MambaMixerConfig } from '../ssm/mixer-config.js';
import { MambaError } from '../util/errors.js';

/**
 * The hyper-parameters of a Mamba (S6) language model: its mixers' settings plus the vocabulary,
 * depth and norms, with the names of neither published layout (models/mamba-config-json.ts maps both
 * config.json layouts to and from this).
 */
export interface MambaConfig extends MambaMixerConfig {
  nLayer: number;
  /** Rows of the embedding: the vocabulary padded up to padVocabSizeMultiple. */
  vocabSize: number;
  /**
   * The vocabulary before padding (config.json's vocab_size): ids at or past it are padding rows,
   * which no sampler or score may use (state-spaces/mamba-130m: 50277 tokens in 50280 rows).
   */
  vocabLimit: number;
  layerNormEpsilon: number;
  residualInFp32: boolean;
  tieEmbeddings: boolean;
  padVocabSizeMultiple: number;
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

/** `vocabSize` is the vocabulary before padding; `vocabLimit` defaults to it. */
export type MambaConfigOptions = Partial<MambaConfig> & Pick<MambaConfig, 'dModel' | 'nLayer' | 'vocabSize'>;

/** The mixer's defaults (ssm/mixer-config.ts) plus the reference's for the model (docs/mamba-spec.md §1.7). */
export function mambaConfig(options: MambaConfigOptions): MambaConfig {
  const multiple = options.padVocabSizeMultiple ?? 8;
  const vocab = options.vocabSize;
  const config: MambaConfig = mambaMixerConfig({
    layerNormEpsilon: 1e-5,
    residualInFp32: true,
    tieEmbeddings: true,
    ...options,
    padVocabSizeMultiple: multiple,
    vocabSize: vocab % multiple === 0 ? vocab : vocab + multiple - (vocab % multiple),
    vocabLimit: options.vocabLimit ?? vocab,
  });
  for (const key of ['nLayer', 'vocabSize', 'vocabLimit'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1)
      throw new MambaError(`Mamba config: ${key} must be a positive integer, got ${v}`);
  }
  if (config.vocabLimit > config.vocabSize)
    throw new MambaError(
      `Mamba config: vocabLimit ${config.vocabLimit} is past the ${config.vocabSize} rows of the embedding`,
    );
  return config;
}
