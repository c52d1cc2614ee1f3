import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { volumeShape, type NiftiImage } from '../formats/nifti.js';
import { resizeGray, toGray } from '../formats/rgba.js';
import { readImage } from '../io/image-files.js';
import { readNifti } from '../io/nifti-files.js';
import { Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';
import { ensureDataset } from './datasets.js';
import {
  MRICRON_TASKS,
  type MricronTask,
  type Preprocessing,
  type SegmentationDataSpec,
} from '../models/segmentation-schema.js';

/**
 * 2D segmentation data: slices of an MRI volume (Debian's mricron-data: the Colin27 "ch2" T1,
 * its brain-extracted copy, and the AAL atlas on the same grid) or a folder of PNG image/mask
 * pairs, normalised, resized and padded for a U-Net-shaped network.
 *
 * Slices are axial: planes of the volume's third voxel axis, as stored (no reorientation), which
 * for ch2 is inferior-superior, so each slice is a 217 x 181 plane of (j, i). In axial slices the
 * two hemispheres sit side by side, so a left-right mirror (with left and right labels swapped) is
 * a valid augmentation, and a block of slices along the third axis is a clean held-out region.
 */

/** Where a slice sits in the network's canvas: its native size, its size after scaling, and the offset of that in the padded canvas. */
export interface Frame {
  height: number;
  width: number;
  scaledHeight: number;
  scaledWidth: number;
  top: number;
  left: number;
}

export interface SegmentationSample {
  id: string;
  /** Normalised intensities on the canvas [height * width], padding at the background value. */
  image: Float32Array;
  /** Class of each canvas pixel (0 in the padding). */
  label: Uint8Array;
  /** Classes at the native resolution [frame.height * frame.width]: what Dice is measured against. */
  native: Uint8Array;
  /** Normalised intensities at the native resolution, for display. */
  nativeImage: Float32Array;
  frame: Frame;
  /** The normalised value of empty space, used for padding and shifts. */
  background: number;
}

export interface SegmentationData {
  name: string;
  classNames: string[];
  /** Canvas size shared by all samples (multiples of the divisor). */
  height: number;
  width: number;
  train: SegmentationSample[];
  test: SegmentationSample[];
  /** The class each class becomes when an image is mirrored left-right (AAL swaps _L and _R), or null where mirroring is not a valid augmentation. */
  flipMap: Uint8Array | null;
  /** Volume slices are stored with the first row at the back of the head; displays flip them so the front is up. */
  displayFlipRows: boolean;
  preprocessing: Preprocessing;
  spec: SegmentationDataSpec;
}

export const MRICRON_DEFAULT_SPLIT = { testSlices: [95, 120] as [number, number], gap: 5 };
const MRICRON_FILES = { t1: 'ch2.nii.gz', brain: 'ch2bet.nii.gz', aal: 'aal.nii.gz', aalNames: 'aal.nii.txt' };

/**
 * Parses a --dataset value: `mricron` (the brain task), `mricron:<task>`, or a folder of PNG pairs.
 * Split settings not given take their defaults.
 */
export function parseDatasetSpec(
  value: string,
  split: { testSlices?: [number, number]; gap?: number; testFraction?: number } = {},
): SegmentationDataSpec {
  if (value === 'mricron' || value.startsWith('mricron:')) {
    const task = (value.split(':')[1] ?? 'brain') as MricronTask;
    if (!MRICRON_TASKS.includes(task))
      throw new MambaError(`unknown mricron task '${task}'; available: ${MRICRON_TASKS.join(', ')}`);
    return {
      kind: 'mricron',
      task,
      testSlices: split.testSlices ?? MRICRON_DEFAULT_SPLIT.testSlices,
      gap: split.gap ?? MRICRON_DEFAULT_SPLIT.gap,
    };
  }
  const path = resolve(value);
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new MambaError(
      `--dataset ${value}: not 'mricron', 'mricron:<${MRICRON_TASKS.join('|')}>' or a folder of PNG pairs (images/ and masks/)`,
    );
  }
  return { kind: 'folder', path, testFraction: split.testFraction ?? 0.2 };
}

