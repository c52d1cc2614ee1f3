import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { init } from '../backends/node.js';
import { ModelFolderNotFoundError, resolveModel, type ResolvedModel } from '../hub/model-source.js';
import type { LoadedLanguageModel, ModelTask } from '../load/model-types/types.js';
import { folderFiles } from '../io/folder-files.js';
import { taskMismatch } from '../io/registry.js';
import type { TextTokenizer } from '../load/tokenizer.js';
import { loadTextModel } from '../pipeline/load.js';
import { countProgress } from '../util/progress.js';
import { choiceFlag, numberFlag, UsageError } from './args.js';
import { didYouMean } from './suggest.js';

/** Flags every model command takes. */
export const runtimeOptions = {
  threads: { type: 'string' },
  backend: { type: 'string' },
} as const;

export const runtimeUsage = `  --threads N               compute threads, at most the cores (default: every core)
  --backend NAME            wasm (default) or reference`;

/** Applies --backend and --threads through init() before anything allocates tensors. */
export async function applyRuntime(
  values: { threads?: string | boolean | undefined; backend?: string | boolean | undefined },
  usage: string,
): Promise<void> {
  const backend = choiceFlag(
    typeof values.backend === 'string' ? values.backend : undefined,
    'backend',
    ['wasm', 'reference'],
    usage,
    'wasm',
  );
  const threads =
    typeof values.threads === 'string'
      ? numberFlag(values.threads, 'threads', usage, 1, { integer: true, min: 1 })
      : undefined;
  // More threads than cores only take turns, each with its own worker's memory and start-up.
  if (threads !== undefined && threads > availableParallelism())
    throw new UsageError(
      `--threads ${threads} is more than this machine's ${availableParallelism()} cores; give at most ${availableParallelism()}`,
      usage,
    );
  if (backend === 'reference' && threads !== undefined)
    throw new UsageError('--threads applies to the wasm backend only', usage);
  await init({ backend, ...(threads !== undefined && { threads }) });
}

export interface OpenedModel extends LoadedLanguageModel {
  folder: string;
  /** The text tokenizer, or null when the model has none (then only ids can be given). */
  tokenizer: TextTokenizer | null;
}

const MODEL_HELP: Readonly<Record<ModelTask, string>> = {
  'language-model': 'a folder, or a Hugging Face id such as state-spaces/mamba-130m-hf',
  'image-classifier': 'a folder written by mamba-ts train vim or vit',
  segmentation: 'a folder written by mamba-ts train umamba or unet',
};

/**
 * Resolves --model (a folder or a hub id). A folder that does not exist is bad usage: the error
 * says so and names the nearest folder beside it.
 */
export async function resolveModelFlag(
  spec: string | undefined,
  usage: string,
  task?: ModelTask,
): Promise<ResolvedModel> {
  if (!spec) throw new UsageError(`--model is required (${MODEL_HELP[task ?? 'language-model']})`, usage);
  try {
    return await resolveModel(spec);
  } catch (error) {
    if (!(error instanceof ModelFolderNotFoundError)) throw error;
    throw new UsageError(error.message + nearbyFolder(spec, error.path), usage);
  }
}

/** "; did you mean 'runs/mb'?" for a sibling folder of a missing one, in the form the spec was typed. */
function nearbyFolder(spec: string, path: string): string {
  let folders: string[];
  try {
    folders = readdirSync(dirname(path), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return '';
  }
  return didYouMean(basename(path), folders, (name) => join(dirname(spec), name));
}

/**
 * Resolves --model and checks, from config.json before any weights are read, that it holds a
 * model of `task`; otherwise says what it holds and which commands take it.
 */
export async function resolveModelFor(
  spec: string | undefined,
  task: ModelTask,
  usage: string,
): Promise<ResolvedModel> {
  const resolved = await resolveModelFlag(spec, usage, task);
  const wrong = taskMismatch(resolved.folder, task);
  if (wrong !== null) throw new UsageError(wrong, usage);
  return resolved;
}

/** Resolves --model (folder or hub id), loads the language model with progress, and its tokenizer as load() picks it. */
export async function openModel(spec: string | undefined, usage: string): Promise<OpenedModel> {
  const resolved = await resolveModelFor(spec, 'language-model', usage);
  const { model, tokenizer, source } = await loadTextModel(folderFiles(resolved.folder), {
    tokenizerFiles: folderFiles(resolved.tokenizerFolder),
    onProgress: countProgress('loading weights', 'tensors'),
  });
  return { task: 'language-model', model, layout: source.layout, folder: resolved.folder, tokenizer };
}

/** Token ids separated by commas, spaces or newlines (`what` names where they came from). */
export function parseIds(text: string, what: string, usage: string): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  const bad = parts.find((p) => !/^\d+$/.test(p) || !Number.isSafeInteger(Number(p)));
  if (bad !== undefined) throw new UsageError(`${what}: '${bad}' is not a token id (a non-negative integer)`, usage);
  return parts.map(Number);
}

/** Checks that ids are tokens of the model's vocabulary: integers, and not padding rows past vocabLimit. */
export function checkIds(ids: readonly number[], what: string, vocabLimit: number, usage: string): void {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabLimit);
  if (bad !== undefined) throw new UsageError(`${what}: '${bad}' is not a token id in [0, ${vocabLimit})`, usage);
}
