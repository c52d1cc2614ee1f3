import { MambaError } from '../util/errors.js';

/**
 * What one Mamba (S6) mixer needs: its width, the SSM sizes and how its step size starts. A
 * language model's config (models/mamba-config.ts) extends it with the vocabulary and depth; Vim
 * and U-Mamba build their mixers from it alone.
 */
export interface MambaMixerConfig {
  /** Width of the residual stream the mixer reads and writes. */
  dModel: number;
  /** N: the size of each channel's hidden state h (docs/mamba-spec.md §1.3). */
  dState: number;
  /** Width of the depthwise causal conv before the scan. */
  dConv: number;
  expand: number;
  /** Channels inside the mixer: floor(expand * dModel). */
  dInner: number;
  /** Rank of the low-rank projection that produces delta. */
  dtRank: number;
  dtMin: number;
  dtMax: number;
  dtInit: 'random' | 'constant';
  dtScale: number;
  dtInitFloor: number;
  convBias: boolean;
  /** Bias on in_proj and out_proj. */
  bias: boolean;
}

export type MambaMixerConfigOptions = Partial<MambaMixerConfig> & Pick<MambaMixerConfig, 'dModel'>;

/**
 * Fills in the reference defaults (docs/mamba-spec.md §1.1, §1.7): expand 2, d_state 16, d_conv 4,
 * dt_rank ceil(d_model / 16), dt in [0.001, 0.1], and checks the sizes. Keys other than the
 * mixer's are kept as given, so a model's config can pass through here.
 */
export function mambaMixerConfig<O extends MambaMixerConfigOptions>(options: O): O & MambaMixerConfig {
  const expand = options.expand ?? 2;
  const config = {
    dState: 16,
    dConv: 4,
    dtMin: 0.001,
    dtMax: 0.1,
    dtInit: 'random' as const,
    dtScale: 1,
    dtInitFloor: 1e-4,
    convBias: true,
    bias: false,
    ...options,
    expand,
    dInner: options.dInner ?? Math.floor(expand * options.dModel),
    dtRank: options.dtRank ?? Math.ceil(options.dModel / 16),
  };
  for (const key of ['dModel', 'dState', 'dConv', 'dInner', 'dtRank'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1)
      throw new MambaError(`Mamba config: ${key} must be a positive integer, got ${v}`);
  }
  if (!(config.dtMin > 0 && config.dtMax >= config.dtMin))
    throw new MambaError(`Mamba config: need 0 < dtMin <= dtMax, got ${config.dtMin} and ${config.dtMax}`);
  return config;
}

/**
 * The values of one sequence's recurrent state in one mixer (MambaMixer.initialState): the last
 * dConv - 1 inputs of the causal conv and the SSM state, dInner x dState.
 */
export function mixerStateSize(config: Pick<MambaMixerConfig, 'dConv' | 'dInner' | 'dState'>): number {
  return (config.dConv - 1) * config.dInner + config.dInner * config.dState;
}