/** A data spec as the command line writes it (e.g. mricron:aal-lobes, or the folder's path). */
export function describeSpec(spec: SegmentationDataSpec): string {
  return spec.kind === 'mricron' ? `mricron:${spec.task}` : spec.path;
}

/** Loads the slices a spec names (mricron volumes or a folder of PNG pairs), preprocessed for a network with this scale and divisor. */
export function loadSegmentationData(
  spec: SegmentationDataSpec,
  pre: { scale: number; divisor: number },
  log?: (line: string) => void,
): SegmentationData {
  if (!(pre.scale > 0 && pre.scale <= 4)) throw new MambaError(`the scale must be in (0, 4], got ${pre.scale}`);
  return spec.kind === 'mricron' ? loadMricron(spec, pre, log) : loadPngPairs(spec, pre);
}

/**
 * (v - mean) / std for every value, with mean and std taken over all values or over the nonzero
 * ones; `background` is where an intensity of 0 lands, the value used for padding.
 */
export function zscore(values: ArrayLike<number>, nonzeroOnly: boolean): { values: Float32Array; background: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    if (nonzeroOnly && values[i] === 0) continue;
    n++;
    sum += values[i]!;
  }
  const mean = n > 0 ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < values.length; i++) if (!(nonzeroOnly && values[i] === 0)) sq += (values[i]! - mean) ** 2;
  const std = n > 0 ? Math.sqrt(sq / n) : 0;
  const scale = std > 1e-8 ? 1 / std : 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - mean) * scale;
  return { values: out, background: -mean * scale };
}

/**
 * Resizes a label map: each output pixel takes the class with the largest bilinear weight among
 * its (up to four) source pixels, which is the argmax of bilinearly resized one-hot maps.
 */
export function resizeLabels(
  labels: Uint8Array,
  width: number,
  height: number,
  toWidth: number,
  toHeight: number,
): Uint8Array {
  if (width === toWidth && height === toHeight) return labels;
  const out = new Uint8Array(toWidth * toHeight);
  const axis = (i: number, from: number, to: number) => {
    const s = Math.min(from - 1, Math.max(0, ((i + 0.5) * from) / to - 0.5));
    const i0 = Math.floor(s);
    return [i0, Math.min(from - 1, i0 + 1), s - i0] as const;
  };
  for (let y = 0; y < toHeight; y++) {
    const [y0, y1, fy] = axis(y, height, toHeight);
    for (let x = 0; x < toWidth; x++) {
      const [x0, x1, fx] = axis(x, width, toWidth);
      const cand = [
        labels[y0 * width + x0]!,
        labels[y0 * width + x1]!,
        labels[y1 * width + x0]!,
        labels[y1 * width + x1]!,
      ];
      const weight = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx];
      let best = cand[0]!;
      let bestWeight = -1;
      for (let c = 0; c < 4; c++) {
        let w = 0;
        for (let d = 0; d < 4; d++) if (cand[d] === cand[c]) w += weight[d]!;
        if (w > bestWeight || (w === bestWeight && cand[c]! < best)) {
          best = cand[c]!;
          bestWeight = w;
        }
      }
      out[y * toWidth + x] = best;
    }
  }
  return out;
}

/** The scaled size of a native slice, and the canvas (multiples of the divisor) that holds it. */
export function scaledSize(
  height: number,
  width: number,
  pre: { scale: number; divisor: number },
): { scaledHeight: number; scaledWidth: number; canvasHeight: number; canvasWidth: number } {
  const scaledHeight = Math.max(1, Math.round(height * pre.scale));
  const scaledWidth = Math.max(1, Math.round(width * pre.scale));
  const up = (n: number) => Math.ceil(n / pre.divisor) * pre.divisor;
  return { scaledHeight, scaledWidth, canvasHeight: up(scaledHeight), canvasWidth: up(scaledWidth) };
}

/**
 * One sample: a normalised slice [height * width] (and its labels, if any) resized by the scale
 * and centred on a canvas of the given size, padded with the background value.
 */
