import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** A decoded image: 8-bit RGBA, row-major, `width * height * 4` bytes. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

/** Decodes a PNG or JPEG (by its signature, not its name) into RGBA. */
export function decodeImage(bytes: Uint8Array, source: string): RgbaImage {
  try {
    if (startsWith(bytes, PNG_SIGNATURE)) {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (startsWith(bytes, JPEG_SIGNATURE)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (error) {
    throw new MambaError(`${source} could not be decoded as an image (${(error as Error).message})`);
  }
  throw new MambaError(`${source} is neither a PNG nor a JPEG image`);
}

export function readImage(path: string): RgbaImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new MambaError(`cannot read the image ${path}: no such file`);
  }
  return decodeImage(bytes, path);
}

/** Encodes RGBA as PNG bytes. */
export function encodePng(image: RgbaImage): Uint8Array {
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return pngjs.PNG.sync.write(png);
}

/** Writes an RGBA image as a PNG file, atomically. */
export function writePng(path: string, image: RgbaImage): void {
  writeFileAtomic(path, encodePng(image));
}

/** Luminance (ITU-R BT.601) of each pixel, in [0, 255]. */
export function toGray(image: RgbaImage): Float32Array {
  const out = new Float32Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) {
    const [r, g, b] = [image.data[4 * i]!, image.data[4 * i + 1]!, image.data[4 * i + 2]!];
    out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
  }
  return out;
}

/** Gray values in [0, 255] (row-major) as an opaque RGBA image. */
export function fromGray(values: ArrayLike<number>, width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round(values[i]!)));
    data.set([v, v, v, 255], 4 * i);
  }
  return { width, height, data };
}

/** Bilinear resize of a single-channel image (for the training pipelines' fixed input size). */
export function resizeGray(values: Float32Array, width: number, height: number, toWidth: number, toHeight: number): Float32Array {
  if (width === toWidth && height === toHeight) return values;
  const out = new Float32Array(toWidth * toHeight);
  for (let y = 0; y < toHeight; y++) {
    const sy = Math.min(height - 1, Math.max(0, ((y + 0.5) * height) / toHeight - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < toWidth; x++) {
      const sx = Math.min(width - 1, Math.max(0, ((x + 0.5) * width) / toWidth - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = sx - x0;
      const top = values[y0 * width + x0]! * (1 - fx) + values[y0 * width + x1]! * fx;
      const bottom = values[y1 * width + x0]! * (1 - fx) + values[y1 * width + x1]! * fx;
      out[y * toWidth + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
