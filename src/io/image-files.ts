import { decodeImage } from '../formats/images.js';
import { encodePng } from '../formats/png-encode.js';
import type { RgbaImage } from '../formats/rgba.js';
import { readFileBytes, writeFileAtomic } from '../util/fs.js';

/** Reads a PNG or JPEG file (told apart by its bytes) as RGBA. */
export function readImage(path: string): RgbaImage {
  return decodeImage(readFileBytes(path), path);
}

/** Writes an RGBA image as a PNG file, atomically. */
export function writePng(path: string, image: RgbaImage): void {
  writeFileAtomic(path, encodePng(image));
}