export function prepareSlice(
  id: string,
  image: Float32Array,
  labels: Uint8Array | null,
  height: number,
  width: number,
  background: number,
  pre: { scale: number; divisor: number },
  canvas: { height: number; width: number },
): SegmentationSample {
  const { scaledHeight, scaledWidth } = scaledSize(height, width, pre);
  if (scaledHeight > canvas.height || scaledWidth > canvas.width)
    throw new MambaError(`${id}: a ${height}x${width} slice does not fit the ${canvas.height}x${canvas.width} canvas`);
  const top = Math.floor((canvas.height - scaledHeight) / 2);
  const left = Math.floor((canvas.width - scaledWidth) / 2);
  const scaled = resizeGray(image, width, height, scaledWidth, scaledHeight);
  const out = new Float32Array(canvas.height * canvas.width).fill(background);
  const native = labels ?? new Uint8Array(height * width);
  const scaledLabels = resizeLabels(native, width, height, scaledWidth, scaledHeight);
  const label = new Uint8Array(canvas.height * canvas.width);
  for (let y = 0; y < scaledHeight; y++) {
    out.set(scaled.subarray(y * scaledWidth, (y + 1) * scaledWidth), (top + y) * canvas.width + left);
    label.set(scaledLabels.subarray(y * scaledWidth, (y + 1) * scaledWidth), (top + y) * canvas.width + left);
  }
  return {
    id,
    image: out,
    label,
    native,
    nativeImage: image,
    frame: { height, width, scaledHeight, scaledWidth, top, left },
    background,
  };
}

/** The i-th plane along the third axis of a volume [nx, ny, nz], as rows of j and columns of i. */
export function axialSlice(data: ArrayLike<number>, nx: number, ny: number, z: number): Float32Array {
  const out = new Float32Array(nx * ny);
  const base = z * nx * ny;
  for (let p = 0; p < nx * ny; p++) out[p] = data[base + p]!;
  return out;
}

interface AalRegion {
  index: number;
  name: string;
}

function readAalNames(path: string): AalRegion[] {
  const regions = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [index, name] = l.split(/\s+/);
      return { index: Number(index), name: name ?? '' };
    });
  if (regions.length !== 116 || regions.some((r, i) => r.index !== i + 1 || r.name === ''))
    throw new MambaError(`${path}: expected the 116 AAL regions numbered 1..116`);
  return regions;
}

/** The coarse grouping of AAL regions behind the `aal-lobes` task (hemispheres merged). */
const LOBES: [string, string[]][] = [
  [
    'frontal',
    ['Precentral', 'Frontal_', 'Rolandic_Oper', 'Supp_Motor_Area', 'Olfactory', 'Rectus', 'Paracentral_Lobule'],
  ],
  ['insula and limbic', ['Insula', 'Cingulum_', 'Hippocampus', 'ParaHippocampal', 'Amygdala']],
  ['occipital', ['Calcarine', 'Cuneus', 'Lingual', 'Occipital_', 'Fusiform']],
  ['parietal', ['Postcentral', 'Parietal_', 'SupraMarginal', 'Angular', 'Precuneus']],
  ['deep grey matter', ['Caudate', 'Putamen', 'Pallidum', 'Thalamus']],
  ['temporal', ['Heschl', 'Temporal_']],
  ['cerebellum', ['Cerebelum_', 'Vermis_']],
];

function lobeOf(name: string): number {
  const k = LOBES.findIndex(([, prefixes]) => prefixes.some((p) => name.startsWith(p)));
  if (k < 0) throw new MambaError(`AAL region ${name} belongs to no lobe of the aal-lobes grouping`);
  return k + 1;
}

/** Classes of a task: the label map from atlas values, class names, and the left-right flip permutation. */
function taskClasses(
  task: MricronTask,
  regions: AalRegion[],
): { classNames: string[]; map: Uint8Array; flipMap: Uint8Array } {
  if (task === 'brain')
    return { classNames: ['background', 'brain'], map: new Uint8Array(0), flipMap: Uint8Array.from([0, 1]) };
  if (task === 'aal-lobes') {
    const map = new Uint8Array(256);
    for (const r of regions) map[r.index] = lobeOf(r.name);
    return {
      classNames: ['background', ...LOBES.map(([n]) => n)],
      map,
      flipMap: Uint8Array.from({ length: LOBES.length + 1 }, (_, i) => i),
    };
  }
  const map = Uint8Array.from({ length: 256 }, (_, i) => (i <= 116 ? i : 0));
  const byName = new Map(regions.map((r) => [r.name, r.index]));
  const flipMap = Uint8Array.from({ length: 117 }, (_, i) => i);
  for (const r of regions) {
    const side = r.name.endsWith('_L') ? '_R' : r.name.endsWith('_R') ? '_L' : null;
    if (side) flipMap[r.index] = byName.get(r.name.slice(0, -2) + side) ?? r.index;
  }
  return { classNames: ['background', ...regions.map((r) => r.name)], map, flipMap };
}

