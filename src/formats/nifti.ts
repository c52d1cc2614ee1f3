import { gzipSync } from 'fflate';
import { MambaError } from '../util/errors.js';
import { inflate, maxInflatedSize } from './inflate.js';
import { checkLimit } from './limits.js';

/**
 * NIfTI-1 single-file images (`.nii`, and `.nii.gz` recognised by the gzip signature): the 348-byte
 * header, then the voxels at vox_offset. Field names follow nifti1.h in camelCase. Orientation is
 * kept exactly as stored: qform and sform are read and written back unchanged, and voxels stay in
 * the file's order (first axis fastest), never resampled to RAS.
 */

/** The voxel types read and written, by NIfTI datatype code. */
const DATATYPES = {
  2: { name: 'uint8', bytes: 1 },
  4: { name: 'int16', bytes: 2 },
  8: { name: 'int32', bytes: 4 },
  16: { name: 'float32', bytes: 4 },
  64: { name: 'float64', bytes: 8 },
  256: { name: 'int8', bytes: 1 },
  512: { name: 'uint16', bytes: 2 },
  768: { name: 'uint32', bytes: 4 },
} as const;

export type NiftiDataType = (typeof DATATYPES)[keyof typeof DATATYPES]['name'];

const CODE_OF = Object.fromEntries(Object.entries(DATATYPES).map(([code, d]) => [d.name, Number(code)])) as Record<
  NiftiDataType,
  number
>;

const INTEGER_RANGE: Partial<Record<NiftiDataType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** The NIfTI-1 header's datatype code of a data type name (e.g. 'int16' -> 4). */
export function niftiDataTypeCode(name: NiftiDataType): number {
  return CODE_OF[name];
}

export interface NiftiHeader {
  /** Byte order of the file, detected from sizeof_hdr; written back the same way. */
  littleEndian: boolean;
  dimInfo: number;
  /** dim[0] is the number of dimensions, dim[1..dim[0]] their sizes (8 entries as stored). */
  dim: number[];
  intentP1: number;
  intentP2: number;
  intentP3: number;
  intentCode: number;
  /** NIfTI datatype code (2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, 256 int8, 512 uint16, 768 uint32). */
  datatype: number;
  bitpix: number;
  sliceStart: number;
  /** pixdim[0] is qfac (the handedness of the qform); pixdim[1..] are voxel sizes. */
  pixdim: number[];
  voxOffset: number;
  /** Stored values v mean v * sclSlope + sclInter, unless sclSlope is 0 (no scaling). */
  sclSlope: number;
  sclInter: number;
  sliceEnd: number;
  sliceCode: number;
  xyztUnits: number;
  calMax: number;
  calMin: number;
  sliceDuration: number;
  toffset: number;
  descrip: string;
  auxFile: string;
  qformCode: number;
  sformCode: number;
  quaternB: number;
  quaternC: number;
  quaternD: number;
  qoffsetX: number;
  qoffsetY: number;
  qoffsetZ: number;
  srowX: number[];
  srowY: number[];
  srowZ: number[];
  intentName: string;
}

export interface NiftiImage {
  header: NiftiHeader;
  /** dim[1..dim[0]]: the size of each axis, the first one varying fastest in `data`. */
  shape: number[];
  /**
   * Voxel values with scl_slope/scl_inter applied: Float64Array for int32, uint32 and float64
   * files (whose values float32 cannot hold exactly), Float32Array otherwise.
   */
  data: Float32Array | Float64Array;
}

