import { saveLanguageModel } from '../io/registry.js';
import { alternatingPattern, MoEMambaLM, type MoEMambaConfig } from '../models/moe-mamba.js';
import { mambaConfig } from '../models/mamba-config.js';
import { add } from '../ops/elementwise.js';
import { Generator } from '../tensor/random.js';
import type { MoEConfig } from '../ssm/switch-moe.js';
import { byteLmTask } from './byte-lm.js';
import { bitsPerByte, type MambaByteSettings } from './mambabyte.js';
import { train, type RunOptions, type TrainerConfig, type TrainResult } from './trainer.js';

/** MoE-Mamba over bytes: MambaByte's settings, nLayer Mamba/MoE pairs, and the expert settings. */
export interface MoEMambaByteSettings extends MambaByteSettings {
  moe: MoEConfig;
}

/**
 * The paper's sizing: an expert as wide as 1.5 x expand x d_model (its FFN then has about the
 * parameters of a Mamba layer, 6 d_model^2 at expand 2), Switch top-1 routing, capacity 1.25,
 * balancing weight 0.01.
 */
export function defaultMoE(dModel: number, expand: number): MoEConfig {
  return {
    experts: 8,
    dExpert: Math.round(1.5 * expand * dModel),
    topK: 1,
    capacityFactor: 1.25,
    auxLossWeight: 0.01,
    zLossWeight: 0,
  };
}

/** The MoE-Mamba config of a byte-level run: nLayer pairs of a Mamba and a MoE layer over 256 byte values. */
export function moeMambaByteConfig(s: MoEMambaByteSettings): MoEMambaConfig {
  return {
    mamba: mambaConfig({ dModel: s.dModel, nLayer: s.nLayer, dState: s.dState, expand: s.expand, vocabSize: 256 }),
    moe: s.moe,
    pattern: alternatingPattern(s.nLayer),
  };
}

export interface MoEMambaResult extends TrainResult {
  model: MoEMambaLM;
  parameters: number;
  activeParameters: number;
  /** Tokens each expert of each MoE layer took in the last training step. */
  expertLoad: number[][];
}

/** Trains a byte-level MoE-Mamba; the loss adds the MoE layers' balancing loss, and expert statistics are logged every step. */
export async function trainMoEMambaByte(
  data: { train: Uint8Array; validation: Uint8Array },
  settings: MoEMambaByteSettings,
  trainer: TrainerConfig,
  run: RunOptions,
): Promise<MoEMambaResult> {
  const model = new MoEMambaLM(moeMambaByteConfig(settings), { generator: new Generator(settings.seed) });
  const base = byteLmTask(model, data, settings, {
    bitsPerByte: (bytes, onProgress) => bitsPerByte(model, bytes, settings.seqLen, onProgress),
    saveModel: (dir) => saveLanguageModel(model, dir),
    settings: {
      model: 'moe-mamba',
      dModel: settings.dModel,
      nLayer: settings.nLayer,
      dState: settings.dState,
      expand: settings.expand,
      moe: settings.moe,
    },
  });
  let expertLoad: number[][] = [];
  const result = await train(
    {
      ...base,
      loss: (step, micro) => {
        const l = base.loss(step, micro);
        const aux = model.auxLoss();
        return aux ? add(l, aux) : l;
      },
      stepMetrics: () => {
        const stats = model.moeStats();
        expertLoad = stats.map((s) => s.load);
        const load = stats.flatMap((s) => s.load);
        const meanLoad = load.reduce((a, b) => a + b, 0) / Math.max(1, load.length);
        return {
          moe_aux_loss: stats.reduce((a, s) => a + s.auxLoss, 0) / Math.max(1, stats.length),
          moe_dropped: stats.reduce((a, s) => a + s.dropped, 0) / Math.max(1, stats.length),
          moe_max_load_over_mean: meanLoad > 0 ? Math.max(...load) / meanLoad : 0,
        };
      },
    },
    trainer,
    run,
  );
  return {
    ...result,
    model,
    parameters: model.numParameters(),
    activeParameters: model.activeParameters(),
    expertLoad,
  };
}
