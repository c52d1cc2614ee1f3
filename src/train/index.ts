// The `mamba-ts/train` entry (Node): the training loop with its checkpoints and resume, and the
// recipes that train each model family. The optimizers, the schedule and gradient clipping run
// in a browser too and are in the main entry.
// Its models compute, so it sets up what the main entry does: Node's backends and the fluent
// tensor methods (with their types: see api.ts).
import '../backends/node.js';
export * from '../ops/fluent.js';

export {
  train,
  TrainingStopped,
  type TrainerConfig,
  type TrainTask,
  type TrainResult,
  type MetricsRecord,
  type RunOptions,
} from './trainer.js';
export { RunFolderLockedError, type LockHolder } from './run-lock.js';
export {
  saveTrainingCheckpoint,
  loadTrainingCheckpoint,
  latestCheckpoint,
  readTrainerState,
  type TrainerState,
} from './checkpoint.js';
export {
  Progress,
  countProgress,
  type ProgressOptions,
  type ProgressStream,
  type ProgressTask,
} from '../util/progress.js';
export { writeLossCurve } from './loss-curve.js';
export { byteLmTask, type ByteLM, type ByteTaskSettings } from './byte-lm.js';
export {
  trainMambaByte,
  bitsPerByte,
  sampleText,
  MAMBABYTE_DEFAULTS,
  MAMBABYTE_TRAINER,
  type MambaByteSettings,
  type MambaByteResult,
} from './mambabyte.js';
export {
  trainMoEMambaByte,
  moeMambaByteConfig,
  defaultMoE,
  type MoEMambaByteSettings,
  type MoEMambaResult,
} from './moe-mamba.js';
export {
  trainImageClassifier,
  imageClassificationTask,
  evaluateClassifier,
  classificationLoss,
  resolveImageDataset,
  stepsForEpochs,
  VISION_TRAINER,
  VISION_TASK_DEFAULTS,
  VISION_EPOCHS,
  VIT_HEADS,
  vitBaselineConfig,
  type VisionTaskSettings,
  type VisionTrainResult,
} from './vim.js';
export {
  trainSegmentation,
  segmentationTask,
  evaluateSegmentation,
  networkSpec,
  diceScores,
  diceCeLoss,
  deepSupervisionLoss,
  logitsToLabels,
  predictSamples,
  SEGMENTATION_DEFAULTS,
  SEGMENTATION_TRAINER,
  type SegmentationArchitecture,
  type SegmentationSettings,
  type SegmentationResult,
  type DiceCounts,
  type DiceReport,
} from './segmentation.js';