const HEADER_BYTES = 348;
const MIN_VOX_OFFSET = 352;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A NUL-terminated Latin-1 field (TextDecoder's 'latin1' is really windows-1252, so not that). */
function text(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return String.fromCharCode(...field.subarray(0, end < 0 ? length : end));
}

/** Latin-1 bytes of at most `length` characters, for the header's text fields. */
function latin1(s: string, length: number): Uint8Array {
  return Uint8Array.from(s.slice(0, length), (c) => c.charCodeAt(0) & 0xff);
}

/** Scaling is on when the slope is a finite non-zero number (nifti1.h: 0 means none). */
function scaling(h: NiftiHeader): { slope: number; inter: number } | null {
  if (!Number.isFinite(h.sclSlope) || h.sclSlope === 0) return null;
  const inter = Number.isFinite(h.sclInter) ? h.sclInter : 0;
  return h.sclSlope === 1 && inter === 0 ? null : { slope: h.sclSlope, inter };
}

function parseHeader(bytes: Uint8Array, source: string): NiftiHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new MambaError(
      `${source} is truncated: ${bytes.length} bytes, but a NIfTI-1 header alone takes ${HEADER_BYTES}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = view.getInt32(0, true) === HEADER_BYTES;
  if (!little && view.getInt32(0, false) !== HEADER_BYTES) {
    const size = view.getInt32(0, true);
    if (size === 540 || view.getInt32(0, false) === 540)
      throw new MambaError(
        `${source} is a NIfTI-2 file; only NIfTI-1 is supported (convert it, e.g. with nibabel or dcm2niix's -1 option)`,
      );
    throw new MambaError(
      `${source} is not a NIfTI-1 image: its first 4 bytes (sizeof_hdr) are ${size}, not 348 in either byte order`,
    );
  }
  const magic = text(bytes, 344, 4);
  if (magic === 'ni1')
    throw new MambaError(
      `${source} is the header of a .hdr/.img pair; only single-file .nii/.nii.gz images are supported (join the pair into one .nii first)`,
    );
  if (magic !== 'n+1')
    throw new MambaError(
      `${source} has no NIfTI-1 magic ('n+1') at byte 344; Analyze 7.5 and other formats are not supported`,
    );
  const i16 = (o: number) => view.getInt16(o, little);
  const f32 = (o: number) => view.getFloat32(o, little);
  const list = (o: number, n: number, step: number, read: (o: number) => number) =>
    Array.from({ length: n }, (_, i) => read(o + i * step));
  return {
    littleEndian: little,
    dimInfo: bytes[39]!,
    dim: list(40, 8, 2, i16),
    intentP1: f32(56),
    intentP2: f32(60),
    intentP3: f32(64),
    intentCode: i16(68),
    datatype: i16(70),
    bitpix: i16(72),
    sliceStart: i16(74),
    pixdim: list(76, 8, 4, f32),
    voxOffset: f32(108),
    sclSlope: f32(112),
    sclInter: f32(116),
    sliceEnd: i16(120),
    sliceCode: bytes[122]!,
    xyztUnits: bytes[123]!,
    calMax: f32(124),
    calMin: f32(128),
    sliceDuration: f32(132),
    toffset: f32(136),
    descrip: text(bytes, 148, 80),
    auxFile: text(bytes, 228, 24),
    qformCode: i16(252),
    sformCode: i16(254),
    quaternB: f32(256),
    quaternC: f32(260),
    quaternD: f32(264),
    qoffsetX: f32(268),
    qoffsetY: f32(272),
    qoffsetZ: f32(276),
    srowX: list(280, 4, 4, f32),
    srowY: list(296, 4, 4, f32),
    srowZ: list(312, 4, 4, f32),
    intentName: text(bytes, 328, 16),
  };
}

function checkGeometry(
  h: NiftiHeader,
  source: string,
): { shape: number[]; voxels: number; type: (typeof DATATYPES)[keyof typeof DATATYPES] } {
  const rank = h.dim[0]!;
  if (!(rank >= 1 && rank <= 7))
    throw new MambaError(
      `${source}: dim[0] is ${rank}, but a NIfTI-1 image has 1 to 7 dimensions; the header is damaged`,
    );
  const shape = h.dim.slice(1, rank + 1);
  if (shape.some((d) => d < 1))
    throw new MambaError(`${source}: dimensions [${shape.join(', ')}] must all be at least 1; the header is damaged`);
  const voxels = shape.reduce((a, b) => a * b, 1);
  checkLimit('maxElements', voxels, `${source}: its voxels ([${shape.join(', ')}])`);
  const type = DATATYPES[h.datatype as keyof typeof DATATYPES];
  if (!type) {
    const names = Object.entries(DATATYPES)
      .map(([c, d]) => `${d.name} (${c})`)
      .join(', ');
    throw new MambaError(`${source}: datatype ${h.datatype} is not supported; supported: ${names}`);
  }
  if (h.bitpix !== type.bytes * 8)
    throw new MambaError(
      `${source}: bitpix is ${h.bitpix} but datatype ${type.name} has ${type.bytes * 8} bits; the header is damaged`,
    );
  return { shape, voxels, type };
}

