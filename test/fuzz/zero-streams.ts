import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * Compressed streams of `prefix` followed by zeros up to `total` bytes, made without ever holding
 * the whole: one megabyte of zeros is deflated once (ending on a byte boundary, no back-reference
 * before its start) and its blocks repeated, so a gigabyte costs a megabyte of output and a
 * second of work. These are the decompression bombs of the corpus.
 */
const CHUNK = 1 << 20;

function deflatedBlocks(bytes: Uint8Array): Buffer {
  return deflateRawSync(bytes, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
}

/** Raw DEFLATE of prefix + zeros, with the CRC-32 and Adler-32 of the whole, for the wrappers. */
function deflateZeros(prefix: Uint8Array, total: number): { deflated: Buffer; crc: number; adler: number } {
  if (prefix.length > Math.min(CHUNK, total))
    throw new Error('deflateZeros: the prefix must fit in the first megabyte');
  const first = new Uint8Array(Math.min(CHUNK, total));
  first.set(prefix);
  const zeros = new Uint8Array(CHUNK);
  const zeroBlocks = deflatedBlocks(zeros);
  const parts = [deflatedBlocks(first)];
  let crc = crc32(first);
  for (let done = first.length; done < total; done += CHUNK) {
    const last = total - done < CHUNK ? zeros.subarray(0, total - done) : null;
    parts.push(last ? deflatedBlocks(last) : zeroBlocks);
    crc = crc32(last ?? zeros, crc);
  }
  // A final, empty block of fixed Huffman codes ends the stream.
  parts.push(Buffer.from([0x03, 0x00]));
  // Adler-32: zeros leave the sum a unchanged and add a to b once per byte.
  let a = 1;
  let b = 0;
  for (const byte of prefix) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  b = (b + ((a * ((total - prefix.length) % 65521)) % 65521)) % 65521;
  return { deflated: Buffer.concat(parts), crc: crc >>> 0, adler: ((b << 16) | a) >>> 0 };
}

/** A .gz file holding prefix + zeros, `total` bytes in all. */
export function gzipOfZeros(prefix: Uint8Array, total: number): Uint8Array {
  const { deflated, crc } = deflateZeros(prefix, total);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  return Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]), deflated, trailer]);
}

/** A zlib stream (PNG's IDAT) of prefix + zeros, `total` bytes in all. */
export function zlibOfZeros(prefix: Uint8Array, total: number): Uint8Array {
  const { deflated, adler } = deflateZeros(prefix, total);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(adler, 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), deflated, trailer]);
}
