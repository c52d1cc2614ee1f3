import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseJson } from '../formats/json.js';
import { MambaError } from '../util/errors.js';
import { explainFileError, withFileErrors } from '../util/fs-errors.js';
import { tempPathFor } from '../util/fs.js';
import { isProcessAlive } from '../util/process-alive.js';

/** The lock file of a run folder: while it exists, one trainer writes there. */
export const LOCK_FILE = '.lock';

/** Who holds a run folder's lock. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** ISO time the trainer started. */
  started: string;
}

/** A second trainer asked for a run folder another one is writing. */
export class RunFolderLockedError extends MambaError {
  constructor(
    readonly lockFile: string,
    readonly holder: LockHolder,
  ) {
    super(
      `${lockFile}: another training (pid ${holder.pid} on ${holder.hostname}, started ${holder.started}) is writing ` +
        `this run folder; wait for it to end or stop it, or choose another --out` +
        (holder.hostname === hostname() ? '' : `; if no training runs there on ${holder.hostname}, remove ${lockFile}`),
    );
    this.name = 'RunFolderLockedError';
  }
}

/** A held lock; `release()` removes it (and is safe to call more than once). */
export interface RunLock {
  readonly path: string;
  release(): void;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = parseJson(text, LOCK_FILE) as Partial<LockHolder> | null;
    if (typeof value?.pid === 'number' && typeof value.hostname === 'string' && typeof value.started === 'string')
      return value as LockHolder;
  } catch {
    // Not a lock this code wrote (it writes the whole lock before linking it into place).
  }
  return null;
}

/**
 * Who holds the lock of `folder`, or null when nobody does: no lock file, a holder that no longer
 * runs on this host, or a file that is not a lock. Such a stale lock comes with `stale` saying
 * why, so that the caller can take it over.
 */
export function lockHolder(folder: string): { holder: LockHolder | null; stale: string | null } {
  const text = readLock(join(folder, LOCK_FILE));
  if (text === null) return { holder: null, stale: null };
  const holder = parseHolder(text);
  if (holder === null) return { holder: null, stale: 'it is not a lock this program wrote' };
  if (holder.hostname === hostname() && !isProcessAlive(holder.pid))
    return { holder: null, stale: `it was left by pid ${holder.pid}, which no longer runs` };
  return { holder, stale: null };
}

function readLock(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw explainFileError(error, path);
  }
}

// Takeovers of a stale lock by trainers starting together: each round one of them gets it.
const TAKEOVER_ATTEMPTS = 5;

/**
 * Takes the lock of a run folder for this process: `<folder>/.lock`, holding the pid, host and
 * start time, is written whole into a temporary file and hard-linked into place, which fails if a
 * lock exists: two trainers starting together cannot both have it, and no lock is ever seen half
 * written. A stale lock is taken over with a note through `log`; a live one raises
 * RunFolderLockedError. The lock is also removed if the process exits without releasing it
 * (process.exit on a second Ctrl-C); a SIGKILL leaves it, and the next trainer finds it stale.
 */
export function acquireRunLock(folder: string, log: (line: string) => void): RunLock {
  const path = join(folder, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, hostname: hostname(), started: new Date().toISOString() };
  const tmp = tempPathFor(path);
  withFileErrors(path, () => writeFileSync(tmp, JSON.stringify(mine) + '\n'));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainFileError(error, path);
      }
      const { holder, stale } = lockHolder(folder);
      if (holder !== null) throw new RunFolderLockedError(path, holder);
      if (attempt === TAKEOVER_ATTEMPTS)
        throw new MambaError(
          `${path}: could not take the lock of this run folder; is another training starting there?`,
        );
      if (stale !== null) log(`taking over ${path}: ${stale}`);
      withFileErrors(path, () => rmSync(path, { force: true }));
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    // Only our own lock: a folder moved away and reused keeps its new holder's.
    const holder = parseHolder(readLock(path) ?? '');
    if (holder?.pid === mine.pid && holder.started === mine.started) rmSync(path, { force: true });
  };
  process.on('exit', release);
  return { path, release };
}
