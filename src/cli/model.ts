import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend } from '../backends/registry.js';
import { createNodeWasmBackend } from '../backends/wasm/node.js';
import { resolveModel } from '../hub/model-source.js';
import type { LoadedLanguageModel } from '../load/model-types/types.js';
import { loadLanguageModel } from '../io/registry.js';
import { ByteTokenizer, loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { MambaError } from '../util/errors.js';
import { numberFlag, UsageError } from './args.js';

/** Flags every model command takes. */
export const runtimeOptions = {
  threads: { type: 'string' },
  backend: { type: 'string' },
} as const;

export const runtimeUsage = `  --threads N               compute threads (default: every core)
  --backend NAME            wasm (default) or reference`;

/** Applies --backend and --threads before anything allocates tensors. */
export function applyRuntime(
  values: { threads?: string | boolean | undefined; backend?: string | boolean | undefined },
  usage: string,
): void {
  const backend = typeof values.backend === 'string' ? values.backend : 'wasm';
  if (backend !== 'wasm' && backend !== 'reference')
    throw new UsageError(`--backend must be wasm or reference, got '${backend}'`, usage);
  const threads =
    typeof values.threads === 'string'
      ? numberFlag(values.threads, 'threads', usage, 1, { integer: true, min: 1 })
      : undefined;
  if (backend === 'reference') {
    if (threads !== undefined) throw new UsageError('--threads applies to the wasm backend only', usage);
    setBackend('reference');
  } else {
    setBackend(createNodeWasmBackend(threads === undefined ? {} : { threads }));
  }
}

export interface OpenedModel extends LoadedLanguageModel {
  folder: string;
  /** The text tokenizer, or null when the model has none (then only ids can be given). */
  tokenizer: TextTokenizer | null;
}

/** Resolves --model (folder or hub id), loads the weights with progress, and finds a tokenizer. */
export async function openModel(spec: string | undefined, usage: string): Promise<OpenedModel> {
  if (!spec)
    throw new UsageError(
      '--model is required (a folder, or a Hugging Face id such as state-spaces/mamba-130m-hf)',
      usage,
    );
  const resolved = await resolveModel(spec);
  const progress = process.stderr.isTTY;
  const loaded = await loadLanguageModel(resolved.folder, (done, total) => {
    if (progress) process.stderr.write(`\rloading weights ${done}/${total}${done === total ? '\n' : ''}`);
  });
  let tokenizer: TextTokenizer | null = null;
  if (existsSync(join(resolved.tokenizerFolder, 'tokenizer.json'))) tokenizer = loadTokenizer(resolved.tokenizerFolder);
  else if (loaded.model.vocabSize === 256) tokenizer = new ByteTokenizer();
  return { ...loaded, folder: resolved.folder, tokenizer };
}

/** Integers separated by commas, spaces or newlines. */
export function parseIds(text: string, what: string, vocabSize: number): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  const ids = parts.map(Number);
  const bad = parts.findIndex(
    (p, i) => !Number.isInteger(ids[i]) || ids[i]! < 0 || ids[i]! >= vocabSize || !/^\d+$/.test(p),
  );
  if (bad >= 0) throw new MambaError(`${what}: '${parts[bad]}' is not a token id in [0, ${vocabSize})`);
  return ids;
}
