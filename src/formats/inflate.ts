import { Gunzip, Inflate, Unzlib } from 'fflate';
import { MambaError } from '../util/errors.js';
import { concatBytes } from './byte-source.js';
import { crc32 } from './crc32.js';
import { checkLimit, readLimits } from './limits.js';

/** DEFLATE data bare (zip entries), in a zlib wrapper (PNG) or in gzip members (.nii.gz). */
export type Compression = 'deflate' | 'zlib' | 'gzip';

/**
 * Compressed bytes handed over at a time. DEFLATE expands at most about 1032-fold, so a step
 * makes at most about 64 MiB before its output is counted against the caller's limit: a small
 * hostile stream cannot make us allocate gigabytes before it is refused.
 */
const STEP = 1 << 16;

/**
 * The most bytes DEFLATE data of `compressed` bytes can inflate to: its densest code spends two
 * bits (a one-bit length code for 258 bytes, a one-bit distance code) on 258 bytes. A header that
 * claims more than this from the bytes present is damaged or hostile, and is refused before any
 * inflating.
 */
export function maxInflatedSize(compressed: number): number {
  return compressed * 1032;
}

export interface Inflated {
  /** What the stream holds, or its first `limit` bytes when it holds more. */
  readonly bytes: Uint8Array;
  /** Whether the stream holds more than `limit` bytes; inflating stopped there, unchecked past it. */
  readonly overflowed: boolean;
}

/**
 * Inflates `input`, keeping at most `limit` bytes. A finite `limit` over the maxDecompressedBytes
 * read limit is refused before inflating; with an infinite one, inflating stops with a LimitError
 * at that limit. Damaged data, a gzip member whose CRC-32 or size differs from its trailer, and
 * bytes after a gzip member that start no further member give a MambaError led by `what`. A
 * deflate or zlib stream cut at a block boundary inflates without complaint (neither format
 * records its length), so callers compare the size with the one they expect.
 */
export function inflate(format: Compression, input: Uint8Array, limit: number, what: string): Inflated {
  const bad = (reason: string): MambaError =>
    new MambaError(`${what} is not a valid ${format} stream (${reason}); the data is truncated or damaged`);
  const capped = limit === Infinity;
  if (capped) limit = readLimits().maxDecompressedBytes;
  else checkLimit('maxDecompressedBytes', limit, `${what}, bytes to inflate`);
  const parts: Uint8Array[] = [];
  let length = 0;
  let overflowed = false;
  // The current gzip member's output, for its trailer.
  let memberCrc = 0;
  let memberSize = 0;
  const checkTrailer = (end: number): void => {
    if (end < 8) throw bad('it ends before its trailer');
    const trailer = new DataView(input.buffer, input.byteOffset + end - 8, 8);
    if (trailer.getUint32(0, true) !== memberCrc)
      throw bad('the CRC-32 of its content differs from the one in its trailer');
    if (trailer.getUint32(4, true) !== memberSize % 2 ** 32)
      throw bad('its content is not the size its trailer records');
    memberCrc = 0;
    memberSize = 0;
  };
  const onData = (chunk: Uint8Array): void => {
    if (format === 'gzip') {
      memberCrc = crc32(chunk, memberCrc);
      memberSize += chunk.byteLength;
    }
    const room = limit - length;
    if (chunk.byteLength > room) {
      overflowed = true;
      chunk = chunk.subarray(0, room);
    }
    parts.push(chunk);
    length += chunk.byteLength;
  };
  const stream =
    format === 'deflate' ? new Inflate(onData) : format === 'zlib' ? new Unzlib(onData) : new Gunzip(onData);
  if (stream instanceof Gunzip) stream.onmember = checkTrailer;
  try {
    // Every piece goes in as not the last, then an empty last one: fflate drops a further gzip
    // member that arrives together with the end of the input.
    for (let at = 0; at < input.byteLength && !overflowed; at += STEP)
      stream.push(input.subarray(at, at + STEP), false);
    if (!overflowed) stream.push(new Uint8Array(0), true);
  } catch (error) {
    if (error instanceof MambaError) throw error;
    // fflate checks a member's header only once the member before it has ended.
    if (format === 'gzip' && length > 0 && (error as Error).message === 'invalid gzip data')
      throw bad('bytes after its gzip data start no further gzip member: trailing garbage, or a damaged member');
    throw bad((error as Error).message);
  }
  if (capped && overflowed) checkLimit('maxDecompressedBytes', limit + 1, `${what}, bytes inflated (at least)`);
  if (format === 'gzip' && !overflowed) checkTrailer(input.byteLength);
  return { bytes: concatBytes(parts), overflowed };
}
