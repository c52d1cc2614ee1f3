import { memoryFiles, urlFiles, type ModelFiles, type UrlFilesOptions } from '../load/model-files.js';
import type { LoadedLanguageModel, LoadProgress } from '../load/model-types/types.js';
import { loadModelFiles } from '../load/registry.js';
import { ByteTokenizer, readTokenizer, type TextTokenizer } from '../load/tokenizer.js';
import { MambaError } from '../util/errors.js';
import { DEFAULT_HUB_ENDPOINT, FALLBACK_TOKENIZER_REPO, HUB_ID } from '../util/model-repo.js';
import { TextModel } from './text-model.js';

/**
 * What load() takes: a model id or a folder (Node), a URL of a model folder, ModelFiles, or the
 * folder's files as bytes by name (`{ 'config.json': ..., 'model.safetensors': ... }`).
 */
export type ModelSource = string | URL | ModelFiles | Readonly<Record<string, Uint8Array>>;

export interface LoadOptions {
  /** Called as the weights are read: tensors done of total. */
  onProgress?: LoadProgress;
  /** Called as each file of a URL downloads (bytes received, total where known). */
  onDownload?: UrlFilesOptions['onDownload'];
  /** The fetch for URLs and hub ids fetched over HTTP (default: the global one). */
  fetch?: typeof fetch;
  /** Hub revision (branch, tag or commit) for a hub id fetched over HTTP (default 'main'). */
  revision?: string;
  /** Hub address for ids fetched over HTTP (default https://huggingface.co). */
  hubUrl?: string;
}

/** A TextModel from a model folder's files, with its tokenizer (see pickTokenizer). */
export async function loadTextModel(
  files: ModelFiles,
  options: { tokenizerFiles?: ModelFiles; onProgress?: LoadProgress } = {},
): Promise<TextModel> {
  const loaded = (await loadModelFiles(files, {
    task: 'language-model',
    ...(options.onProgress && { onProgress: options.onProgress }),
  })) as LoadedLanguageModel;
  try {
    const tokenizer = await pickTokenizer(files, loaded, options.tokenizerFiles);
    return new TextModel(loaded.model, tokenizer, { name: files.name, layout: loaded.layout });
  } catch (error) {
    loaded.model.dispose();
    throw error;
  }
}

/**
 * The folder's own tokenizer.json; else, for the original-layout Mamba checkpoints (which ship
 * none), the one in `tokenizerFiles`; else the byte tokenizer for a model over 256 ids (MambaByte);
 * else none (the model takes ids only).
 */
async function pickTokenizer(
  files: ModelFiles,
  loaded: LoadedLanguageModel,
  tokenizerFiles: ModelFiles | undefined,
): Promise<TextTokenizer | null> {
  const own = await readTokenizer(files);
  if (own) return own;
  if (loaded.layout === 'original' && tokenizerFiles) return await readTokenizer(tokenizerFiles);
  return loaded.model.vocabLimit === 256 ? new ByteTokenizer() : null;
}

/** ModelFiles for every source but a string that is not a URL (a folder or a hub id, which Node resolves on disk). */
export function filesOf(source: Exclude<ModelSource, string> | string, options: LoadOptions = {}): ModelFiles {
  if (typeof source === 'string' || source instanceof URL) return urlFiles(source, urlOptions(options));
  if (isModelFiles(source)) return source;
  return memoryFiles(source);
}

/** Whether a string names a URL of its own (http:, https:, file:, blob:, data:). */
export function isUrl(spec: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec);
}

/**
 * A model from anywhere a web page can read: a URL (absolute, or relative to `base`), a hub id
 * (`org/name` or `org/name@revision`, fetched from the hub over HTTP, with gpt-neox-20b's
 * tokenizer for the original-layout checkpoints), ModelFiles or bytes by name.
 */
export async function loadOverHttp(source: ModelSource, options: LoadOptions = {}, base?: string): Promise<TextModel> {
  if (typeof source !== 'string') return loadTextModel(filesOf(source, options), weightOptions(options));
  if (isUrl(source)) return loadTextModel(filesOf(source, options), weightOptions(options));
  const id = HUB_ID.exec(source);
  if (id && !source.startsWith('.')) {
    const revision = id[2] ?? options.revision ?? 'main';
    return loadTextModel(hubFiles(id[1]!, revision, options), {
      ...weightOptions(options),
      tokenizerFiles: hubFiles(FALLBACK_TOKENIZER_REPO, 'main', options),
    });
  }
  if (base === undefined)
    throw new MambaError(`'${source}' is neither a URL nor a hub id (org/name); give the model folder's full URL`);
  return loadTextModel(filesOf(new URL(source, base), options), weightOptions(options));
}

/** A hub repository's files at a revision, over HTTP (the hub allows cross-origin reads). */
function hubFiles(repo: string, revision: string, options: LoadOptions): ModelFiles {
  const endpoint = (options.hubUrl ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  return urlFiles(`${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/`, urlOptions(options));
}

function urlOptions(options: LoadOptions): UrlFilesOptions {
  return {
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.onDownload && { onDownload: options.onDownload }),
  };
}

function weightOptions(options: LoadOptions): { onProgress?: LoadProgress } {
  return options.onProgress ? { onProgress: options.onProgress } : {};
}

function isModelFiles(value: object): value is ModelFiles {
  return typeof (value as ModelFiles).open === 'function' && typeof (value as ModelFiles).name === 'string';
}
