// The `mamba-ts/io` entry: model folders and files on disk, and the Hugging Face hub. The
// byte-level formats they read are in `mamba-ts/formats`.
// Its models compute, so it sets up what the main entry does: Node's backends and the fluent
// tensor methods (with their types: see api.ts).
import '../backends/node.js';
export * from '../ops/fluent.js';

export { openCheckpoint, saveSafetensors, type Checkpoint, type SaveOptions } from './checkpoint.js';
export type { FloatWriteDType, ReadArray, StoredDType, TensorEntry } from '../formats/dtypes.js';
export type { SafetensorsInput } from '../formats/safetensors.js';
export { fileSource, writeFileAtomicStreaming } from './files.js';
export {
  checkConfigAgainstWeights,
  expectedParameters,
  parseMambaConfig,
  toTransformersConfig,
  transformersConfigJson,
  type WeightLayout,
} from '../models/mamba-config-json.js';
export type { MambaConfig } from '../models/mamba-config.js';
export {
  loadMambaLM,
  readMambaConfig,
  saveMambaLM,
  type LoadedMamba,
  type SaveMambaOptions,
} from './model-types/mamba.js';
export { folderFiles } from './folder-files.js';
export { saveMambaGguf, writeMambaGguf, type GgufMambaOptions } from './gguf-mamba.js';
export { saveVisionModel } from './model-types/classifier.js';
export { saveSegmentationModel } from './model-types/segmentation.js';
export type {
  LoadedClassifier,
  LoadedLanguageModel,
  LoadedModel,
  LoadedSegmentation,
  ModelSummary,
  ModelTask,
  ModelTypeEntry,
} from '../load/model-types/types.js';
export {
  describeModel,
  loadImageClassifier,
  loadLanguageModel,
  loadModel,
  loadSegmentationModel,
  modelTaskOf,
  MODEL_TYPES,
  saveLanguageModel,
  TASK_COMMANDS,
  taskMismatch,
  type ModelDescription,
} from './registry.js';
export { readConfigJson, writeModelFolder } from './model-folder.js';
export {
  ByteTokenizer,
  loadTokenizer,
  Tokenizer,
  type DecodeOptions,
  type StreamDecoder,
  type TextTokenizer,
} from './tokenizer.js';
export {
  resolveModel,
  FALLBACK_TOKENIZER_REPO,
  ModelFolderNotFoundError,
  type ResolveModelOptions,
  type ResolvedModel,
} from '../hub/model-source.js';
export { loadModuleWeights, saveModuleWeights, uniqueTensors } from './module-weights.js';
export { readImage, writePng } from './image-files.js';
export { readNifti, writeNifti } from './nifti-files.js';
