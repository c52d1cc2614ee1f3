/**
 * The CRC-32 that zip, gzip and PNG use (reflected polynomial 0xEDB88320), eight bytes at a time
 * ("slicing by 8"), because every tensor of a torch.save checkpoint is checked against one, so
 * loading a model waits on it; `npm run bench -- formats` measures it beside Node's zlib.
 * TABLES[k][n] is the CRC of byte n followed by k zero bytes.
 */
const TABLES = Array.from({ length: 8 }, () => new Uint32Array(256));
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLES[0]![n] = c;
}
for (let k = 1; k < 8; k++) {
  for (let n = 0; n < 256; n++) TABLES[k]![n] = (TABLES[k - 1]![n]! >>> 8) ^ TABLES[0]![TABLES[k - 1]![n]! & 0xff]!;
}
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** The CRC-32 of `bytes`; pass the previous result as `crc` to continue over a further piece. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  for (const end = bytes.length - 7; i < end; i += 8) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c =
      T7[c & 0xff]! ^
      T6[(c >>> 8) & 0xff]! ^
      T5[(c >>> 16) & 0xff]! ^
      T4[c >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < bytes.length; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
