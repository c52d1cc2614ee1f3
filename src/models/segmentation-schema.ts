import { MambaError } from '../util/errors.js';
import { UMamba, type UMambaConfig } from './umamba.js';
import { UNet, type SegmentationNetwork, type UNetConfig } from './unet.js';
import type { InitOptions } from '../nn/init.js';

/**
 * What a segmentation model folder records besides the weights (config.json): the network, the
 * class names, how images are preprocessed, and the data and split it was trained on. Data
 * readers (data/segmentation.ts) and the folder loader both use these types.
 */

export type MricronTask = 'brain' | 'aal' | 'aal-lobes';
export const MRICRON_TASKS: readonly MricronTask[] = ['brain', 'aal', 'aal-lobes'];

/** Where the test slices come from; stored with a trained model so that evaluation uses the same split. */
export type SegmentationDataSpec =
  | {
      kind: 'mricron';
      task: MricronTask;
      /** Held-out axial slices [start, end). */ testSlices: [number, number];
      /** Slices left out on each side of the held-out block, so that no training slice neighbours a test slice. */ gap: number;
    }
  | {
      kind: 'folder';
      path: string;
      /** Used when the folder has no train/ and test/ subfolders: the last fraction of the sorted names is held out. */ testFraction: number;
    };

export interface Preprocessing {
  /** z-score over the volume's nonzero voxels (MRI, whose air is 0), or over all pixels of each image (PNG). */
  normalisation: 'zscore-nonzero' | 'zscore';
  /** Each slice is resized by this factor before it reaches the network; predictions are resized back. */
  scale: number;
  /** The network's downsampling: padded sizes are multiples of it. */
  divisor: number;
}

/** The network of a segmentation model folder, as config.json's model_type and network settings. */
export type SegmentationNetworkSpec = { type: 'umamba'; config: UMambaConfig } | { type: 'unet'; config: UNetConfig };

/** Everything besides the weights that a model folder records: enough to preprocess, predict and re-evaluate. */
export interface SegmentationModelInfo {
  network: SegmentationNetworkSpec;
  classNames: string[];
  preprocessing: Preprocessing;
  /** The data (and split) the model was trained on; `eval` uses it unless told otherwise. */
  data: SegmentationDataSpec;
}

export const SEGMENTATION_MODEL_TYPES = ['umamba', 'unet'] as const;

/** A new U-Mamba or U-Net from the network part of a segmentation folder's config. */
export function buildSegmentationNetwork(
  spec: SegmentationNetworkSpec,
  options: InitOptions = {},
): SegmentationNetwork {
  return spec.type === 'umamba' ? new UMamba(spec.config, options) : new UNet(spec.config, options);
}

/** config.json's text: model_type "umamba" or "unet", the network settings, class names, preprocessing and data. */
export function segmentationConfigJson(info: SegmentationModelInfo): string {
  const json = {
    model_type: info.network.type,
    network: info.network.config,
    class_names: info.classNames,
    preprocessing: info.preprocessing,
    data: info.data,
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** Reads and checks a segmentation folder's config.json; `source` names the file in errors. */
export function parseSegmentationInfo(json: Record<string, unknown>, source: string): SegmentationModelInfo {
  const type = json['model_type'];
  if (!(SEGMENTATION_MODEL_TYPES as readonly unknown[]).includes(type)) {
    throw new MambaError(
      `${source}: model_type ${JSON.stringify(type)} is not a segmentation model (${SEGMENTATION_MODEL_TYPES.join(' or ')})`,
    );
  }
  const network = json['network'] as (UMambaConfig & UNetConfig) | undefined;
  const classNames = json['class_names'];
  const preprocessing = json['preprocessing'] as Preprocessing | undefined;
  const data = json['data'] as SegmentationDataSpec | undefined;
  if (
    !network ||
    typeof network !== 'object' ||
    !Array.isArray(network.features) ||
    typeof network.classes !== 'number'
  ) {
    throw new MambaError(`${source}: "network" must hold the network settings (features, classes, ...)`);
  }
  if (!Array.isArray(classNames) || classNames.length !== network.classes)
    throw new MambaError(`${source}: "class_names" must name the ${network.classes} classes`);
  if (
    !preprocessing ||
    typeof preprocessing.scale !== 'number' ||
    typeof preprocessing.divisor !== 'number' ||
    !['zscore', 'zscore-nonzero'].includes(preprocessing.normalisation)
  ) {
    throw new MambaError(
      `${source}: "preprocessing" needs normalisation (zscore or zscore-nonzero), scale and divisor`,
    );
  }
  if (!data || (data.kind !== 'mricron' && data.kind !== 'folder'))
    throw new MambaError(`${source}: "data" must describe the training data (kind mricron or folder)`);
  return {
    network: { type, config: network } as SegmentationNetworkSpec,
    classNames: classNames as string[],
    preprocessing,
    data,
  };
}