/** Parses a NIfTI-1 image from the bytes of a .nii or .nii.gz file; `source` names it in errors. */
export function decodeNifti(fileBytes: Uint8Array, source: string): NiftiImage {
  const gzipped = isGzip(fileBytes);
  const gunzip = (limit: number): Uint8Array => inflate('gzip', fileBytes, limit, source).bytes;
  // A gzipped file is inflated only as far as its header describes: a small hostile file can
  // hold gigabytes of zeros.
  const header = parseHeader(gzipped ? gunzip(HEADER_BYTES) : fileBytes, source);
  const { shape, voxels, type } = checkGeometry(header, source);
  const offset = header.voxOffset;
  if (!Number.isInteger(offset) || offset < MIN_VOX_OFFSET) {
    throw new MambaError(
      `${source}: vox_offset is ${offset}, but the voxels of a .nii file start at a whole byte offset of at least ${MIN_VOX_OFFSET}`,
    );
  }
  const needed = offset + voxels * type.bytes;
  const wide = type.name === 'int32' || type.name === 'uint32' || type.name === 'float64';
  checkLimit('maxBytes', voxels * (wide ? 8 : 4), `${source}: bytes of its [${shape.join(', ')}] voxels as numbers`);
  if (gzipped && needed > maxInflatedSize(fileBytes.length))
    throw new MambaError(
      `${source} is truncated or its header damaged: [${shape.join(', ')}] ${type.name} voxels from byte ${offset} need ${needed} bytes uncompressed, more than its ${fileBytes.length} gzipped bytes can hold`,
    );
  const bytes = gzipped ? gunzip(needed) : fileBytes;
  if (bytes.length < needed) {
    throw new MambaError(
      `${source} is truncated: [${shape.join(', ')}] ${type.name} voxels from byte ${offset} need ${needed} bytes${gzipped ? ' uncompressed' : ''}, the file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, voxels * type.bytes);
  const data = wide ? new Float64Array(voxels) : new Float32Array(voxels);
  const read = reader(view, type.name, header.littleEndian);
  const s = scaling(header);
  if (s) {
    for (let i = 0; i < voxels; i++) {
      const stored = read(i);
      data[i] = stored * s.slope + s.inter;
      // Stored NaN or infinities stay what they are; a finite value scaled out of range is the header's fault.
      if (!Number.isFinite(data[i]!) && Number.isFinite(stored))
        throw new MambaError(
          `${source}: voxel ${i} holds ${stored}, which scl_slope ${s.slope} and scl_inter ${s.inter} scale to ${data[i]}, past what ${data instanceof Float32Array ? 'float32' : 'float64'} holds; the header's scaling is damaged (set scl_slope to 0 or 1 if the values need none)`,
        );
    }
  } else for (let i = 0; i < voxels; i++) data[i] = read(i);
  return { header, shape, data };
}

function reader(view: DataView, type: NiftiDataType, little: boolean): (i: number) => number {
  switch (type) {
    case 'uint8':
      return (i) => view.getUint8(i);
    case 'int8':
      return (i) => view.getInt8(i);
    case 'int16':
      return (i) => view.getInt16(2 * i, little);
    case 'uint16':
      return (i) => view.getUint16(2 * i, little);
    case 'int32':
      return (i) => view.getInt32(4 * i, little);
    case 'uint32':
      return (i) => view.getUint32(4 * i, little);
    case 'float32':
      return (i) => view.getFloat32(4 * i, little);
    case 'float64':
      return (i) => view.getFloat64(8 * i, little);
  }
}

function writer(view: DataView, type: NiftiDataType, little: boolean): (i: number, v: number) => void {
  switch (type) {
    case 'uint8':
      return (i, v) => view.setUint8(i, v);
    case 'int8':
      return (i, v) => view.setInt8(i, v);
    case 'int16':
      return (i, v) => view.setInt16(2 * i, v, little);
    case 'uint16':
      return (i, v) => view.setUint16(2 * i, v, little);
    case 'int32':
      return (i, v) => view.setInt32(4 * i, v, little);
    case 'uint32':
      return (i, v) => view.setUint32(4 * i, v, little);
    case 'float32':
      return (i, v) => view.setFloat32(4 * i, v, little);
    case 'float64':
      return (i, v) => view.setFloat64(8 * i, v, little);
  }
}

/**
 * The bytes of a .nii file (gzipped when asked) holding `image.data` as `header.datatype`. Values
 * are stored unscaled through scl_slope/scl_inter (integers rounded to nearest); a value that the
 * datatype cannot hold is an error. vox_offset becomes 352 and no extensions are written; every
 * other header field, the qform and sform included, is written as given.
 */
