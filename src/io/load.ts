import { fileURLToPath } from 'node:url';
import { resolveModel, type ResolveModelOptions } from '../hub/model-source.js';
import { isUrl, loadOverHttp, loadTextModel, type LoadOptions, type ModelSource } from '../pipeline/load.js';
import type { TextModel } from '../pipeline/text-model.js';
import { folderFiles } from './folder-files.js';

/** load()'s options in Node: those of any source, and the hub cache's for a hub id. */
export type NodeLoadOptions = LoadOptions & Pick<ResolveModelOptions, 'cacheDir' | 'token' | 'offline' | 'progress'>;

/**
 * Loads a language model and its tokenizer in one call: a local folder, a hub id (`org/name`,
 * `org/name@revision`: downloaded into the Hugging Face cache, or taken from it offline), a URL of a
 * model folder, ModelFiles, or the files as bytes by name.
 */
export async function load(source: ModelSource, options: NodeLoadOptions = {}): Promise<TextModel> {
  const path = localPath(source);
  if (path === null) return loadOverHttp(source, options);
  const { revision, hubUrl, cacheDir, token, offline, progress, onProgress } = options;
  const resolved = await resolveModel(path, { revision, hubUrl, cacheDir, token, offline, progress });
  return loadTextModel(folderFiles(resolved.folder), {
    tokenizerFiles: folderFiles(resolved.tokenizerFolder),
    ...(onProgress && { onProgress }),
  });
}

/** The folder or hub id a source names on this machine (a file: URL is a folder), or null for other sources. */
function localPath(source: ModelSource): string | null {
  if (source instanceof URL) return source.protocol === 'file:' ? fileURLToPath(source) : null;
  if (typeof source !== 'string') return null;
  if (source.startsWith('file:')) return fileURLToPath(source);
  return isUrl(source) ? null : source;
}
