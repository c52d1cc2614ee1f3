import { MambaError } from '../util/errors.js';
import { locate, parseJsonObject, readTextFile, type ModelFiles } from './model-files.js';
import { classifierEntry } from './model-types/classifier.js';
import { moeMambaEntry, transformerEntry } from './model-types/generic-lm.js';
import { mambaEntry } from './model-types/mamba.js';
import { segmentationEntry } from './model-types/segmentation.js';
import type { LoadedModel, LoadProgress, ModelTask, ModelTypeEntry } from './model-types/types.js';

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

/** What a folder's model is and which commands take it, when it does another task than `task`; else null. */
export function taskMismatch(task: ModelTask, { json, source, entry }: ModelConfig): string | null {
  if (entry.task === task) return null;
  return `${source} describes ${entry.description} (model_type ${JSON.stringify(json['model_type'])}), not ${TASK_NAMES[task]}; use it with mamba-ts ${TASK_COMMANDS[entry.task].join(', ')}`;
}

export interface ModelConfig {
  /** config.json, parsed. */
  json: Record<string, unknown>;
  /** Where config.json is, for messages. */
  source: string;
  /** The registry entry that reads it. */
  entry: ModelTypeEntry;
}

/** A model folder's config.json and the entry that reads it. */
export async function readModelConfig(files: ModelFiles): Promise<ModelConfig> {
  const source = locate(files, 'config.json');
  const text = await readTextFile(files, 'config.json');
  if (text === null)
    throw new MambaError(`${files.name} has no config.json; a model folder needs config.json and its weights`);
  const json = parseJsonObject(text, source, 'a model config must be a JSON object');
  return { json, source, entry: modelTypeEntry(json, source) };
}

/**
 * Loads whatever model a folder holds, onto the current backend; with `task`, the folder must hold
 * a model of that task, otherwise the error says what it holds and which commands take it.
 */
export async function loadModelFiles(
  files: ModelFiles,
  options: { task?: ModelTask; onProgress?: LoadProgress } = {},
): Promise<LoadedModel> {
  const config = await readModelConfig(files);
  const wrong = options.task === undefined ? null : taskMismatch(options.task, config);
  if (wrong !== null) throw new MambaError(wrong);
  return await config.entry.load(files, config.json, config.source, options.onProgress);
}
