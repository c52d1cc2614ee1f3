import { MambaError } from '../util/errors.js';

/**
 * Random access to the bytes of a file, a download or an array. The checkpoint readers take
 * one so that they read headers when opened and each tensor's bytes when asked: a model is
 * gigabytes, and a browser holds its bytes in memory or fetches ranges of them.
 */
export interface ByteSource {
  /** Names the bytes in messages: a file's path, a URL. */
  readonly name: string;
  readonly size: number;
  /**
   * The bytes at `offset..offset + length`, or fewer where the source ends first. They are the
   * caller's: a fresh array at offset 0, so that typed views of it are aligned and writing to it
   * changes nothing else.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Where writers put what they make, in order. */
export interface ByteSink {
  /** Names the destination in messages. */
  readonly name: string;
  write(bytes: Uint8Array): Promise<void>;
}

/** A copy in a fresh array. Not `slice()`, which on a Node Buffer returns a view of the same memory. */
function copy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** A source over bytes already in memory. */
export function bytesSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => copy(bytes.subarray(offset, offset + length)),
  };
}

/** A sink that keeps what is written, for a caller that wants the bytes (a download, a test). */
export class MemorySink implements ByteSink {
  private readonly parts: Uint8Array[] = [];

  constructor(readonly name: string) {}

  async write(bytes: Uint8Array): Promise<void> {
    // Writers may reuse their buffers, so each part is copied.
    this.parts.push(copy(bytes));
  }

  /** Everything written so far, as one array. */
  bytes(): Uint8Array {
    return concatBytes(this.parts);
  }
}

/** The parts one after another in one new array (the part itself when there is only one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Exactly `length` bytes at `offset`; a source that ends first is truncated, and `what` (the source, the tensor) leads the message. */
export async function readExactly(
  source: ByteSource,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.byteLength < length) {
    throw new MambaError(
      `${what} is truncated: it needs bytes ${offset}..${offset + length}, but the data ends at byte ${offset + bytes.byteLength}`,
    );
  }
  return bytes;
}
