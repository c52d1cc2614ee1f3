import { crc32 as zlibCrc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { crc32 } from '../src/formats/crc32.js';
import { inflate } from '../src/formats/inflate.js';
import { rate, time } from './timing.js';

const BYTES = 64 << 20;

/**
 * The byte-level checks and decompression that loading a checkpoint runs, against Node's zlib
 * (native code) on the same bytes: CRC-32 over every stored tensor of a torch.save zip, and
 * inflating a deflated zip entry. GB/s, best and median of 5 runs.
 */
export function benchFormats(): object {
  const data = new Uint8Array(BYTES);
  for (let i = 0; i < BYTES; i++) data[i] = (i * 2654435761) >>> 24;
  const deflated = deflateRawSync(data, { level: 6 });
  const gb = BYTES / 1e9;
  return {
    bytes: BYTES,
    crc32: {
      ours: rate(
        gb,
        time(() => crc32(data)),
      ),
      zlib: rate(
        gb,
        time(() => zlibCrc32(data)),
      ),
    },
    inflate_raw: {
      ours: rate(
        gb,
        time(() => inflate('deflate', deflated, BYTES, 'bench')),
      ),
      zlib: rate(
        gb,
        time(() => inflateRawSync(deflated)),
      ),
    },
  };
}
