export { openCheckpoint, saveSafetensors, type Checkpoint, type SaveOptions } from './checkpoint.js';
export type { FloatWriteDType, ReadArray, StoredDType, TensorEntry } from './dtypes.js';
export {
  checkConfigAgainstWeights,
  expectedParameters,
  parseMambaConfig,
  readMambaConfig,
  toTransformersConfig,
  transformersConfigJson,
  type MambaConfig,
  type WeightLayout,
} from './hf-config.js';
export { openSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsInput } from './safetensors.js';
export { openTorchCheckpoint, type TorchCheckpoint } from './torch-zip.js';
export { loadMambaLM, saveMambaLM, type LoadedMamba, type SaveMambaOptions } from './mamba-model.js';
export { ByteTokenizer, loadTokenizer, Tokenizer, type DecodeOptions, type StreamDecoder, type TextTokenizer } from './tokenizer.js';
export { resolveModel, FALLBACK_TOKENIZER_REPO, type ResolveModelOptions, type ResolvedModel } from './model-source.js';
export { loadModuleWeights, saveModuleWeights, uniqueTensors } from './module-weights.js';
