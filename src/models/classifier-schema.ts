import { MambaError } from '../util/errors.js';
import { Vim, vimConfig, type ImageClassifier, type VimConfig } from './vim.js';
import { ViT, vitConfig, type VitConfig } from './vit.js';

/**
 * What an image classifier's folder records besides the weights (config.json): the network
 * (model_type "vim" or "vit" and its config), the class names and the input normalisation.
 */

/** Per-channel mean and std that images are normalised with before they reach the network. */
export interface Normalisation {
  mean: number[];
  std: number[];
}

export interface ClassifierInfo {
  /** Class index -> name. */
  classNames: string[];
  /** The per-channel normalisation the model was trained with. */
  normalisation: Normalisation;
}

export const CLASSIFIER_MODEL_TYPES = ['vim', 'vit'] as const;

/** config.json's text: model_type, the model's config, the class names and the normalisation. */
export function classifierConfigJson(model: ImageClassifier, info: ClassifierInfo): string {
  if (info.classNames.length !== model.config.numClasses) {
    throw new MambaError(
      `saving a classifier: ${info.classNames.length} class names for a model with ${model.config.numClasses} classes`,
    );
  }
  return (
    JSON.stringify(
      { model_type: model.modelType, ...model.config, classNames: info.classNames, normalisation: info.normalisation },
      null,
      2,
    ) + '\n'
  );
}

function numbers(value: unknown, length: number): value is number[] {
  return (
    Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number' && Number.isFinite(v))
  );
}

/** The network of a classifier folder: model_type "vim" or "vit" and its config. */
export type ClassifierNetwork = { modelType: 'vim'; config: VimConfig } | { modelType: 'vit'; config: VitConfig };

/** Reads and checks a classifier's config.json without building the network. */
export function parseClassifierJson(
  json: Record<string, unknown>,
  source: string,
): { network: ClassifierNetwork; info: ClassifierInfo } {
  const {
    model_type: kind,
    classNames,
    normalisation,
    ...config
  } = json as Record<string, unknown> & { model_type?: unknown; classNames?: unknown; normalisation?: Normalisation };
  if (kind !== 'vim' && kind !== 'vit') {
    throw new MambaError(
      `${source} describes a ${typeof kind === 'string' ? `'${kind}'` : 'model without a model_type'}, not an image classifier; give a folder written by mamba-ts train vim (or vit)`,
    );
  }
  let network: ClassifierNetwork;
  try {
    network =
      kind === 'vim'
        ? { modelType: kind, config: vimConfig(config as unknown as VimConfig) }
        : { modelType: kind, config: vitConfig(config as unknown as VitConfig) };
  } catch (error) {
    if (error instanceof MambaError) throw new MambaError(`${source}: ${error.message}`);
    throw error;
  }
  const classes = network.config.numClasses;
  const channels = network.config.channels;
  if (!Array.isArray(classNames) || classNames.length !== classes || !classNames.every((n) => typeof n === 'string')) {
    throw new MambaError(`${source}: "classNames" must list the names of the ${classes} classes`);
  }
  if (
    !normalisation ||
    !numbers(normalisation.mean, channels) ||
    !numbers(normalisation.std, channels) ||
    normalisation.std.some((s) => s <= 0)
  ) {
    throw new MambaError(
      `${source}: "normalisation" must hold the mean and (positive) std of each of the ${channels} input channels`,
    );
  }
  return { network, info: { classNames, normalisation: { mean: normalisation.mean, std: normalisation.std } } };
}

/** Builds the (uninitialised) network a config.json describes and checks the rest of it. */
export function parseClassifier(
  json: Record<string, unknown>,
  source: string,
): { model: Vim | ViT; info: ClassifierInfo } {
  const { network, info } = parseClassifierJson(json, source);
  return { model: network.modelType === 'vim' ? new Vim(network.config) : new ViT(network.config), info };
}
