import { MambaError } from '../util/errors.js';
import { readExactly, type ByteSource } from './byte-source.js';
import { crc32 } from './crc32.js';
import { inflate } from './inflate.js';
import { checkLimit } from './limits.js';

/**
 * Just enough of the zip format to read torch.save archives: the central directory (zip64 too,
 * which files over 4 GiB need), STORED entries (what torch writes) and DEFLATE ones (what a zip
 * tool may write when repacking). Multi-disk archives and encryption are refused.
 */

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
/** A central directory this large is not a checkpoint's; refusing it avoids a huge allocation. */
const MAX_DIRECTORY_BYTES = 1 << 30;

function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the central directory: every entry's name, sizes and where its local header is. */
export async function readZipDirectory(source: ByteSource): Promise<Map<string, ZipEntry>> {
  const fileSize = source.size;
  const bad = (message: string): MambaError => new MambaError(`${source.name}: ${message}`);
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = await readExactly(source, fileSize - tailLength, tailLength, source.name);
  const tv = viewOf(tail);
  // The end record is 22 bytes plus a comment of up to 64 KiB; search from the end for its signature.
  let at = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) <= tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    const legacy = (await source.read(0, 1))[0] === 0x80;
    throw bad(
      legacy
        ? 'this is a legacy (torch < 1.6) pickle checkpoint, not a zip archive; load it in Python and save it again with a current torch.save, or convert it to safetensors'
        : 'not a zip archive (no end-of-central-directory record): a torch.save checkpoint is one, so this file is truncated or not a checkpoint',
    );
  }
  let entryCount = tv.getUint16(at + 10, true);
  let directorySize = tv.getUint32(at + 12, true);
  let directoryOffset = tv.getUint32(at + 16, true);
  if (tv.getUint16(at + 4, true) !== 0 || tv.getUint16(at + 6, true) !== 0)
    throw bad('multi-disk zip archives are not supported');
  const eocdPosition = fileSize - tailLength + at;
  if (at >= 20 && tv.getUint32(at - 20, true) === ZIP64_LOCATOR) {
    const recordOffset = u64(tv, at - 20 + 8);
    if (recordOffset + 56 > eocdPosition) throw bad('the zip64 end record lies outside the file');
    const record = viewOf(await readExactly(source, recordOffset, 56, source.name));
    if (record.getUint32(0, true) !== ZIP64_EOCD) throw bad('the zip64 locator does not point at a zip64 end record');
    entryCount = u64(record, 32);
    directorySize = u64(record, 40);
    directoryOffset = u64(record, 48);
  }
  if (directoryOffset + directorySize > eocdPosition)
    throw bad('the zip central directory lies outside the file: the file is truncated or damaged');
  if (directorySize > MAX_DIRECTORY_BYTES)
    throw bad(`a zip central directory of ${directorySize} bytes is too large to be a checkpoint's`);

  const directory = await readExactly(source, directoryOffset, directorySize, source.name);
  const dv = viewOf(directory);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < entryCount; n++) {
    if (p + 46 > directorySize || dv.getUint32(p, true) !== CENTRAL_HEADER)
      throw bad(`zip central directory entry ${n} is damaged`);
    const nameLength = dv.getUint16(p + 28, true);
    const extraLength = dv.getUint16(p + 30, true);
    const commentLength = dv.getUint16(p + 32, true);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > directorySize) throw bad(`zip central directory entry ${n} runs past the directory`);
    const name = new TextDecoder().decode(directory.subarray(p + 46, p + 46 + nameLength));
    let size = dv.getUint32(p + 24, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let localHeaderOffset = dv.getUint32(p + 42, true);
    // Zip64: each 32-bit field saturated at 0xFFFFFFFF is given in full, in this order, in extra field 1.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
      const id = dv.getUint16(e, true);
      const length = dv.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        const next = (): number => {
          if (q + 8 > e + 4 + length) throw bad(`zip entry "${name}" has a short zip64 extra field`);
          const value = u64(dv, q);
          q += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + length;
    }
    // Entries lie before the directory: a size that claims more is refused before anything is read.
    if (localHeaderOffset + 30 + compressedSize > directoryOffset)
      throw bad(
        `zip entry "${name}" claims ${compressedSize} bytes at offset ${localHeaderOffset}, past the start of the central directory at ${directoryOffset}: the file is truncated or damaged`,
      );
    // Readers differ on which of two same-named entries they take (a map keeps the last, torch's
    // reader not necessarily), so such an archive would load different tensors in different tools.
    if (entries.has(name))
      throw bad(`the zip holds two entries named "${name}"; a torch.save archive names each record once`);
    entries.set(name, {
      name,
      method: dv.getUint16(p + 10, true),
      flags: dv.getUint16(p + 8, true),
      crc32: dv.getUint32(p + 16, true),
      compressedSize,
      size,
      localHeaderOffset,
    });
    p = end;
  }
  return entries;
}

/**
 * Reads `length` bytes from `start` of an entry's uncompressed content; `context` (the source,
 * and the tensor if any) leads every message. A STORED entry is read in place, only the bytes asked
 * for; a DEFLATE one is inflated whole, its recorded size first held to maxDecompressedBytes,
 * and refused as soon as it inflates past that size (a zip bomb). Whole-entry reads are checked
 * against the CRC-32 in the directory.
 */
export async function readZipEntry(
  source: ByteSource,
  entry: ZipEntry,
  context: string,
  start = 0,
  length = entry.size,
): Promise<Uint8Array> {
  const what = `${context}: zip entry "${entry.name}"`;
  if (entry.flags & 1) throw new MambaError(`${what} is encrypted`);
  if (start + length > entry.size)
    throw new MambaError(`${what} holds ${entry.size} bytes, fewer than the ${start + length} needed`);
  const header = viewOf(await readExactly(source, entry.localHeaderOffset, 30, what));
  if (header.getUint32(0, true) !== LOCAL_HEADER)
    throw new MambaError(`${what}: no local header where the directory says; the file is damaged`);
  const dataStart = entry.localHeaderOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  if (dataStart + entry.compressedSize > source.size) {
    throw new MambaError(`${what} runs past the end of the file (${source.size} bytes): the file is truncated`);
  }
  let content: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size)
      throw new MambaError(`${what}: a stored entry's compressed and uncompressed sizes differ`);
    content = await readExactly(source, dataStart + start, length, what);
    if (start !== 0 || length !== entry.size) return content;
  } else if (entry.method === 8) {
    checkLimit('maxDecompressedBytes', entry.size, `${what}: its recorded size`);
    const inflated = inflate(
      'deflate',
      await readExactly(source, dataStart, entry.compressedSize, what),
      entry.size,
      what,
    );
    content = inflated.bytes;
    if (inflated.overflowed)
      throw new MambaError(
        `${what} inflates to more than its recorded ${entry.size} bytes; the file is damaged, or hostile (a zip bomb)`,
      );
    if (content.byteLength !== entry.size)
      throw new MambaError(
        `${what} inflates to ${content.byteLength} bytes, not the recorded ${entry.size}; the file is damaged`,
      );
  } else {
    throw new MambaError(
      `${what} uses zip compression method ${entry.method}; only stored (0) and deflate (8) entries can be read`,
    );
  }
  if (crc32(content) !== entry.crc32) throw new MambaError(`${what} fails its CRC-32 check; the file is damaged`);
  return content.subarray(start, start + length);
}
