import { resolve } from 'node:path';
import type {
  LoadedClassifier,
  LoadedLanguageModel,
  LoadedModel,
  LoadedSegmentation,
  LoadProgress,
  ModelSummary,
  ModelTask,
} from '../load/model-types/types.js';
import { loadModelFiles, modelTypeEntry, taskMismatch as configMismatch, type ModelConfig } from '../load/registry.js';
import type { LanguageModel } from '../models/language-model.js';
import { sizeOf } from '../tensor/shape.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { folderFiles } from './folder-files.js';
import { configPath, readConfigJson, writeModelFolder } from './model-folder.js';

export { MODEL_TYPES, TASK_COMMANDS } from '../load/registry.js';

/** A folder's config.json, where it lies, and the entry that reads it; read synchronously, so that commands can check before they start. */
function openFolder(folder: string): ModelConfig {
  const source = configPath(folder);
  const json = readConfigJson(source);
  return { json, source, entry: modelTypeEntry(json, source) };
}

/** The task of the model a folder holds, from its config.json alone (no weights read). */
export function modelTaskOf(folder: string): ModelTask {
  return openFolder(folder).entry.task;
}

/**
 * Why the model a folder holds is not one of `task` (what it is, and the commands that take it),
 * or null when it is one; from config.json alone, so that a command can check before loading.
 */
export function taskMismatch(folder: string, task: ModelTask): string | null {
  return configMismatch(task, openFolder(folder));
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
/** Loads a folder that must hold an image classifier (Vim, ViT); otherwise says what it holds. */
export const loadImageClassifier = (folder: string) => loadTask<LoadedClassifier>('image-classifier', folder);
/** Loads a folder that must hold a segmentation network (U-Mamba, U-Net); otherwise says what it holds. */
export const loadSegmentationModel = (folder: string) => loadTask<LoadedSegmentation>('segmentation', folder);

/** What a model folder holds, from its config.json and the header of its weights (no weight values are read). */
export interface ModelDescription extends ModelSummary {
  /** The folder, as an absolute path. */
  folder: string;
  /** config.json's model_type (a state-spaces original config, which has none, is a "mamba"). */
  modelType: string;
  task: ModelTask;
  /** What the model is, in words. */
  description: string;
  format: Checkpoint['format'];
  files: readonly string[];
  /** Stored values, each tensor counted once (ModelSummary.repeated left out). */
  parameters: number;
  /** How many values are stored in each dtype. */
  storedDtypes: Record<string, number>;
}

/** Describes any model folder mamba-ts reads: its type, task, config and sizes, parameters and stored dtypes. */
export async function describeModel(folder: string): Promise<ModelDescription> {
  const { json, source, entry } = openFolder(folder);
  const checkpoint = await openCheckpoint(folder);
  const summary = entry.summarise(json, source, checkpoint);
  let parameters = 0;
  const storedDtypes: Record<string, number> = {};
  for (const [name, tensor] of checkpoint.tensors) {
    const values = sizeOf(tensor.shape);
    storedDtypes[tensor.dtype] = (storedDtypes[tensor.dtype] ?? 0) + values;
    if (!summary.repeated.includes(name)) parameters += values;
  }
  const modelType = json['model_type'];
  return {
    folder: resolve(folder),
    modelType: typeof modelType === 'string' ? modelType : entry.modelTypes[0]!,
    task: entry.task,
    description: entry.description,
    format: checkpoint.format,
    files: checkpoint.files,
    parameters,
    storedDtypes,
    ...summary,
  };
}

/** Saves any language model as a folder its registry entry loads: config.json (LanguageModel.configJson) and model.safetensors. */
export async function saveLanguageModel(model: LanguageModel, folder: string): Promise<string[]> {
  return await writeModelFolder(folder, model, model.configJson());
}
