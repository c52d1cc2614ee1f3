import { MambaError } from '../util/errors.js';
import { UMamba, umambaConfigFrom, type UMambaConfig } from './umamba.js';
import { above, Fields, range } from '../util/schema.js';
import { RATE } from './config-limits.js';
import { UNet, unetConfigFrom, type SegmentationNetwork, type UNetConfig } from './unet.js';
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

const NORMALISATIONS: readonly Preprocessing['normalisation'][] = ['zscore-nonzero', 'zscore'];
/** Resizing factors and padding multiples a slice may be preprocessed with. */
const SCALE = above(0, 16);
const DIVISOR = range(1, 4096);
/** Axial slice indices of a volume. */
const SLICE = range(0, 65536);

function segmentationData(f: Fields): SegmentationDataSpec {
  const kind = f.choice('kind', ['mricron', 'folder'] as const);
  if (kind === 'folder') return { kind, path: f.string('path'), testFraction: f.number('testFraction', RATE) };
  const [start, end] = f.ints('testSlices', range(2, 2), SLICE) as [number, number];
  f.ordered('testSlices[0]', start, 'testSlices[1]', end);
  return { kind, task: f.choice('task', MRICRON_TASKS), testSlices: [start, end], gap: f.int('gap', SLICE) };
}

/** Reads and checks a segmentation folder's config.json; `source` names the file in errors. */
export function parseSegmentationInfo(json: unknown, source: string): SegmentationModelInfo {
  const f = Fields.of(json, source, 'a model config');
  const type = f.raw('model_type');
  if (type !== 'umamba' && type !== 'unet') {
    throw new MambaError(
      `${source}: model_type ${JSON.stringify(type)} is not a segmentation model (${SEGMENTATION_MODEL_TYPES.join(' or ')})`,
    );
  }
  const spec = f.object('network');
  const network: SegmentationNetworkSpec =
    type === 'unet' ? { type, config: unetConfigFrom(spec) } : { type, config: umambaConfigFrom(spec) };
  const classes = range(network.config.classes, network.config.classes);
  const preprocessing = f.object('preprocessing');
  return {
    network,
    classNames: f.strings('class_names', classes),
    preprocessing: {
      normalisation: preprocessing.choice('normalisation', NORMALISATIONS),
      scale: preprocessing.number('scale', SCALE),
      divisor: preprocessing.int('divisor', DIVISOR),
    },
    data: segmentationData(f.object('data')),
  };
}
