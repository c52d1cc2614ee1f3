import { MambaError } from '../util/errors.js';
import { concatBytes } from './byte-source.js';
import { crc32 } from './crc32.js';
import { inflate, maxInflatedSize } from './inflate.js';
import { checkLimit } from './limits.js';
import { GRAY, GRAY_ALPHA, PALETTE, PNG_SIGNATURE, predict, RGB, RGBA } from './png.js';
import type { RgbaImage } from './rgba.js';

/**
 * PNG to 8-bit RGBA: every colour type at every bit depth the format allows, plain or
 * Adam7-interlaced, with tRNS transparency; 16-bit samples are rounded to 8 bits. Gamma, colour
 * profiles and the other ancillary chunks are ignored, as they were by the decoder this one
 * replaced. Every chunk's CRC is checked, and the pixel data must be exactly what the header
 * describes.
 */

/** Samples per pixel and the bit depths allowed, by colour type. */
const COLOUR_TYPES: ReadonlyMap<number, { name: string; channels: number; depths: readonly number[] }> = new Map([
  [GRAY, { name: 'gray', channels: 1, depths: [1, 2, 4, 8, 16] }],
  [RGB, { name: 'RGB', channels: 3, depths: [8, 16] }],
  [PALETTE, { name: 'palette', channels: 1, depths: [1, 2, 4, 8] }],
  [GRAY_ALPHA, { name: 'gray+alpha', channels: 2, depths: [8, 16] }],
  [RGBA, { name: 'RGBA', channels: 4, depths: [8, 16] }],
]);

/** Adam7's passes: first column, first row, column step, row step. */
const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Header {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  channels: number;
  interlaced: boolean;
}

/** The pixels of one pass (the whole image when not interlaced), placed every `dx` columns and `dy` rows from (x0, y0). */
interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
}

type Fail = (reason: string) => MambaError;

interface Chunks {
  header: Header;
  /** RGBA per entry, alpha from tRNS. */
  palette: Uint8Array | undefined;
  paletteSize: number;
  /** The transparent sample value(s) of a gray or RGB image, from tRNS. */
  key: number[] | undefined;
  idat: Uint8Array[];
}

/** Decodes PNG bytes to 8-bit RGBA; `source` names the file in errors. */
export function decodePng(bytes: Uint8Array, source: string): RgbaImage {
  const bad: Fail = (reason) => new MambaError(`${source} could not be decoded as a PNG image: ${reason}`);
  const { header, palette, paletteSize, key, idat } = readChunks(bytes, bad, source);
  const { width, height, depth, channels } = header;
  const passes: Pass[] = (header.interlaced ? ADAM7 : [[0, 0, 1, 1] as const]).map(([x0, y0, dx, dy]) => ({
    x0,
    y0,
    dx,
    dy,
    width: Math.max(0, Math.ceil((width - x0) / dx)),
    height: Math.max(0, Math.ceil((height - y0) / dy)),
  }));
  const rowBytes = (pixels: number): number => Math.ceil((pixels * channels * depth) / 8);
  // Each row is a filter-type byte and the row's bytes; an empty pass has no rows at all.
  const expected = passes.reduce((sum, p) => sum + (p.width && p.height * (1 + rowBytes(p.width))), 0);
  const described = `a ${width}x${height} ${COLOUR_TYPES.get(header.colourType)!.name} image of bit depth ${depth}${header.interlaced ? ', interlaced,' : ''}`;
  const compressed = concatBytes(idat);
  const most = maxInflatedSize(compressed.length);
  if (expected > most)
    throw bad(
      `${described} needs ${expected} bytes of pixel data, but its ${compressed.length} bytes of IDAT data can inflate to at most ${most}; the file is truncated or its header damaged`,
    );
  const { bytes: raw, overflowed } = inflate(
    'zlib',
    compressed,
    expected,
    `${source} could not be decoded as a PNG image: its IDAT data`,
  );
  if (overflowed) throw bad(`its IDAT data inflates to more than the ${expected} bytes ${described} needs`);
  if (raw.length < expected)
    throw bad(
      `its IDAT data inflates to ${raw.length} bytes, but ${described} needs ${expected}; the file is truncated or damaged`,
    );

  const out = new Uint8Array(width * height * 4);
  const toByte = sampleToByte(depth);
  const samples = new Uint16Array(width * channels);
  let at = 0;
  for (const pass of passes) {
    if (!pass.width) continue;
    const stride = rowBytes(pass.width);
    unfilter(raw, at, pass.height, stride, Math.max(1, (channels * depth) >> 3), bad);
    for (let py = 0; py < pass.height; py++) {
      unpack(raw, at + py * (stride + 1) + 1, pass.width * channels, depth, samples);
      const y = pass.y0 + py * pass.dy;
      for (let px = 0; px < pass.width; px++) {
        const x = pass.x0 + px * pass.dx;
        const o = 4 * (y * width + x);
        const s = px * channels;
        switch (header.colourType) {
          case GRAY: {
            const g = toByte[samples[s]!]!;
            out[o] = out[o + 1] = out[o + 2] = g;
            out[o + 3] = key && samples[s] === key[0] ? 0 : 255;
            break;
          }
          case RGB:
            out[o] = toByte[samples[s]!]!;
            out[o + 1] = toByte[samples[s + 1]!]!;
            out[o + 2] = toByte[samples[s + 2]!]!;
            out[o + 3] =
              key && samples[s] === key[0] && samples[s + 1] === key[1] && samples[s + 2] === key[2] ? 0 : 255;
            break;
          case PALETTE: {
            const index = samples[s]!;
            if (index >= paletteSize)
              throw bad(`pixel (${x}, ${y}) is palette entry ${index}, but the palette has ${paletteSize} entries`);
            out.set(palette!.subarray(4 * index, 4 * index + 4), o);
            break;
          }
          case GRAY_ALPHA:
            out[o] = out[o + 1] = out[o + 2] = toByte[samples[s]!]!;
            out[o + 3] = toByte[samples[s + 1]!]!;
            break;
          default:
            for (let c = 0; c < 4; c++) out[o + c] = toByte[samples[s + c]!]!;
        }
      }
    }
    at += pass.height * (stride + 1);
  }
  return { width, height, data: out };
}

