/**
 * The library API that Node (index.ts) and the browser (browser.ts) share. It must stay free
 * of node: imports, directly or through what it imports, so that browsers can load it.
 */
// The fluent methods (x.add(y), loss.backward()) are for users of the library; src/ itself calls the ops.
// `export *` rather than a bare import, which some TypeScript versions leave out of the .d.ts: this
// stays in both the .js and the .d.ts, so the methods' types reach users along with the methods.
export * from './ops/fluent.js';

export * from './ops/index.js';
export * as nn from './nn/index.js';
export { selectiveScan, type SelectiveScanArgs, type SelectiveScanOptions } from './ssm/selective-scan.js';
export { mambaStep, type MambaStepWeights, type MambaStepState } from './ssm/mamba-step.js';
export { MambaMixer, type MambaLayerState } from './ssm/mamba-mixer.js';
export { MambaLM, MambaBackbone, MambaBlock, type MambaState } from './models/mamba-lm.js';
export {
  disposeState,
  joinStates,
  type LanguageModel,
  type LMForwardOptions,
  type LMState,
} from './models/language-model.js';
export { mambaConfig, type MambaConfig, type MambaConfigOptions } from './models/mamba-config.js';
export { mambaMixerConfig, type MambaMixerConfig, type MambaMixerConfigOptions } from './ssm/mixer-config.js';
export {
  TransformerLM,
  TransformerBlock,
  CausalSelfAttention,
  TransformerMLP,
  CausalMask,
  transformerConfig,
  transformerParameterCount,
  transformerConfigForParameters,
  TRANSFORMER_TYPE,
  type TransformerConfig,
  type TransformerConfigOptions,
  type TransformerSizeOptions,
  type TransformerState,
  type TransformerLayerState,
} from './models/transformer.js';
export {
  MoEMambaLM,
  MoEBlock,
  MambaLayerBlock,
  alternatingPattern,
  checkMoEMambaConfig,
  MOE_MAMBA_TYPE,
  type MoEMambaConfig,
  type MoEMambaState,
  type LayerKind,
} from './models/moe-mamba.js';
export { SwitchMoE, checkMoEConfig, type MoEConfig, type MoEStats } from './ssm/switch-moe.js';
export { BiMambaMixer } from './ssm/bimamba.js';
export {
  Vim,
  VimBlock,
  PatchEmbed,
  vimConfig,
  vimPreset,
  vimMixerConfig,
  vimClassTokenPosition,
  VIM_PRESETS,
  type ImageClassifier,
  type VimConfig,
  type VimConfigOptions,
  type VimPreset,
} from './models/vim.js';
export {
  ViT,
  VitBlock,
  vitConfig,
  vitParameterCount,
  vitConfigForParameters,
  VIT_PRESETS,
  type VitConfig,
  type VitConfigOptions,
} from './models/vit.js';
export { UMamba, umambaConfig, type UMambaConfig, type UMambaOptions, type UMambaVariant } from './models/umamba.js';
export {
  UNet,
  UShapedNetwork,
  unetConfigForParameters,
  deepSupervisionWeights,
  type SegmentationNetwork,
  type UNetConfig,
} from './models/unet.js';
export {
  classifierConfigJson,
  parseClassifier,
  CLASSIFIER_MODEL_TYPES,
  type ClassifierInfo,
  type Normalisation,
} from './models/classifier-schema.js';
export {
  buildSegmentationNetwork,
  segmentationConfigJson,
  parseSegmentationInfo,
  MRICRON_TASKS,
  SEGMENTATION_MODEL_TYPES,
  type MricronTask,
  type Preprocessing,
  type SegmentationDataSpec,
  type SegmentationModelInfo,
  type SegmentationNetworkSpec,
} from './models/segmentation-schema.js';
export { sequenceNll, type NllResult } from './eval/nll.js';
export { windowedNll } from './eval/window-nll.js';
export {
  generate,
  generateSteps,
  type GenerateOptions,
  type GenerateResult,
  type GeneratedToken,
} from './generate/generate.js';
export { TextModel, type TextModelSource } from './pipeline/text-model.js';
export { Session, type TextGenerationOptions, type TextGenerationResult } from './pipeline/session.js';
export { loadTextModel, type LoadOptions, type ModelSource } from './pipeline/load.js';
export { memoryFiles, urlFiles, type ModelFiles, type UrlFilesOptions } from './load/model-files.js';
export {
  ByteTokenizer,
  Tokenizer,
  readTokenizer,
  type DecodeOptions,
  type StreamDecoder,
  type TextTokenizer,
} from './load/tokenizer.js';
export { sampleToken, type SamplingOptions } from './generate/sample.js';
export { Tensor } from './tensor/tensor.js';
export type { DType, TypedArray } from './backends/dtype.js';
export { backward, noGrad, enableGrad, isGradEnabled, type BackwardOptions } from './tensor/autograd.js';
export { scope, keep } from './tensor/scope.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export type {
  Backend,
  BackendCore,
  Kernels,
  KernelName,
  PartialBackend,
  StorageHandle,
  View,
  UnaryOp,
  UnaryParams,
  BinaryOp,
  ReduceOp,
  ArgReduceOp,
  Conv2dParams,
  Pool2dParams,
  ScanInputs,
  ScanGrads,
} from './backends/backend.js';
export { KERNEL_SIGNATURES, type ArgRole, type KernelArgs } from './backends/kernel-signatures.js';
export { withFallback, type ComposedBackend, type FallbackInfo } from './backends/fallback.js';
export { copyingBridge, sharedMemoryBridge, type Bridge } from './backends/bridges.js';
export {
  timeKernels,
  KERNEL_FAMILIES,
  type KernelTimer,
  type KernelTimes,
  type KernelTally,
  type KernelStat,
  type FamilyStat,
  type KernelFamily,
} from './backends/kernel-timer.js';
export { getBackend, setBackend, registerBackend, backendNames, setDefaultBackendName } from './backends/registry.js';
export { WasmBackend, type ComposedWasmBackend, type WasmBackendOptions } from './backends/wasm/backend.js';
export { ReferenceBackend } from './backends/reference/index.js';
export { MambaError, ShapeError, DisposedError } from './util/errors.js';
export { FileSystemError } from './util/fs-errors.js';
export { DEFAULT_LIMITS, LimitError, readLimits, setReadLimits, type ReadLimits } from './formats/limits.js';
export { SGD, AdamW, Optimizer, type AdamWOptions, type ParamGroup } from './train/optim.js';
export { warmupCosine } from './train/schedule.js';
export { clipGradNorm } from './train/clip.js';
export { ByteBatches } from './train/byte-batches.js';
