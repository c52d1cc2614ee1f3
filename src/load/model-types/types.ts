import type { LanguageModel } from '../../models/language-model.js';
import type { ModelFiles } from '../model-files.js';
import type { Checkpoint } from '../checkpoint.js';
import type { ClassifierInfo } from '../../models/classifier-schema.js';
import type { SegmentationModelInfo } from '../../models/segmentation-schema.js';
import type { SegmentationNetwork } from '../../models/unet.js';
import type { Vim } from '../../models/vim.js';
import type { ViT } from '../../models/vit.js';

/** What a model does, which decides the commands that take it. */
export type ModelTask = 'language-model' | 'image-classifier' | 'segmentation';

export interface LoadedLanguageModel {
  task: 'language-model';
  model: LanguageModel;
  /** How the weights were named on disk: Mamba's 'original' or 'transformers' layout, else the model type. */
  layout: string;
}

export interface LoadedClassifier extends ClassifierInfo {
  task: 'image-classifier';
  model: Vim | ViT;
}

export interface LoadedSegmentation {
  task: 'segmentation';
  model: SegmentationNetwork;
  info: SegmentationModelInfo;
}

export type LoadedModel = LoadedLanguageModel | LoadedClassifier | LoadedSegmentation;

export type LoadProgress = (done: number, total: number) => void;

/** What a model folder's config.json and the header of its weights say about the model (`mamba-ts info`). */
export interface ModelSummary {
  /** How the weights are named on disk: Mamba's 'original' or 'transformers' layout, else the model type. */
  layout: string;
  /** The config the model is built from, as the loader reads it. */
  config: object;
  /** The sizes that matter, in one line: widths, depth, state, vocabulary or classes. */
  sizes: string;
  /** Stored tensors that repeat another's values (a head tied to the embedding): not counted as parameters. */
  repeated: readonly string[];
  /** Whether a language model's output head is its embedding matrix. */
  tiedHead?: boolean;
  /**
   * The float32 values of a language model's recurrent state: per sequence when it has a fixed
   * size (Mamba), per token when it is a cache that grows with the sequence (a Transformer).
   */
  state?: { values: number; per: 'sequence' | 'token' };
}

/**
 * One kind of model folder: which config.json it reads, what the model does, and how to build the
 * model and fill its weights. Saving is each entry's own function (its inputs differ by task).
 */
export interface ModelTypeEntry {
  /** The model_type values of its config.json, first the one it writes. */
  readonly modelTypes: readonly string[];
  readonly task: ModelTask;
  /** What the model is, for messages. */
  readonly description: string;
  /** Whether this entry reads a config.json (by its model_type, or its keys where it has none). */
  accepts(json: Record<string, unknown>): boolean;
  /** Builds the model `json` (read from the config file `source`) describes and fills its weights from `files`. */
  load(
    files: ModelFiles,
    json: Record<string, unknown>,
    source: string,
    onProgress?: LoadProgress,
  ): Promise<LoadedModel>;
  /**
   * Describes the model from its config and the weights' names and shapes, without reading their
   * values; a config that asks for more than the weights hold is refused as load() refuses it.
   */
  summarise(json: Record<string, unknown>, source: string, checkpoint: Checkpoint): ModelSummary;
}
