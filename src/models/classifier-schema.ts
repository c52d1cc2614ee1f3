import { MambaError } from '../util/errors.js';
import { above, Fields, range } from '../util/schema.js';
import { Vim, vimConfig, type ImageClassifier, type VimConfig, type VimConfigOptions } from './vim.js';
import { ViT, vitConfig, type VitConfig, type VitConfigOptions } from './vit.js';

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

/** The network of a classifier folder: model_type "vim" or "vit" and its config. */
export type ClassifierNetwork = { modelType: 'vim'; config: VimConfig } | { modelType: 'vit'; config: VitConfig };

/** Pixel statistics: finite, and far inside float32's range. */
const PIXEL_MEAN = range(-1e6, 1e6);
const PIXEL_STD = above(0, 1e6);

/** Reads and checks a classifier's config.json without building the network. */
export function parseClassifierJson(
  json: unknown,
  source: string,
): { network: ClassifierNetwork; info: ClassifierInfo } {
  const f = Fields.of(json, source, 'a model config');
  const kind = f.raw('model_type');
  if (kind !== 'vim' && kind !== 'vit') {
    throw new MambaError(
      `${source} describes a ${typeof kind === 'string' ? `'${kind}'` : 'model without a model_type'}, not an image classifier; give a folder written by mamba-ts train vim (or vit)`,
    );
  }
  // The configs read their own keys; model_type, classNames and normalisation are ignored there.
  const network: ClassifierNetwork =
    kind === 'vim'
      ? { modelType: kind, config: vimConfig(f.json as unknown as VimConfigOptions, source) }
      : { modelType: kind, config: vitConfig(f.json as unknown as VitConfigOptions, source) };
  const classes = range(network.config.numClasses, network.config.numClasses);
  const channels = range(network.config.channels, network.config.channels);
  const normalisation = f.object('normalisation');
  return {
    network,
    info: {
      classNames: f.strings('classNames', classes),
      normalisation: {
        mean: normalisation.numbers('mean', channels, PIXEL_MEAN),
        std: normalisation.numbers('std', channels, PIXEL_STD),
      },
    },
  };
}

/** The (uninitialised) network a classifier config describes. */
export function buildClassifier(network: ClassifierNetwork): Vim | ViT {
  return network.modelType === 'vim' ? new Vim(network.config) : new ViT(network.config);
}

/** Builds the (uninitialised) network a config.json describes and checks the rest of it. */
export function parseClassifier(json: unknown, source: string): { model: Vim | ViT; info: ClassifierInfo } {
  const { network, info } = parseClassifierJson(json, source);
  return { model: buildClassifier(network), info };
}
