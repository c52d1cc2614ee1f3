import { MambaError } from '../util/errors.js';

/**
 * The hyper-parameters of a Mamba (S6) language model, with the names of neither published
 * layout: io/hf-config.ts maps both config.json layouts to and from this.
 */
export interface MambaConfig {
  dModel: number;
  nLayer: number;
  /** Rows of the embedding: the vocabulary padded up to padVocabSizeMultiple. */
  vocabSize: number;
  dState: number;
  dConv: number;
  expand: number;
  dInner: number;
  dtRank: number;
  dtMin: number;
  dtMax: number;
  dtInit: 'random' | 'constant';
  dtScale: number;
  dtInitFloor: number;
  convBias: boolean;
  /** Bias on in_proj and out_proj. */
  bias: boolean;
  layerNormEpsilon: number;
  residualInFp32: boolean;
  tieEmbeddings: boolean;
  padVocabSizeMultiple: number;
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

export type MambaConfigOptions = Partial<MambaConfig> & Pick<MambaConfig, 'dModel' | 'nLayer' | 'vocabSize'>;

/** Fills in the reference defaults (mamba-spec.md §1.1, §1.7): expand 2, d_state 16, d_conv 4, dt_rank ceil(d_model/16). */
export function mambaConfig(options: MambaConfigOptions): MambaConfig {
  const expand = options.expand ?? 2;
  const multiple = options.padVocabSizeMultiple ?? 8;
  const vocab = options.vocabSize;
  const config: MambaConfig = {
    dState: 16,
    dConv: 4,
    dtMin: 0.001,
    dtMax: 0.1,
    dtInit: 'random',
    dtScale: 1,
    dtInitFloor: 1e-4,
    convBias: true,
    bias: false,
    layerNormEpsilon: 1e-5,
    residualInFp32: true,
    tieEmbeddings: true,
    ...options,
    expand,
    padVocabSizeMultiple: multiple,
    vocabSize: vocab % multiple === 0 ? vocab : vocab + multiple - (vocab % multiple),
    dInner: options.dInner ?? Math.floor(expand * options.dModel),
    dtRank: options.dtRank ?? Math.ceil(options.dModel / 16),
  };
  for (const key of ['dModel', 'nLayer', 'vocabSize', 'dState', 'dConv', 'dInner', 'dtRank'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) throw new MambaError(`Mamba config: ${key} must be a positive integer, got ${v}`);
  }
  if (!(config.dtMin > 0 && config.dtMax >= config.dtMin)) throw new MambaError(`Mamba config: need 0 < dtMin <= dtMax, got ${config.dtMin} and ${config.dtMax}`);
  return config;
}
