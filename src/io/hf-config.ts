import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MambaConfig } from '../models/mamba-config.js';
import { parseMambaConfig } from '../models/mamba-config-json.js';
import { MambaError } from '../util/errors.js';

/** Reads and parses config.json from a checkpoint folder, or the config file at `path`. */
export async function readMambaConfig(path: string): Promise<MambaConfig> {
  const resolved = resolve(path);
  const file = statSync(resolved, { throwIfNoEntry: false })?.isDirectory() ? join(resolved, 'config.json') : resolved;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new MambaError(`${file}: cannot read the model config; a checkpoint folder needs its config.json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MambaError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseMambaConfig(json, file);
}

