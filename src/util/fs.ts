import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { explainFileError, isSystemError, withFileErrors } from './fs-errors.js';
import { isProcessAlive } from './process-alive.js';

// `<file>.tmp-<pid>-<random>`: the pid says whether the write may still be under way.
const TEMP_FILE = /\.tmp-(\d+)-[a-z0-9]+$/;

/** The temporary file an atomic write of `path` fills before renaming it into place. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/**
 * The error to raise when an atomic write of `path` through `tmp` failed: a refusal of the
 * environment names `path` (the file the user asked for), not the temporary file.
 */
export function atomicWriteError(error: unknown, tmp: string, path: string): unknown {
  if (isSystemError(error) && (error.path === undefined || error.path === tmp)) error.path = path;
  return explainFileError(error, path);
}

/**
 * Writes a file so that a reader (or a crash) sees either the old content or the new, never a
 * part: write a temporary file beside it, fsync, rename over the target, fsync the folder.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  makeFolder(dirname(path));
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw atomicWriteError(error, tmp, path);
  }
  syncFolder(dirname(path));
}

/** A file's bytes; a refusal (missing, a folder, no permission) is a FileSystemError naming `path`. */
export function readFileBytes(path: string): Uint8Array {
  // readFileSync's EISDIR names no path: the caller's is the one to give.
  return withFileErrors(path, () => readFileSync(path));
}

/** mkdir -p, with a refusal of the environment (a file in the way, read-only) as a FileSystemError. */
export function makeFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw explainFileError(isSystemError(error) && error.code === 'ENOENT' ? mkdirCause(folder, error) : error, folder);
  }
}

/**
 * Node's recursive mkdir reports ENOENT where a folder cannot be made for another reason (a
 * read-only device, no permission): making the first missing folder alone shows the real one.
 */
function mkdirCause(folder: string, reported: unknown): unknown {
  let missing = resolve(folder);
  while (dirname(missing) !== missing && !existsSync(dirname(missing))) missing = dirname(missing);
  try {
    mkdirSync(missing);
  } catch (cause) {
    return cause;
  }
  return reported;
}

/**
 * Removes the temporary files that atomic writes left in `folder` when their process died
 * (killed mid-write); those of a process still running are its writes under way and stay.
 * Returns the names removed.
 */
export function removeStaleTempFiles(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw explainFileError(error, folder);
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_FILE.exec(name);
    if (!match || isProcessAlive(Number(match[1]))) continue;
    withFileErrors(join(folder, name), () => rmSync(join(folder, name), { force: true }));
    removed.push(name);
  }
  return removed;
}

function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot open or fsync a folder; the rename itself is still atomic there.
  }
}
