import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseJsonObject } from '../load/model-files.js';
import type { Module } from '../nn/module.js';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { SaveOptions } from './checkpoint.js';
import { saveModuleWeights } from './module-weights.js';

/** The config.json of a model folder (or the config file itself, when `path` names one). */
export function configPath(path: string): string {
  const resolved = resolve(path);
  return statSync(resolved, { throwIfNoEntry: false })?.isDirectory() ? join(resolved, 'config.json') : resolved;
}

/** config.json of a model folder, parsed; one clear error when it is missing or is not a JSON object. */
export function readConfigJson(path: string): Record<string, unknown> {
  const file = configPath(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MambaError(
      `${missing ? `${dirname(file)} has no config.json` : `${file}: cannot read it (${(error as Error).message})`}; a model folder needs config.json and its weights`,
    );
  }
  return parseJsonObject(text, file, 'a model config must be a JSON object');
}

/**
 * Writes a model folder: the module's weights as model.safetensors (sharded on request), then
 * config.json, each atomically and the config last, so that a folder with a config has its
 * weights. Returns the files written.
 */
export async function writeModelFolder(
  folder: string,
  module: Module,
  configText: string,
  options: Pick<SaveOptions, 'dtype' | 'maxShardBytes'> = {},
): Promise<string[]> {
  mkdirSync(folder, { recursive: true });
  const weights = await saveModuleWeights(module, join(folder, 'model.safetensors'), options);
  const config = join(folder, 'config.json');
  writeFileAtomic(config, configText);
  return [...weights, config];
}
