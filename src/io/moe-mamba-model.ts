import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MoEMambaLM, type MoEMambaConfig } from '../models/moe-mamba.js';
import { withoutInitialisation } from '../nn/init.js';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadModuleWeights, saveModuleWeights } from './module-weights.js';

/** Saves config.json (model_type "moe-mamba": the Mamba and MoE settings and the layer pattern) and model.safetensors. */
export async function saveMoEMamba(model: MoEMambaLM, folder: string): Promise<string[]> {
  mkdirSync(folder, { recursive: true });
  const weights = await saveModuleWeights(model, join(folder, 'model.safetensors'));
  const configPath = join(folder, 'config.json');
  writeFileAtomic(configPath, model.configJson());
  return [...weights, configPath];
}

export function parseMoEMambaConfig(json: Record<string, unknown>, source: string): MoEMambaConfig {
  const { mamba, moe, pattern } = json as Partial<MoEMambaConfig>;
  if (!mamba || !moe || !Array.isArray(pattern)) throw new MambaError(`${source}: a moe-mamba config needs "mamba", "moe" and "pattern"`);
  return { mamba, moe, pattern };
}

export async function loadMoEMamba(folder: string, json: Record<string, unknown>): Promise<MoEMambaLM> {
  const model = withoutInitialisation(() => new MoEMambaLM(parseMoEMambaConfig(json, join(folder, 'config.json'))));
  await loadModuleWeights(model, folder);
  return model;
}

/** config.json of a folder, parsed; a clear error when it is missing or not JSON. */
export function readConfigJson(folder: string): Record<string, unknown> {
  const path = join(folder, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new MambaError(`${folder} has no config.json; a model folder needs config.json and its weights`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new MambaError(`${path} is not valid JSON (${(error as Error).message})`);
  }
}
