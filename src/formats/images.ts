import jpeg from 'jpeg-js';
import { MambaError } from '../util/errors.js';
import { checkJpegFrame } from './jpeg-frame.js';
import { readLimits } from './limits.js';
import { decodePng } from './png-decode.js';
import { PNG_SIGNATURE } from './png.js';
import type { RgbaImage } from './rgba.js';

const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** What jpeg-js may allocate for one image: coefficients, component planes and the RGBA result. */
const JPEG_MEMORY_MB = 1024;

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

/** Decodes a PNG or JPEG (by its signature, not its name) into RGBA. */
export function decodeImage(bytes: Uint8Array, source: string): RgbaImage {
  // PNG's first four bytes are enough to tell it from other formats; decodePng checks the rest.
  if (startsWith(bytes, PNG_SIGNATURE.slice(0, 4))) return decodePng(bytes, source);
  if (startsWith(bytes, JPEG_SIGNATURE)) return decodeJpeg(bytes, source);
  throw new MambaError(`${source} is neither a PNG nor a JPEG image`);
}

function decodeJpeg(bytes: Uint8Array, source: string): RgbaImage {
  checkJpegFrame(bytes, source);
  try {
    // jpeg-js checks both limits again as it reads the frame header, before it allocates for the image.
    const image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: readLimits().maxImagePixels / 1e6,
      maxMemoryUsageInMB: JPEG_MEMORY_MB,
    });
    return { width: image.width, height: image.height, data: image.data };
  } catch (error) {
    throw new MambaError(`${source} could not be decoded as a JPEG image (${(error as Error).message})`);
  }
}
