import { crc32 } from '../../src/formats/crc32.js';
import { PNG_SIGNATURE } from '../../src/formats/png.js';
import { Generator } from '../../src/tensor/random.js';

/**
 * Numbers a hostile header would put where a size, count or offset belongs: zero, one past the
 * edges of the integer types, huge, negative, fractional and not-a-number spellings.
 */
const HOSTILE_NUMBERS = [
  '0',
  '-1',
  '1.5',
  '16.0',
  '1e308',
  '-1e308',
  '255',
  '256',
  '65535',
  '65536',
  '2147483647',
  '2147483648',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '1e6',
  '1e9',
  'NaN',
  'null',
  '"7"',
  '[]',
  '{}',
];

/** The byte-level changes the mutator makes; one or more are applied to each case. */
const MUTATIONS = [
  'flip-bit',
  'set-byte',
  'insert-bytes',
  'delete-bytes',
  'splice-number',
  'overwrite-u32',
  'truncate',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** A 32-bit little- or big-endian value a binary header might hold as a size. */
const HOSTILE_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffff];

function replace(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** The spans of ASCII digits (with sign, point and exponent) in the first 64 KiB: where headers keep their numbers. */
function numberSpans(bytes: Uint8Array): [number, number][] {
  const spans: [number, number][] = [];
  const isNumeric = (c: number): boolean =>
    (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x65 || c === 0x45;
  const end = Math.min(bytes.length, 65536);
  for (let i = 0; i < end; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) continue;
    let j = i;
    while (j < end && isNumeric(bytes[j]!)) j++;
    spans.push([i, j]);
    i = j;
  }
  return spans;
}

/** One mutation of `bytes`, chosen and placed by `g`; returns a new array. */
export function mutateOnce(bytes: Uint8Array, g: Generator): { bytes: Uint8Array; mutation: Mutation } {
  const mutation = MUTATIONS[g.int(MUTATIONS.length)]!;
  const at = bytes.length === 0 ? 0 : g.int(bytes.length);
  switch (mutation) {
    case 'flip-bit': {
      if (bytes.length === 0) return { bytes, mutation };
      const out = bytes.slice();
      out[at] = out[at]! ^ (1 << g.int(8));
      return { bytes: out, mutation };
    }
    case 'set-byte': {
      if (bytes.length === 0) return { bytes, mutation };
      const out = bytes.slice();
      out[at] = [0, 0xff, 0x7f, 0x80, g.int(256)][g.int(5)]!;
      return { bytes: out, mutation };
    }
    case 'insert-bytes': {
      const insert = Uint8Array.from({ length: 1 + g.int(16) }, () => g.int(256));
      return { bytes: replace(bytes, at, 0, insert), mutation };
    }
    case 'delete-bytes':
      return { bytes: replace(bytes, at, Math.min(bytes.length - at, 1 + g.int(16)), new Uint8Array()), mutation };
    case 'splice-number': {
      const spans = numberSpans(bytes);
      if (spans.length === 0) return mutateOnce(bytes, g);
      const [start, end] = spans[g.int(spans.length)]!;
      const number = new TextEncoder().encode(HOSTILE_NUMBERS[g.int(HOSTILE_NUMBERS.length)]!);
      return { bytes: replace(bytes, start, end - start, number), mutation };
    }
    case 'overwrite-u32': {
      if (bytes.length < 4) return mutateOnce(bytes, g);
      const out = bytes.slice();
      const view = new DataView(out.buffer);
      // Binary headers sit at the start: aim there more often than a uniform pick would.
      const offset = g.int(Math.min(bytes.length - 3, g.uniform() < 0.5 ? 512 : bytes.length - 3));
      view.setUint32(offset, HOSTILE_U32[g.int(HOSTILE_U32.length)]!, g.uniform() < 0.5);
      return { bytes: out, mutation };
    }
    case 'truncate':
      return { bytes: bytes.slice(0, at), mutation };
  }
}

/**
 * Recomputes the CRC of every PNG chunk that lies inside the file: a PNG decoder refuses a chunk
 * whose CRC fails before reading it, so without this nearly every mutation stops there.
 */
export function repairPngCrcs(bytes: Uint8Array): Uint8Array {
  if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return bytes;
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  for (let at = PNG_SIGNATURE.length; at + 12 <= out.length;) {
    const length = view.getUint32(at);
    if (at + 12 + length > out.length) break;
    view.setUint32(at + 8 + length, crc32(out.subarray(at + 4, at + 8 + length)) >>> 0);
    at += 12 + length;
  }
  return out;
}

/** One to four mutations of `bytes` in a row; half the mutated PNGs get their chunk CRCs repaired. */
export function mutate(bytes: Uint8Array, g: Generator): { bytes: Uint8Array; mutations: Mutation[] } {
  const mutations: Mutation[] = [];
  let current = bytes;
  for (let n = 1 + g.int(4); n > 0; n--) {
    const step = mutateOnce(current, g);
    current = step.bytes;
    mutations.push(step.mutation);
  }
  return { bytes: g.uniform() < 0.5 ? repairPngCrcs(current) : current, mutations };
}
