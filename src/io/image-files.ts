import { readFileSync } from 'node:fs';
import { decodeImage } from '../formats/images.js';
import { encodePng } from '../formats/png-encode.js';
import type { RgbaImage } from '../formats/rgba.js';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** Reads a PNG or JPEG file (told apart by its bytes) as RGBA. */
export function readImage(path: string): RgbaImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new MambaError(`cannot read the image ${path}: no such file`);
  }
  return decodeImage(bytes, path);
}

/** Writes an RGBA image as a PNG file, atomically. */
export function writePng(path: string, image: RgbaImage): void {
  writeFileAtomic(path, encodePng(image));
}
