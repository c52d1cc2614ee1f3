import { loadModelFiles, modelTypeEntry } from '../load/registry.js';
import type {
  LoadedClassifier,
  LoadedLanguageModel,
  LoadedModel,
  LoadedSegmentation,
  LoadProgress,
  ModelTask,
} from '../load/model-types/types.js';
import type { LanguageModel } from '../models/language-model.js';
import { folderFiles } from './folder-files.js';
import { configPath, readConfigJson, writeModelFolder } from './model-folder.js';

export { MODEL_TYPES, TASK_COMMANDS } from '../load/registry.js';

/** The task of the model a folder holds, from its config.json alone (no weights read). */
export function modelTaskOf(folder: string): ModelTask {
  const source = configPath(folder);
  return modelTypeEntry(readConfigJson(source), source).task;
}

/** Loads whatever model a folder on disk holds, onto the current backend. */
export async function loadModel(folder: string, onProgress?: LoadProgress): Promise<LoadedModel> {
  return await loadModelFiles(folderFiles(folder), onProgress ? { onProgress } : {});
}

/** Loads a folder that must hold a model of `task`; otherwise says what it holds and which commands take it. */
async function loadTask<T extends LoadedModel>(task: T['task'], folder: string, onProgress?: LoadProgress): Promise<T> {
  return (await loadModelFiles(folderFiles(folder), { task, ...(onProgress && { onProgress }) })) as T;
}

/** Loads a folder that must hold a language model (Mamba, MoE-Mamba, Transformer); otherwise says what it holds. */
export const loadLanguageModel = (folder: string, onProgress?: LoadProgress) =>
  loadTask<LoadedLanguageModel>('language-model', folder, onProgress);
/** Loads a folder that must hold an image classifier (Vim, ViT), with its class names and normalisation. */
export const loadImageClassifier = (folder: string) => loadTask<LoadedClassifier>('image-classifier', folder);
/** Loads a folder that must hold a segmentation network (U-Mamba, U-Net), with its preprocessing and data split. */
export const loadSegmentationModel = (folder: string) => loadTask<LoadedSegmentation>('segmentation', folder);

/** Saves any language model as a folder its registry entry loads: config.json (LanguageModel.configJson) and model.safetensors. */
export async function saveLanguageModel(model: LanguageModel, folder: string): Promise<string[]> {
  return await writeModelFolder(folder, model, model.configJson());
}
