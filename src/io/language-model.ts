import type { LanguageModel } from '../models/language-model.js';
import { loadMambaLM } from './mamba-model.js';
import { MOE_MAMBA_TYPE } from '../models/moe-mamba.js';
import { loadMoEMamba, readConfigJson } from './moe-mamba-model.js';

export interface LoadedLanguageModel {
  model: LanguageModel;
  /** Rows of the output layer (the padded vocabulary). */
  vocabSize: number;
  kind: 'mamba' | 'moe-mamba';
  layout: string;
}

/** Loads whatever language model a folder holds: a Mamba LM (either published layout) or a MoE-Mamba. */
export async function loadLanguageModel(folder: string, onProgress?: (done: number, total: number) => void): Promise<LoadedLanguageModel> {
  const json = readConfigJson(folder);
  if (json['model_type'] === MOE_MAMBA_TYPE) {
    const model = await loadMoEMamba(folder, json);
    return { model, vocabSize: model.vocabSize, kind: 'moe-mamba', layout: MOE_MAMBA_TYPE };
  }
  const { model, config, layout } = await loadMambaLM(folder, onProgress);
  return { model, vocabSize: config.vocabSize, kind: 'mamba', layout };
}
