import type { RecurrentLM, RecurrentState } from '../generate/generate.js';
import type { Module } from '../nn/module.js';
import { loadMambaLM } from './mamba-model.js';
import { loadMoEMamba, MOE_MAMBA_TYPE, readConfigJson } from './moe-mamba-model.js';

/** A language model the CLI can generate with and evaluate. */
export type LanguageModel = Module & RecurrentLM<RecurrentState> & { initialState(batch: number): RecurrentState };

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
    return { model: model as unknown as LanguageModel, vocabSize: model.config.mamba.vocabSize, kind: 'moe-mamba', layout: MOE_MAMBA_TYPE };
  }
  const { model, config, layout } = await loadMambaLM(folder, onProgress);
  return { model: model as unknown as LanguageModel, vocabSize: config.vocabSize, kind: 'mamba', layout };
}
