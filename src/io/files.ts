import { open, rm, rename, stat, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:buffer';
import { dirname } from 'node:path';
import type { ByteSink, ByteSource } from '../formats/byte-source.js';
import { MambaError } from '../util/errors.js';
import { withFileErrorsAsync } from '../util/fs-errors.js';
import { atomicWriteError, makeFolder, tempPathFor } from '../util/fs.js';

/**
 * A file as a ByteSource. The file is opened for each read rather than held open, so a source
 * needs no closing; `size` is the size when the source was made, and a file cut short since
 * reads as truncated.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const info = await withFileErrorsAsync(path, () => stat(path));
  if (!info.isFile()) throw new MambaError(`${path} is not a file`);
  return {
    name: path,
    size: info.size,
    read: (offset, length) => withFile(path, (fh) => readAt(fh, offset, length, path)),
  };
}

/**
 * Reads up to `length` bytes at `position` into a fresh buffer (offset 0, so typed views of it
 * are aligned), fewer only where the file ends. One read call may return less than asked, and
 * Linux caps one at about 2 GiB.
 */
async function readAt(fh: FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  if (length > constants.MAX_LENGTH)
    throw new MambaError(
      `${path}: ${length} bytes is more than one array can hold in this runtime (${constants.MAX_LENGTH})`,
    );
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, Math.min(length - done, 1 << 30), position + done);
    if (bytesRead === 0) return out.subarray(0, done);
    done += bytesRead;
  }
  return out;
}

/** Runs `use` with the file open for reading, and closes it however `use` ends. */
async function withFile<T>(path: string, use: (fh: FileHandle) => Promise<T>): Promise<T> {
  const fh = await withFileErrorsAsync(path, () => open(path, 'r'));
  try {
    return await use(fh);
  } finally {
    await fh.close();
  }
}

/** Sequential writes into a file, gathered into large blocks: a checkpoint has many small tensors. */
class BlockWriter implements ByteSink {
  private readonly block = new Uint8Array(1 << 22);
  private filled = 0;

  constructor(
    readonly name: string,
    private readonly fh: FileHandle,
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.filled + bytes.byteLength > this.block.byteLength) await this.flush();
    if (bytes.byteLength >= this.block.byteLength) {
      await this.writeAll(bytes);
      return;
    }
    this.block.set(bytes, this.filled);
    this.filled += bytes.byteLength;
  }

  async flush(): Promise<void> {
    await this.writeAll(this.block.subarray(0, this.filled));
    this.filled = 0;
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) done += (await this.fh.write(bytes, done, bytes.byteLength - done)).bytesWritten;
  }
}

/**
 * Streams a file into place so that a reader (or a crash) sees the old file or the whole new one:
 * like util/fs.ts's writeFileAtomic (temporary file, fsync, rename, fsync of the folder), but for
 * files far larger than one buffer, such as an 11 GB checkpoint. The sink `fill` writes to is
 * named `path`, for messages.
 */
export async function writeFileAtomicStreaming(path: string, fill: (out: ByteSink) => Promise<void>): Promise<void> {
  makeFolder(dirname(path));
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      const out = new BlockWriter(path, fh);
      await fill(out);
      await out.flush();
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw atomicWriteError(error, tmp, path);
  }
  await syncFolder(dirname(path));
}

async function syncFolder(folder: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(folder, 'r');
    await fh.sync();
  } catch {
    // Some platforms cannot open or fsync a folder; the rename itself is still atomic there.
  } finally {
    await fh?.close();
  }
}
