import { crc32, deflateRawSync } from 'node:zlib';
import { bytesSource, type ByteSource } from '../../src/formats/byte-source.js';

/** Hand-built archives for tests: the smallest torch.save-shaped zip, with a pickle written opcode by opcode. */

/** How an entry is stored: DEFLATE-compressed, and under a recorded size other than its own. */
export interface EntryOptions {
  deflate?: boolean;
  recordedSize?: number;
}

export function zip(entries: [string, Uint8Array, EntryOptions?][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data, options = {}] of entries) {
    const nameBytes = Buffer.from(name);
    const stored = options.deflate ? deflateRawSync(data) : data;
    const method = options.deflate ? 8 : 0;
    const size = options.recordedSize ?? data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(method, 10);
    header.writeUInt32LE(crc32(data), 16);
    header.writeUInt32LE(stored.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, Buffer.from(stored));
    central.push(header, nameBytes);
    offset += 30 + nameBytes.length + stored.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

export const bytes = (...parts: (number | string | Buffer)[]): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p)),
  );
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
export const PROTO2 = bytes(0x80, 2);
export const STOP = '.';
export const str = (s: string): Buffer => bytes('X', u32(Buffer.byteLength(s)), Buffer.from(s));
export const global = (module: string, name: string): Buffer => bytes('c', `${module}\n${name}\n`);
export const small = (n: number): Buffer => bytes('K', n);
/** BININT1 below 256, BININT above. */
export const int = (n: number): Buffer => (n < 256 ? small(n) : bytes('J', u32(n)));
export const ORDERED_DICT = bytes(global('collections', 'OrderedDict'), ')R');

export interface TensorSpec {
  storage?: string;
  key?: string;
  numel?: number;
  offset?: Buffer;
  size?: number[];
  stride?: number[];
  after?: string;
}

/** The pickle torch.save writes for {"w": tensor}, with each part replaceable. */
export function statePickle(spec: TensorSpec = {}): Buffer {
  const tuple = (items: number[]): Buffer => bytes('(', ...items.map(int), 't');
  const storage = bytes(
    '(',
    str('storage'),
    global('torch', spec.storage ?? 'FloatStorage'),
    str(spec.key ?? '0'),
    str('cpu'),
    int(spec.numel ?? 8),
    't',
    'Q',
  );
  const tensor = bytes(
    global('torch._utils', '_rebuild_tensor_v2'),
    '(',
    storage,
    spec.offset ?? small(0),
    tuple(spec.size ?? [2, 3]),
    tuple(spec.stride ?? [3, 1]),
    0x89,
    ORDERED_DICT,
    't',
    'R',
    spec.after ?? '',
  );
  return bytes(PROTO2, ORDERED_DICT, '(', str('w'), tensor, 'u', STOP);
}

export interface ArchiveOptions {
  byteorder?: string;
  storage?: Uint8Array;
  storageEntry?: EntryOptions;
}

export function archiveBytes(pickle: Buffer, options: ArchiveOptions = {}): Buffer {
  const storage = options.storage ?? new Uint8Array(Float32Array.from({ length: 8 }, (_, i) => i).buffer);
  return zip([
    ['archive/data.pkl', pickle],
    ['archive/byteorder', Buffer.from(options.byteorder ?? 'little')],
    ['archive/data/0', storage, options.storageEntry],
    ['archive/version', Buffer.from('3\n')],
  ]);
}

/** A torch.save-shaped archive in memory, named `name`. */
export const archive = (name: string, pickle: Buffer, options: ArchiveOptions = {}): ByteSource =>
  bytesSource(archiveBytes(pickle, options), name);