/** Walks the chunks up to IEND, checking each one's CRC, and keeps those that decoding needs. */
function readChunks(bytes: Uint8Array, bad: Fail, source: string): Chunks {
  if (bytes.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => bytes[i] !== b))
    throw bad('it does not start with the PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | undefined;
  let plte: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let at = PNG_SIGNATURE.length; ;) {
    if (at + 12 > bytes.length) throw bad(`it ends at byte ${bytes.length} with no IEND chunk; the file is truncated`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length)
      throw bad(
        `its ${JSON.stringify(type)} chunk at byte ${at} holds ${length} bytes, which run past the end of the file; the file is truncated`,
      );
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) {
      throw bad(`its ${JSON.stringify(type)} chunk at byte ${at} fails its CRC check; the file is damaged`);
    }
    const data = bytes.subarray(at + 8, at + 8 + length);
    // Bit 5 of a type's first letter clear (upper case) marks a chunk that a decoder must understand.
    const critical = !(bytes[at + 4]! & 0x20);
    at += 12 + length;
    if (!header && type !== 'IHDR') throw bad(`its first chunk is ${JSON.stringify(type)}, not IHDR`);
    switch (type) {
      case 'IHDR':
        if (header) throw bad('it has two IHDR chunks');
        header = parseHeader(data, bad, source);
        break;
      case 'PLTE':
        plte = data;
        break;
      case 'tRNS':
        trns = data;
        break;
      case 'IDAT':
        idat.push(data);
        break;
      case 'IEND':
        if (idat.length === 0) throw bad('it has no IDAT chunk, so no pixels');
        return { header: header!, ...colours(header!, plte, trns, bad), idat };
      default:
        if (critical) throw bad(`it has a critical ${JSON.stringify(type)} chunk, which this decoder does not know`);
    }
  }
}

function parseHeader(data: Uint8Array, bad: Fail, source: string): Header {
  if (data.length !== 13) throw bad(`its IHDR chunk holds ${data.length} bytes, not 13`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colourType, compression, filter, interlace] = [data[8]!, data[9]!, data[10]!, data[11]!, data[12]!];
  if (width === 0 || height === 0 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1)
    throw bad(`its size ${width}x${height} is not one PNG allows`);
  checkLimit(
    'maxImagePixels',
    width * height,
    `${source} could not be decoded as a PNG image: its ${width}x${height} pixels`,
  );
  const colour = COLOUR_TYPES.get(colourType);
  if (!colour) throw bad(`its colour type ${colourType} is not one of PNG's (0, 2, 3, 4, 6)`);
  if (!colour.depths.includes(depth))
    throw bad(`bit depth ${depth} is not allowed for ${colour.name} images (${colour.depths.join(', ')})`);
  if (compression !== 0 || filter !== 0)
    throw bad(`its compression method ${compression} or filter method ${filter} is not PNG's 0`);
  if (interlace !== 0 && interlace !== 1)
    throw bad(`its interlace method ${interlace} is neither none (0) nor Adam7 (1)`);
  return { width, height, depth, colourType, channels: colour.channels, interlaced: interlace === 1 };
}