export function encodeNifti(image: NiftiImage, options: { gzip?: boolean; source?: string } = {}): Uint8Array {
  const source = options.source ?? 'NIfTI image';
  const h = { ...image.header, voxOffset: MIN_VOX_OFFSET };
  const { shape, voxels, type } = checkGeometry(h, source);
  if (voxels !== image.data.length)
    throw new MambaError(
      `${source}: the header's dimensions [${shape.join(', ')}] hold ${voxels} voxels, the data has ${image.data.length}`,
    );
  const bytes = new Uint8Array(MIN_VOX_OFFSET + voxels * type.bytes);
  const view = new DataView(bytes.buffer);
  const little = h.littleEndian;
  const i16 = (o: number, v: number) => view.setInt16(o, v, little);
  const f32 = (o: number, v: number) => view.setFloat32(o, v, little);
  const str = (o: number, length: number, s: string) => bytes.set(latin1(s, length), o);
  view.setInt32(0, HEADER_BYTES, little);
  bytes[38] = 'r'.charCodeAt(0);
  bytes[39] = h.dimInfo;
  h.dim.forEach((d, i) => i16(40 + 2 * i, d));
  f32(56, h.intentP1);
  f32(60, h.intentP2);
  f32(64, h.intentP3);
  i16(68, h.intentCode);
  i16(70, h.datatype);
  i16(72, h.bitpix);
  i16(74, h.sliceStart);
  h.pixdim.forEach((p, i) => f32(76 + 4 * i, p));
  f32(108, h.voxOffset);
  f32(112, h.sclSlope);
  f32(116, h.sclInter);
  i16(120, h.sliceEnd);
  bytes[122] = h.sliceCode;
  bytes[123] = h.xyztUnits;
  f32(124, h.calMax);
  f32(128, h.calMin);
  f32(132, h.sliceDuration);
  f32(136, h.toffset);
  str(148, 79, h.descrip);
  str(228, 23, h.auxFile);
  i16(252, h.qformCode);
  i16(254, h.sformCode);
  [h.quaternB, h.quaternC, h.quaternD, h.qoffsetX, h.qoffsetY, h.qoffsetZ].forEach((v, i) => f32(256 + 4 * i, v));
  h.srowX.forEach((v, i) => f32(280 + 4 * i, v));
  h.srowY.forEach((v, i) => f32(296 + 4 * i, v));
  h.srowZ.forEach((v, i) => f32(312 + 4 * i, v));
  str(328, 15, h.intentName);
  str(344, 4, 'n+1\0');
  const write = writer(new DataView(bytes.buffer, MIN_VOX_OFFSET), type.name, little);
  const s = scaling(h);
  const range = INTEGER_RANGE[type.name];
  for (let i = 0; i < voxels; i++) {
    const value = image.data[i]!;
    const stored = s ? (value - s.inter) / s.slope : value;
    if (!range) {
      write(i, stored);
      continue;
    }
    const rounded = Math.round(stored);
    if (!(rounded >= range[0] && rounded <= range[1])) {
      throw new MambaError(
        `${source}: voxel ${i} has value ${value}, which ${type.name}${s ? ` with scl_slope ${s.slope} and scl_inter ${s.inter}` : ''} cannot hold; choose a wider datatype`,
      );
    }
    write(i, rounded);
  }
  // mtime 0 (none) keeps the bytes a function of the image alone.
  return options.gzip ? gzipSync(bytes, { mtime: 0 }) : bytes;
}

/**
 * A new image on the same voxel grid as `like` (dim, pixdim, qform, sform, units and byte order
 * copied) holding `data` unscaled as `datatype`: what a prediction for `like` is saved as.
 */
export function niftiLike(
  like: NiftiImage,
  data: Float32Array | Float64Array,
  datatype: NiftiDataType,
  fields: Partial<Pick<NiftiHeader, 'descrip' | 'intentCode' | 'intentName' | 'calMin' | 'calMax'>> = {},
): NiftiImage {
  if (data.length !== like.data.length)
    throw new MambaError(`niftiLike: ${data.length} values for an image of ${like.data.length} voxels`);
  const code = CODE_OF[datatype];
  const header: NiftiHeader = {
    ...like.header,
    datatype: code,
    bitpix: DATATYPES[code as keyof typeof DATATYPES].bytes * 8,
    sclSlope: 1,
    sclInter: 0,
    calMin: 0,
    calMax: 0,
    intentCode: 0,
    intentName: '',
    intentP1: 0,
    intentP2: 0,
    intentP3: 0,
    dim: [...like.header.dim],
    pixdim: [...like.header.pixdim],
    srowX: [...like.header.srowX],
    srowY: [...like.header.srowY],
    srowZ: [...like.header.srowZ],
    ...fields,
  };
  return { header, shape: [...like.shape], data };
}

/** The sizes of the first three axes of an image whose further axes are all 1 (a 2D image has depth 1). */
export function volumeShape(image: NiftiImage, source: string): [number, number, number] {
  const [nx = 1, ny = 1, nz = 1, ...rest] = image.shape;
  if (rest.some((d) => d !== 1))
    throw new MambaError(
      `${source} has dimensions [${image.shape.join(', ')}]; a 2D or 3D image is needed (pick one volume of a 4D series)`,
    );
  return [nx, ny, nz];
}
