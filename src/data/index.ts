// The `mamba-ts/data` entry (Node): the data sets the recipes train on, installed from packages
// into the data folder (the user's cache, or MAMBA_TS_DATA_DIR), and readers of text, image and segmentation data in
// the layouts the command line takes. Readers return plain arrays, no tensors.
export { dataDir } from './cache.js';
export {
  datasetNames,
  datasetStatus,
  describeDatasets,
  datasetFolder,
  isInstalled,
  ensureDataset,
  type DatasetStatus,
} from './datasets.js';
export {
  loadTextCorpus,
  loadTextFiles,
  splitBytes,
  TEXT_CORPORA,
  type TextCorpus,
  type TextCorpusName,
  type TextDocument,
  type TextSplit,
} from './text.js';
export { loadDigits, splitImages, type LabelledImages } from './digits.js';
export {
  readIdx,
  loadIdxFolder,
  loadImageFolder,
  resizeImages,
  channelStats,
  normalisedImages,
  ImageBatches,
  NO_AUGMENTATION,
  type Augmentation,
  type ImageDataset,
  type ImageFolderOptions,
  type ImageSet,
} from './images.js';
export {
  loadSegmentationData,
  parseDatasetSpec,
  describeSpec,
  loadMricron,
  loadPngPairs,
  assembleBatch,
  MRICRON_DEFAULT_SPLIT,
  DEFAULT_AUGMENT,
  type AugmentOptions,
  type Frame,
  type SegmentationData,
  type SegmentationSample,
} from './segmentation.js';
export { overlayImage, mosaic, comparisonFigure } from './segmentation-figures.js';