/** The palette (with tRNS alphas) or the transparent key, checked against the colour type. */
function colours(
  header: Header,
  plte: Uint8Array | undefined,
  trns: Uint8Array | undefined,
  bad: Fail,
): Pick<Chunks, 'palette' | 'paletteSize' | 'key'> {
  const { colourType } = header;
  if (plte && (colourType === GRAY || colourType === GRAY_ALPHA))
    throw bad('a gray image has a PLTE chunk, which PNG forbids');
  if (colourType === PALETTE) {
    if (!plte) throw bad('a palette image has no PLTE chunk');
    const size = plte.length / 3;
    if (!Number.isInteger(size) || size < 1 || size > 256)
      throw bad(`its PLTE chunk holds ${plte.length} bytes, not 3 for each of 1 to 256 entries`);
    if (trns && trns.length > size)
      throw bad(`its tRNS chunk has ${trns.length} alphas for a palette of ${size} entries`);
    const palette = new Uint8Array(4 * size);
    for (let i = 0; i < size; i++)
      palette.set([plte[3 * i]!, plte[3 * i + 1]!, plte[3 * i + 2]!, trns?.[i] ?? 255], 4 * i);
    return { palette, paletteSize: size, key: undefined };
  }
  // libpng ignores tRNS on an image with an alpha channel, where PNG forbids it; so do we.
  if (!trns || colourType === GRAY_ALPHA || colourType === RGBA)
    return { palette: undefined, paletteSize: 0, key: undefined };
  const wanted = colourType === GRAY ? 2 : 6;
  if (trns.length !== wanted)
    throw bad(
      `its tRNS chunk holds ${trns.length} bytes; a ${colourType === GRAY ? 'gray' : 'RGB'} image's holds ${wanted}`,
    );
  const view = new DataView(trns.buffer, trns.byteOffset, trns.byteLength);
  return {
    palette: undefined,
    paletteSize: 0,
    key: Array.from({ length: wanted / 2 }, (_, i) => view.getUint16(2 * i)),
  };
}

/**
 * Undoes the row filters in place. Each row is a filter-type byte and then `stride` bytes;
 * `bpp` is the bytes per pixel (1 for depths below 8), the distance to the "left" byte, and
 * the row above the first is zeros.
 */
function unfilter(raw: Uint8Array, start: number, rows: number, stride: number, bpp: number, bad: Fail): void {
  for (let y = 0; y < rows; y++) {
    const filterAt = start + y * (stride + 1);
    const filter = raw[filterAt]!;
    if (filter > 4) throw bad(`a row has filter type ${filter}; PNG's are 0 to 4`);
    if (filter === 0) continue;
    const row = filterAt + 1;
    const up = row - (stride + 1);
    for (let i = 0; i < stride; i++) {
      const left = i >= bpp ? raw[row + i - bpp]! : 0;
      raw[row + i] += predict(filter, left, y > 0 ? raw[up + i]! : 0, y > 0 && i >= bpp ? raw[up + i - bpp]! : 0);
    }
  }
}

/** The first `count` samples of a row, unpacked from `depth` bits each (most significant first, 16-bit big-endian). */
function unpack(raw: Uint8Array, row: number, count: number, depth: number, out: Uint16Array): void {
  if (depth === 8) {
    out.set(raw.subarray(row, row + count));
  } else if (depth === 16) {
    for (let i = 0; i < count; i++) out[i] = (raw[row + 2 * i]! << 8) | raw[row + 2 * i + 1]!;
  } else {
    const mask = (1 << depth) - 1;
    for (let i = 0; i < count; i++) {
      const bit = i * depth;
      out[i] = (raw[row + (bit >> 3)]! >> (8 - depth - (bit & 7))) & mask;
    }
  }
}

const byteTables = new Map<number, Uint8Array>();

/** Each sample value of a bit depth scaled to 0..255, rounded to nearest. */
function sampleToByte(depth: number): Uint8Array {
  let table = byteTables.get(depth);
  if (!table) {
    const max = 2 ** depth - 1;
    table = Uint8Array.from({ length: max + 1 }, (_, v) => Math.round((v * 255) / max));
    byteTables.set(depth, table);
  }
  return table;
}
