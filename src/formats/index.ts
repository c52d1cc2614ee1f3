// The `mamba-ts/formats` entry: byte-level file formats that parse and write bytes in memory or
// through a ByteSource / ByteSink, with no Node built-ins, so that a browser can use them.
export { bytesSource, MemorySink, type ByteSink, type ByteSource } from './byte-source.js';
export type { FloatWriteDType, ReadArray, StoredDType, TensorEntry } from './dtypes.js';
export { openSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsInput } from './safetensors.js';
export {
  GGUF_DEFAULT_ALIGNMENT,
  openGguf,
  writeGguf,
  type GgufFile,
  type GgufTensorInfo,
  type GgufTensorInput,
  type GgufValue,
} from './gguf.js';
export { ggmlType, ggmlTypeById, type GgmlType } from './ggml-types.js';
export { openTorchCheckpoint, type TorchCheckpoint } from './torch-zip.js';
export {
  decodeNifti,
  encodeNifti,
  niftiDataTypeCode,
  niftiLike,
  volumeShape,
  type NiftiDataType,
  type NiftiHeader,
  type NiftiImage,
} from './nifti.js';
export { decodeImage } from './images.js';
export { decodePng } from './png-decode.js';
export { encodePng } from './png-encode.js';
export { fromGray, resizeGray, toGray, type RgbaImage } from './rgba.js';
export { DEFAULT_LIMITS, LimitError, readLimits, setReadLimits, type ReadLimits } from './limits.js';
export { parseJson } from './json.js';
