import type { RgbaImage } from '../formats/rgba.js';
import { MambaError } from '../util/errors.js';
import type { SegmentationSample } from './segmentation.js';

// Pictures of segmentations for a person to check by eye: overlays of labels on slices, and
// mosaics of them (the experiment's figures and `mamba-ts segment --overlay`).

/** A colour per class: red for a single structure, otherwise hues spread by the golden angle. */
export function classColour(k: number, classes: number): [number, number, number] {
  if (classes <= 2) return [255, 48, 48];
  const h = ((k * 137.508) % 360) / 60;
  const s = 0.8;
  const x = s * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] =
    h < 1 ? [s, x, 0] : h < 2 ? [x, s, 0] : h < 3 ? [0, s, x] : h < 4 ? [0, x, s] : h < 5 ? [x, 0, s] : [s, 0, x];
  return [r, g, b].map((c) => Math.round(255 * (c + 1 - s))) as [number, number, number];
}

/**
 * An image in gray (its 0.5-99.5 percentile range stretched to black-white) with each labelled
 * pixel tinted by its class colour and class boundaries drawn solid, so that a person can check
 * a segmentation by eye. `flipRows` shows the last row on top (volume slices, front of the head up).
 */
export function overlayImage(
  image: ArrayLike<number>,
  labels: ArrayLike<number> | null,
  width: number,
  height: number,
  classes: number,
  options: { flipRows?: boolean; alpha?: number } = {},
): RgbaImage {
  const n = width * height;
  const sorted = Float32Array.from(image).sort();
  const lo = sorted[Math.floor(0.005 * (n - 1))]!;
  const hi = sorted[Math.ceil(0.995 * (n - 1))]!;
  const range = hi > lo ? hi - lo : 1;
  const alpha = options.alpha ?? 0.4;
  const data = new Uint8Array(n * 4);
  const at = (x: number, y: number) => labels![y * width + x]!;
  for (let y = 0; y < height; y++) {
    const row = options.flipRows ? height - 1 - y : y;
    for (let x = 0; x < width; x++) {
      const gray = Math.max(0, Math.min(255, ((image[row * width + x]! - lo) / range) * 255));
      let rgb: number[] = [gray, gray, gray];
      const k = labels ? at(x, row) : 0;
      if (k > 0) {
        const colour = classColour(k, classes);
        const edge =
          (x > 0 && at(x - 1, row) !== k) ||
          (x < width - 1 && at(x + 1, row) !== k) ||
          (row > 0 && at(x, row - 1) !== k) ||
          (row < height - 1 && at(x, row + 1) !== k);
        rgb = edge ? colour : colour.map((c) => (1 - alpha) * gray + alpha * c);
      }
      data.set([...rgb.map(Math.round), 255], 4 * (y * width + x));
    }
  }
  return { width, height, data };
}

/** Tiles of equal size in a grid, `columns` wide, separated by `gap` black pixels. */
export function mosaic(tiles: readonly RgbaImage[], columns: number, gap = 2): RgbaImage {
  if (tiles.length === 0) throw new MambaError('mosaic: no images to arrange');
  const { width: tw, height: th } = tiles[0]!;
  if (tiles.some((t) => t.width !== tw || t.height !== th))
    throw new MambaError('mosaic: the images must all have one size');
  const cols = Math.min(columns, tiles.length);
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * tw + (cols - 1) * gap;
  const height = rows * th + (rows - 1) * gap;
  const data = new Uint8Array(width * height * 4);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  tiles.forEach((t, i) => {
    const ox = (i % cols) * (tw + gap);
    const oy = Math.floor(i / cols) * (th + gap);
    for (let y = 0; y < th; y++) data.set(t.data.subarray(y * tw * 4, (y + 1) * tw * 4), ((oy + y) * width + ox) * 4);
  });
  return { width, height, data };
}

/**
 * One row per sample: the image alone, the true classes, then each set of predicted classes, all
 * as overlays at the native resolution.
 */
export function comparisonFigure(
  samples: readonly SegmentationSample[],
  predictions: readonly (readonly Uint8Array[])[],
  classes: number,
  flipRows: boolean,
): RgbaImage {
  const tiles = samples.flatMap((s, i) => {
    const { width, height } = s.frame;
    const show = (labels: Uint8Array | null) =>
      overlayImage(s.nativeImage, labels, width, height, classes, { flipRows });
    return [show(null), show(s.native), ...predictions.map((p) => show(p[i]!))];
  });
  return mosaic(tiles, 2 + predictions.length);
}
