import type { LanguageModel } from '../../models/language-model.js';
import { moeMambaConfigFromJson, MoEMambaLM, MOE_MAMBA_TYPE } from '../../models/moe-mamba.js';
import { transformerConfigFromJson, TransformerLM, TRANSFORMER_TYPE } from '../../models/transformer.js';
import { withoutInitialisation } from '../../nn/init.js';
import { mixerStateSize } from '../../ssm/mixer-config.js';
import { mixerParameters } from '../../models/mamba-config-json.js';
import { openWeights } from '../checkpoint.js';
import { checkWeightExtent, type WeightExtent } from '../weight-extent.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelSummary, ModelTypeEntry } from './types.js';

/**
 * The language models whose folder is their own config.json (LanguageModel.configJson) and
 * model.safetensors under the module's names: built from the config, then filled by name.
 */
function languageModelEntry<C extends object>(
  modelType: string,
  description: string,
  parse: (json: Record<string, unknown>, source: string) => C,
  build: (config: C) => LanguageModel,
  summarise: (config: C) => Omit<ModelSummary, 'layout' | 'config' | 'repeated'>,
  extent: (config: C) => WeightExtent,
): ModelTypeEntry {
  return {
    modelTypes: [modelType],
    task: 'language-model',
    description,
    accepts: (json) => json['model_type'] === modelType,
    load: async (files, json, source) => {
      const config = parse(json, source);
      const checkpoint = await openWeights(files);
      checkWeightExtent(extent(config), checkpoint, source);
      const model = withoutInitialisation(() => build(config));
      await fillModuleWeights(model, checkpoint);
      return { task: 'language-model', model, layout: modelType };
    },
    summarise: (json, source, checkpoint) => {
      const config = parse(json, source);
      checkWeightExtent(extent(config), checkpoint, source);
      return { layout: modelType, config, repeated: [], ...summarise(config) };
    },
  };
}

export const moeMambaEntry = languageModelEntry(
  MOE_MAMBA_TYPE,
  'a MoE-Mamba language model',
  moeMambaConfigFromJson,
  (config) => new MoEMambaLM(config),
  ({ mamba, moe, pattern }) => {
    const mambaLayers = pattern.filter((kind) => kind === 'mamba').length;
    return {
      sizes:
        `d_model ${mamba.dModel}, ${pattern.length} layers (${mambaLayers} Mamba, ${pattern.length - mambaLayers} MoE), ` +
        `d_inner ${mamba.dInner}, d_state ${mamba.dState}, ${moe.experts} experts of width ${moe.dExpert} ` +
        `(top-${moe.topK}, capacity factor ${moe.capacityFactor}), vocab ${mamba.vocabSize}`,
      tiedHead: mamba.tieEmbeddings,
      state: { values: mambaLayers * mixerStateSize(mamba), per: 'sequence' },
    };
  },
  ({ mamba, moe, pattern }) => {
    const firstMamba = pattern.indexOf('mamba');
    const firstMoE = pattern.indexOf('moe');
    const router = `layers.${firstMoE}.moe.`;
    return {
      shapes: [
        ['embeddings.weight', [mamba.vocabSize, mamba.dModel]],
        ...(firstMamba < 0 ? [] : mixerParameters(`layers.${firstMamba}.mixer.`, mamba)),
        ...(firstMoE < 0
          ? []
          : ([
              [`${router}router.weight`, [moe.experts, mamba.dModel]],
              [`${router}experts.0.fc1.weight`, [moe.dExpert, mamba.dModel]],
            ] as const)),
      ],
      parts: [
        { what: 'layers', count: pattern.length, prefix: (i) => `layers.${i}.` },
        ...(firstMoE < 0
          ? []
          : [{ what: 'experts', count: moe.experts, prefix: (i: number) => `${router}experts.${i}.` }]),
      ],
    };
  },
);

export const transformerEntry = languageModelEntry(
  TRANSFORMER_TYPE,
  'a Transformer language model (the baseline)',
  transformerConfigFromJson,
  (config) => new TransformerLM(config),
  (c) => ({
    sizes: `d_model ${c.dModel}, ${c.nLayer} layers, ${c.nHead} heads, MLP width ${c.mlpRatio * c.dModel}, context ${c.maxLength} tokens, vocab ${c.vocabSize}`,
    tiedHead: true,
    // Each layer caches a key and a value of dModel values per token.
    state: { values: 2 * c.nLayer * c.dModel, per: 'token' },
  }),
  (c) => ({
    shapes: [
      ['embeddings.weight', [c.vocabSize, c.dModel]],
      ['position.weight', [c.maxLength, c.dModel]],
      ['blocks.0.attn.qkv.weight', [3 * c.dModel, c.dModel]],
      ['blocks.0.mlp.fc1.weight', [c.mlpRatio * c.dModel, c.dModel]],
    ],
    parts: [{ what: 'layers', count: c.nLayer, prefix: (i) => `blocks.${i}.` }],
  }),
);
