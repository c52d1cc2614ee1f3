import { MambaError } from '../util/errors.js';
import { checkLimit } from './limits.js';

/**
 * A JPEG's frame header (SOF), read and bounded before the file reaches jpeg-js: a 2 KB file can
 * claim 10000 x 9999 pixels, and jpeg-js would allocate and decode all of them before finding
 * that the data is not there.
 */

/** The frame markers jpeg-js decodes: baseline, extended and progressive Huffman-coded DCT. */
const HUFFMAN_DCT = new Set([0xc0, 0xc1, 0xc2]);

/** The other frame markers (lossless, hierarchical, arithmetic-coded): jpeg-js has no decoder for them. */
const OTHER_FRAMES = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Markers that stand alone, with no length after them: TEM, RST0-7, SOI, EOI. */
function standsAlone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

/**
 * Finds the frame header of JPEG `bytes` and checks it: a size within the maxImagePixels limit,
 * and no more blocks than the file's bytes can code. Every block of every component takes at least
 * one bit (its DC coefficient's Huffman code), so a file of n bytes holds at most 8n blocks.
 * A file with no frame header before its first scan passes: jpeg-js then refuses it.
 */
export function checkJpegFrame(bytes: Uint8Array, source: string): void {
  const bad = (reason: string): MambaError =>
    new MambaError(`${source} could not be decoded as a JPEG image: ${reason}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (standsAlone(marker)) {
      at += 2;
      continue;
    }
    if (marker === 0xda || at + 4 > bytes.length) return;
    const length = view.getUint16(at + 2);
    if (OTHER_FRAMES.has(marker))
      throw bad(
        `its frame is coded as SOF${marker - 0xc0}; only baseline, extended and progressive Huffman-coded JPEGs are supported`,
      );
    if (HUFFMAN_DCT.has(marker)) return checkFrame(bytes, view, at + 4, length - 2, source, bad);
    at += 2 + length;
  }
}

function checkFrame(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  length: number,
  source: string,
  bad: (reason: string) => MambaError,
): void {
  const components = bytes[start + 5] ?? 0;
  if (length < 6 + 3 * components || start + 6 + 3 * components > bytes.length)
    throw bad('its frame header is cut short; the file is truncated or damaged');
  const height = view.getUint16(start + 1);
  const width = view.getUint16(start + 3);
  if (width === 0 || height === 0 || components === 0)
    throw bad(`its frame header declares ${width}x${height} pixels in ${components} components, which holds no image`);
  checkLimit(
    'maxImagePixels',
    width * height,
    `${source} could not be decoded as a JPEG image: its ${width}x${height} pixels`,
  );
  const sampling = Array.from({ length: components }, (_, c) => {
    const factors = bytes[start + 7 + 3 * c]!;
    return { h: factors >> 4, v: factors & 15 };
  });
  if (sampling.some((s) => s.h < 1 || s.h > 4 || s.v < 1 || s.v > 4))
    throw bad('a component of its frame has a sampling factor outside 1 to 4; the file is damaged');
  const maxH = Math.max(...sampling.map((s) => s.h));
  const maxV = Math.max(...sampling.map((s) => s.v));
  const blocks = sampling.reduce(
    (sum, s) => sum + Math.ceil(Math.ceil((width * s.h) / maxH) / 8) * Math.ceil(Math.ceil((height * s.v) / maxV) / 8),
    0,
  );
  if (blocks > 8 * bytes.length)
    throw bad(
      `its header declares ${width}x${height} pixels, ${blocks} blocks of 8x8 to code, but its ${bytes.length} bytes can code at most ${8 * bytes.length} (each block takes at least a bit); the file is truncated or its header damaged`,
    );
}
