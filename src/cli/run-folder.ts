import { statSync } from 'node:fs';
import { join } from 'node:path';
import { latestCheckpoint } from '../train/checkpoint.js';
import { lockHolder, LOCK_FILE, RunFolderLockedError } from '../train/run-lock.js';
import { withFileErrors } from '../util/fs-errors.js';
import { UsageError } from './args.js';

/**
 * Checks a trainer's --out before any data is read: it must be a folder (or not exist yet), no
 * other training may be writing it, and one that already holds a run is taken only with
 * --resume. The trainer refuses such a folder too, but only once the data is loaded.
 */
export function checkRunFolder(out: string, resume: boolean, usage: string): void {
  if (withFileErrors(out, () => statSync(out, { throwIfNoEntry: false }))?.isDirectory() === false)
    throw new UsageError(`--out ${out} is a file; give a folder for the run`, usage);
  const { holder } = lockHolder(out);
  if (holder !== null) throw new RunFolderLockedError(join(out, LOCK_FILE), holder);
  const existing = resume ? null : latestCheckpoint(out);
  if (existing !== null)
    throw new UsageError(
      `--out ${out} already holds a training run (${existing}); pass --resume to continue it, or choose another --out`,
      usage,
    );
}
