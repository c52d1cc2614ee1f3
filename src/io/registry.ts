import type { LanguageModel } from '../models/language-model.js';
import { MambaError } from '../util/errors.js';
import { classifierEntry } from './model-types/classifier.js';
import { moeMambaEntry, transformerEntry } from './model-types/generic-lm.js';
import { mambaEntry } from './model-types/mamba.js';
import { segmentationEntry } from './model-types/segmentation.js';
import type {
  LoadedClassifier,
  LoadedLanguageModel,
  LoadedModel,
  LoadedSegmentation,
  LoadProgress,
  ModelTask,
  ModelTypeEntry,
} from './model-types/types.js';
import { configPath, readConfigJson, writeModelFolder } from './model-folder.js';

/** Every kind of model folder mamba-ts reads: a new model type is one more entry here. */
export const MODEL_TYPES: readonly ModelTypeEntry[] = [
  mambaEntry,
  moeMambaEntry,
  transformerEntry,
  classifierEntry,
  segmentationEntry,
];

/** The commands that take a model folder of each task (`mamba-ts <command> --model DIR`). */
export const TASK_COMMANDS: Readonly<Record<ModelTask, readonly string[]>> = {
  'language-model': ['generate', 'eval --text-file|--ids-file', 'info'],
  'image-classifier': ['classify', 'eval --dataset'],
  segmentation: ['segment', 'eval'],
};

const TASK_NAMES: Readonly<Record<ModelTask, string>> = {
  'language-model': 'a language model',
  'image-classifier': 'an image classifier',
  segmentation: 'a segmentation network',
};

const known = (): string => MODEL_TYPES.flatMap((e) => e.modelTypes).join(', ');

/** The registry entry that reads a config.json; a clear error naming the known types when none does. */
export function modelTypeEntry(json: Record<string, unknown>, source: string): ModelTypeEntry {
  const entry = MODEL_TYPES.find((e) => e.accepts(json));
  if (entry) return entry;
  const type = json['model_type'];
  throw new MambaError(
    type === undefined
      ? `${source} has no model_type, and it is not a state-spaces Mamba config (no d_model or n_layer); mamba-ts reads model types ${known()}`
      : `${source}: model_type ${JSON.stringify(type)} is not supported yet; mamba-ts reads model types ${known()}`,
  );
}

/** A folder's config.json, where it lies, and the entry that reads it. */
function openFolder(folder: string): { json: Record<string, unknown>; source: string; entry: ModelTypeEntry } {
  const source = configPath(folder);
  const json = readConfigJson(source);
  return { json, source, entry: modelTypeEntry(json, source) };
}

/** The task of the model a folder holds, from its config.json alone (no weights read). */
export function modelTaskOf(folder: string): ModelTask {
  return openFolder(folder).entry.task;
}

/** Loads whatever model a folder holds, onto the current backend. */
export async function loadModel(folder: string, onProgress?: LoadProgress): Promise<LoadedModel> {
  const { json, source, entry } = openFolder(folder);
  return await entry.load(folder, json, source, onProgress);
}

/** Loads a folder that must hold a model of `task`; otherwise says what it holds and which commands take it. */
async function loadTask<T extends LoadedModel>(task: T['task'], folder: string, onProgress?: LoadProgress): Promise<T> {
  const { json, source, entry } = openFolder(folder);
  if (entry.task !== task) {
    throw new MambaError(
      `${source} describes ${entry.description} (model_type ${JSON.stringify(json['model_type'])}), not ${TASK_NAMES[task]}; use it with mamba-ts ${TASK_COMMANDS[entry.task].join(', ')}`,
    );
  }
  return (await entry.load(folder, json, source, onProgress)) as T;
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
