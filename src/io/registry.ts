import { resolve } from 'node:path';
import type { LanguageModel } from '../models/language-model.js';
import { sizeOf } from '../tensor/shape.js';
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
  ModelSummary,
  ModelTask,
  ModelTypeEntry,
} from './model-types/types.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { configPath, readConfigJson, writeModelFolder } from './model-folder.js';

/** Every kind of model folder mamba-ts reads: a new model type is one more entry here. */
export const MODEL_TYPES: readonly ModelTypeEntry[] = [
  mambaEntry,
  moeMambaEntry,
  transformerEntry,
  classifierEntry,
  segmentationEntry,
];

/** The commands that take a model folder of each task (`mamba-ts <command> --model DIR`); `info` takes any. */
export const TASK_COMMANDS: Readonly<Record<ModelTask, readonly string[]>> = {
  'language-model': ['generate', 'eval --text-file|--ids-file'],
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

/** What an opened folder holds and which commands take it, when that is not a model of `task`; else null. */
function wrongTask({ json, source, entry }: ReturnType<typeof openFolder>, task: ModelTask): string | null {
  if (entry.task === task) return null;
  return `${source} describes ${entry.description} (model_type ${JSON.stringify(json['model_type'])}), not ${TASK_NAMES[task]}; use it with mamba-ts ${TASK_COMMANDS[entry.task].join(', ')}`;
}

/**
 * Why the model a folder holds is not one of `task` (what it is, and the commands that take it),
 * or null when it is one; from config.json alone, so that a command can check before loading.
 */
export function taskMismatch(folder: string, task: ModelTask): string | null {
  return wrongTask(openFolder(folder), task);
}

/** Loads a folder that must hold a model of `task`; otherwise says what it holds and which commands take it. */
async function loadTask<T extends LoadedModel>(task: T['task'], folder: string, onProgress?: LoadProgress): Promise<T> {
  const opened = openFolder(folder);
  const wrong = wrongTask(opened, task);
  if (wrong !== null) throw new MambaError(wrong);
  return (await opened.entry.load(folder, opened.json, opened.source, onProgress)) as T;
}

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

export const loadLanguageModel = (folder: string, onProgress?: LoadProgress) =>
  loadTask<LoadedLanguageModel>('language-model', folder, onProgress);
export const loadImageClassifier = (folder: string) => loadTask<LoadedClassifier>('image-classifier', folder);
export const loadSegmentationModel = (folder: string) => loadTask<LoadedSegmentation>('segmentation', folder);

/** Saves any language model as a folder its registry entry loads: config.json (LanguageModel.configJson) and model.safetensors. */
export async function saveLanguageModel(model: LanguageModel, folder: string): Promise<string[]> {
  return await writeModelFolder(folder, model, model.configJson());
}
