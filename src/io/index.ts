export { openCheckpoint, saveSafetensors, type Checkpoint, type SaveOptions } from './checkpoint.js';
export type { FloatWriteDType, ReadArray, StoredDType, TensorEntry } from './dtypes.js';
export {
  checkConfigAgainstWeights,
  expectedParameters,
  parseMambaConfig,
  toTransformersConfig,
  transformersConfigJson,
  type WeightLayout,
} from '../models/mamba-config-json.js';
export type { MambaConfig } from '../models/mamba-config.js';
export { openSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsInput } from './safetensors.js';
export { openTorchCheckpoint, type TorchCheckpoint } from './torch-zip.js';
export { loadMambaLM, readMambaConfig, saveMambaLM, type LoadedMamba, type SaveMambaOptions } from './model-types/mamba.js';
export { saveVisionModel } from './model-types/classifier.js';
export { saveSegmentationModel } from './model-types/segmentation.js';
export type { LoadedClassifier, LoadedLanguageModel, LoadedModel, LoadedSegmentation, ModelTask, ModelTypeEntry } from './model-types/types.js';
export { loadImageClassifier, loadLanguageModel, loadModel, loadSegmentationModel, modelTaskOf, MODEL_TYPES, saveLanguageModel, TASK_COMMANDS } from './registry.js';
export { readConfigJson, writeModelFolder } from './model-folder.js';
export { ByteTokenizer, loadTokenizer, Tokenizer, type DecodeOptions, type StreamDecoder, type TextTokenizer } from './tokenizer.js';
export { resolveModel, FALLBACK_TOKENIZER_REPO, type ResolveModelOptions, type ResolvedModel } from './model-source.js';
export { loadModuleWeights, saveModuleWeights, uniqueTensors } from './module-weights.js';