function checkSameGrid(a: NiftiImage, b: NiftiImage, what: string): void {
  if (a.shape.join('x') !== b.shape.join('x'))
    throw new MambaError(
      `${what} has dimensions [${b.shape.join(', ')}], the T1 image [${a.shape.join(', ')}]; they must share one voxel grid`,
    );
}

/** The mricron volumes (installed on first use) and their labels for a task, split by axial slice range. */
export function loadMricron(
  spec: Extract<SegmentationDataSpec, { kind: 'mricron' }>,
  pre: { scale: number; divisor: number },
  log?: (line: string) => void,
): SegmentationData {
  const folder = ensureDataset('mricron', log);
  const t1 = readNifti(join(folder, MRICRON_FILES.t1));
  const [nx, ny, nz] = volumeShape(t1, MRICRON_FILES.t1);
  const [lo, hi] = spec.testSlices;
  if (
    !(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi <= nz && lo < hi) ||
    !(Number.isInteger(spec.gap) && spec.gap >= 0)
  ) {
    throw new MambaError(
      `test slices ${lo}:${hi} with a gap of ${spec.gap} do not fit the ${nz} axial slices; give start:end with 0 <= start < end <= ${nz} and a gap >= 0`,
    );
  }
  const source =
    spec.task === 'brain' ? readNifti(join(folder, MRICRON_FILES.brain)) : readNifti(join(folder, MRICRON_FILES.aal));
  checkSameGrid(t1, source, spec.task === 'brain' ? MRICRON_FILES.brain : MRICRON_FILES.aal);
  const regions = readAalNames(join(folder, MRICRON_FILES.aalNames));
  const { classNames, map, flipMap } = taskClasses(spec.task, regions);
  const { values: normalised, background } = zscore(t1.data, true);
  const size = scaledSize(ny, nx, pre);
  const canvas = { height: size.canvasHeight, width: size.canvasWidth };
  const train: SegmentationSample[] = [];
  const test: SegmentationSample[] = [];
  for (let z = 0; z < nz; z++) {
    const held = z >= lo && z < hi;
    const nearHeld = z >= lo - spec.gap && z < hi + spec.gap;
    if (nearHeld && !held) continue;
    const raw = axialSlice(t1.data, nx, ny, z);
    if (!raw.some((v) => v !== 0)) continue;
    const values = axialSlice(source.data, nx, ny, z);
    const labels = new Uint8Array(nx * ny);
    for (let p = 0; p < labels.length; p++)
      labels[p] = spec.task === 'brain' ? (values[p]! > 0 ? 1 : 0) : (map[values[p]!] ?? 0);
    const sample = prepareSlice(`z=${z}`, axialSlice(normalised, nx, ny, z), labels, ny, nx, background, pre, canvas);
    (held ? test : train).push(sample);
  }
  if (test.length === 0 || train.length === 0)
    throw new MambaError(
      `the split ${lo}:${hi} (gap ${spec.gap}) leaves ${train.length} training and ${test.length} test slices with image content; choose another --test-slices`,
    );
  return {
    name: describeSpec(spec),
    classNames,
    height: canvas.height,
    width: canvas.width,
    train,
    test,
    flipMap,
    displayFlipRows: true,
    preprocessing: { normalisation: 'zscore-nonzero', scale: pre.scale, divisor: pre.divisor },
    spec,
  };
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;

/** Reads a mask: the class is the pixel value of the first channel. */
function readMask(path: string): { values: Uint8Array; width: number; height: number } {
  const img = readImage(path);
  const values = new Uint8Array(img.width * img.height);
  for (let i = 0; i < values.length; i++) values[i] = img.data[4 * i]!;
  return { values, width: img.width, height: img.height };
}

function pairsIn(folder: string): { id: string; image: string; mask: string }[] {
  const images = join(folder, 'images');
  const masks = join(folder, 'masks');
  if (!existsSync(images) || !existsSync(masks))
    throw new MambaError(`${folder} needs an images/ and a masks/ folder of PNG files with matching names`);
  const names = readdirSync(images)
    .filter((f) => IMAGE_EXTENSIONS.test(f))
    .sort();
  if (names.length === 0) throw new MambaError(`${images} holds no PNG or JPEG images`);
  const maskNames = new Map(readdirSync(masks).map((f) => [f.replace(IMAGE_EXTENSIONS, ''), f]));
  return names.map((name) => {
    const id = name.replace(IMAGE_EXTENSIONS, '');
    const mask = maskNames.get(id);
    if (!mask || !/\.png$/i.test(mask))
      throw new MambaError(
        `${join(images, name)} has no mask ${join(masks, id + '.png')} (masks are PNG files named like their images)`,
      );
    return { id, image: join(images, name), mask: join(masks, mask) };
  });
}

/**
 * A folder of image/mask pairs: `images/NAME.png` (or .jpg; converted to gray) with
 * `masks/NAME.png` whose pixel values are the classes (0 background). Masks that hold only 0 and
 * 255 are read as binary. With `train/` and `test/` subfolders (each with images/ and masks/) those
 * are the split; otherwise the last testFraction of the names in sorted order is held out.
 * An optional `classes.txt` names the classes, one per line, background first. Each image is
 * z-scored over its own pixels.
 */
export function loadPngPairs(
  spec: Extract<SegmentationDataSpec, { kind: 'folder' }>,
  pre: { scale: number; divisor: number },
): SegmentationData {
  const root = spec.path;
  const hasSplit = existsSync(join(root, 'train')) && existsSync(join(root, 'test'));
  let trainPairs: ReturnType<typeof pairsIn>;
  let testPairs: ReturnType<typeof pairsIn>;
  if (hasSplit) {
    trainPairs = pairsIn(join(root, 'train'));
    testPairs = pairsIn(join(root, 'test'));
  } else {
    if (!(spec.testFraction > 0 && spec.testFraction < 1))
      throw new MambaError(`the test fraction must be in (0, 1), got ${spec.testFraction}`);
    const all = pairsIn(root);
    const nTest = Math.max(1, Math.round(all.length * spec.testFraction));
    if (nTest >= all.length)
      throw new MambaError(
        `${root} has ${all.length} image/mask pairs: too few to hold out ${nTest} and train on the rest`,
      );
    trainPairs = all.slice(0, all.length - nTest);
    testPairs = all.slice(all.length - nTest);
  }
  const read = (p: { id: string; image: string; mask: string }) => {
    const img = readImage(p.image);
    const mask = readMask(p.mask);
    if (mask.width !== img.width || mask.height !== img.height)
      throw new MambaError(
        `${p.mask} is ${mask.width}x${mask.height}, its image ${img.width}x${img.height}; they must match`,
      );
    return { ...p, gray: toGray(img), mask: mask.values, width: img.width, height: img.height };
  };
  const loaded = [...trainPairs, ...testPairs].map(read);
  const binary = loaded.every((p) => p.mask.every((v) => v === 0 || v === 255));
  let classes = 2;
  for (const p of loaded) {
    if (binary) p.mask.forEach((v, i) => (p.mask[i] = v === 255 ? 1 : 0));
    for (const v of p.mask) classes = Math.max(classes, v + 1);
  }
  const namesFile = join(root, 'classes.txt');
  const classNames = existsSync(namesFile)
    ? readFileSync(namesFile, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
    : ['background', ...Array.from({ length: classes - 1 }, (_, i) => (binary ? 'foreground' : `class ${i + 1}`))];
  if (classNames.length < classes)
    throw new MambaError(
      `${namesFile} names ${classNames.length} classes, but the masks use ${classes} (values 0..${classes - 1})`,
    );
  let height = 0;
  let width = 0;
  for (const p of loaded) {
    const s = scaledSize(p.height, p.width, pre);
    height = Math.max(height, s.canvasHeight);
    width = Math.max(width, s.canvasWidth);
  }
  const samples = loaded.map((p) => {
    const { values, background } = zscore(p.gray, false);
    return prepareSlice(p.id, values, p.mask, p.height, p.width, background, pre, { height, width });
  });
  return {
    name: basename(root),
    classNames,
    height,
    width,
    train: samples.slice(0, trainPairs.length),
    test: samples.slice(trainPairs.length),
    flipMap: null,
    displayFlipRows: false,
    preprocessing: { normalisation: 'zscore', scale: pre.scale, divisor: pre.divisor },
    spec,
  };
}

export interface AugmentOptions {
  /** Mirror left-right with probability 1/2 (where the data allows it). */
  flip: boolean;
  /** Largest shift in canvas pixels, each axis. */
  shift: number;
  /** Largest rotation, in degrees either way. */
  rotate: number;
  /** Zoom by a factor in [1 - scale, 1 + scale]. */
  scale: number;
  /** Intensities become v * (1 + a) + b with a, b uniform in [-intensity, intensity]. */
  intensity: number;
}

/** nnU-Net-like spatial and intensity augmentation, milder (its rotations and zooms reach 180 degrees and 0.7-1.4). */
export const DEFAULT_AUGMENT: AugmentOptions = { flip: true, shift: 8, rotate: 15, scale: 0.15, intensity: 0.1 };

/**
 * Copies samples into one batch [count, height, width] of images and int32 labels, each
 * augmented with draws from `rng` when augmentation is on: a random similarity transform about
 * the canvas centre (images bilinear, labels nearest, outside filled with background), an optional
 * mirror that also swaps left and right classes, and an intensity gain and offset.
 */
export function assembleBatch(
  data: SegmentationData,
  samples: readonly SegmentationSample[],
  rng: Generator | null,
  augment: AugmentOptions | null,
): { images: Float32Array; labels: Int32Array } {
  const { height: h, width: w } = data;
  const plane = h * w;
  const images = new Float32Array(samples.length * plane);
  const labels = new Int32Array(samples.length * plane);
  const draw = (range: number) => (rng!.uniform() * 2 - 1) * range;
  samples.forEach((s, b) => {
    const img = images.subarray(b * plane, (b + 1) * plane);
    const lab = labels.subarray(b * plane, (b + 1) * plane);
    if (!rng || !augment) {
      img.set(s.image);
      lab.set(s.label);
      return;
    }
    const flip = augment.flip && data.flipMap !== null && rng.uniform() < 0.5;
    const angle = (draw(augment.rotate) * Math.PI) / 180;
    const zoom = 1 + draw(augment.scale);
    const [dy, dx] = [draw(augment.shift), draw(augment.shift)];
    const gain = 1 + draw(augment.intensity);
    const offset = draw(augment.intensity);
    // Output pixel p samples the source at c + R(-angle) (p - c - d) / zoom (mirrored in x when flipping).
    const [cy, cx] = [(h - 1) / 2, (w - 1) / 2];
    const [cos, sin] = [Math.cos(angle) / zoom, Math.sin(angle) / zoom];
    const map = data.flipMap;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [py, px] = [y - cy - dy, x - cx - dx];
        const sy = cy + cos * py - sin * px;
        const sx0 = cx + sin * py + cos * px;
        const sx = flip ? w - 1 - sx0 : sx0;
        img[y * w + x] = bilinear(s.image, w, h, sx, sy, s.background) * gain + offset;
        const [ny, nx] = [Math.round(sy), Math.round(sx)];
        const c = ny >= 0 && ny < h && nx >= 0 && nx < w ? s.label[ny * w + nx]! : 0;
        lab[y * w + x] = flip ? map![c]! : c;
      }
    }
  });
  return { images, labels };
}

function bilinear(values: Float32Array, w: number, h: number, x: number, y: number, outside: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number) => (xx >= 0 && xx < w && yy >= 0 && yy < h ? values[yy * w + xx]! : outside);
  return (
    (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) +
    (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy
  );
}
