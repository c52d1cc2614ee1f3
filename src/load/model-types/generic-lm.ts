import type { LanguageModel } from '../../models/language-model.js';
import { moeMambaConfigFromJson, MoEMambaLM, MOE_MAMBA_TYPE } from '../../models/moe-mamba.js';
import { transformerConfigFromJson, TransformerLM, TRANSFORMER_TYPE } from '../../models/transformer.js';
import { withoutInitialisation } from '../../nn/init.js';
import { openWeights } from '../checkpoint.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelTypeEntry } from './types.js';

/**
 * The language models whose folder is their own config.json (LanguageModel.configJson) and
 * model.safetensors under the module's names: built from the config, then filled by name.
 */
function languageModelEntry(
  modelType: string,
  description: string,
  build: (json: Record<string, unknown>, source: string) => LanguageModel,
): ModelTypeEntry {
  return {
    modelTypes: [modelType],
    task: 'language-model',
    description,
    accepts: (json) => json['model_type'] === modelType,
    load: async (files, json, source) => {
      const model = withoutInitialisation(() => build(json, source));
      await fillModuleWeights(model, await openWeights(files));
      return { task: 'language-model', model, layout: modelType };
    },
  };
}

export const moeMambaEntry = languageModelEntry(
  MOE_MAMBA_TYPE,
  'a MoE-Mamba language model',
  (json, source) => new MoEMambaLM(moeMambaConfigFromJson(json, source)),
);

export const transformerEntry = languageModelEntry(
  TRANSFORMER_TYPE,
  'a Transformer language model (the baseline)',
  (json, source) => new TransformerLM(transformerConfigFromJson(json, source)),
);
