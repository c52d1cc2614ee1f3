import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { MambaLM } from '../../src/models/mamba-lm.js';
import { saveMambaGguf } from '../../src/io/gguf-mamba.js';
import type { LlamaCppRequest, LlamaCppResponse } from './llama-cpp-runner.js';

/**
 * llama.cpp as the decode bench's peer: node-llama-cpp (pinned, from `npm run peers:llama`) runs
 * the same weights, written once as a GGUF F32 file of llama.cpp's `mamba` architecture with
 * GPT-NeoX's vocabulary, in a child process per measurement.
 */

const VERSION = '3.21.1';
const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const peerFolder = repo('.cache/peers/llama-cpp');
/** The tokenizer the published Mamba models use; node-llama-cpp aborts on a GGUF with no vocabulary. */
const TOKENIZER = repo('test/fixtures/gpt-neox-20b/tokenizer.json.gz');

export const UNAVAILABLE = 'unavailable: run npm run peers:llama';

/** node-llama-cpp's entry when the pinned version is installed, else undefined. */
export function llamaCppModule(): string | undefined {
  const manifest = `${peerFolder}/node_modules/node-llama-cpp/package.json`;
  if (!existsSync(manifest)) return undefined;
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string };
  return version === VERSION ? `${peerFolder}/node_modules/node-llama-cpp/dist/index.js` : undefined;
}

/**
 * FNV-1a of the last parameter's bytes. Random weights are drawn from one generator in parameter
 * order, so the last tensor changes with the seed, the shape and the way they are drawn.
 */
function fingerprint(model: MambaLM): string {
  const parameters = model.parameters();
  const values = parameters[parameters.length - 1]!.toArray() as Float32Array;
  let hash = 0x811c9dc5;
  for (const byte of new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** The model as a GGUF in .cache/peers/, named by `key` and the weights' fingerprint, written on first use. */
export async function ggufFor(model: MambaLM, key: string): Promise<string> {
  const path = repo(`.cache/peers/${key}-${fingerprint(model)}.gguf`);
  if (!existsSync(path)) {
    const tokenizer: unknown = JSON.parse(gunzipSync(readFileSync(TOKENIZER)).toString('utf8'));
    await saveMambaGguf(path, model, { tokenizer, name: key });
  }
  return path;
}

/** Runs the request in a child process; the reason as a string when llama.cpp could not run. */
export function runLlamaCpp(request: Omit<LlamaCppRequest, 'module'>): LlamaCppResponse | string {
  const module = llamaCppModule();
  if (!module) return UNAVAILABLE;
  const runner = fileURLToPath(new URL('./llama-cpp-runner.js', import.meta.url));
  const child = spawnSync(process.execPath, [runner, JSON.stringify({ ...request, module })], {
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 1 << 24,
  });
  if (child.error) return `failed: ${child.error.message}`;
  if (child.status !== 0) {
    const why = child.stderr.trim().split('\n').slice(-3).join(' / ');
    return `failed: the llama.cpp runner exited with ${child.status ?? child.signal}: ${why}`;
  }
  return JSON.parse(child.stdout) as LlamaCppResponse;
}
