import { statSync } from 'node:fs';
import { latestCheckpoint } from '../train/checkpoint.js';
import { acquireRunLock, type RunLock } from '../train/run-lock.js';
import { makeFolder } from '../util/fs.js';
import { withFileErrors } from '../util/fs-errors.js';
import { UsageError } from './args.js';

/**
 * Checks a trainer's --out before any data is read and takes its lock for the rest of the command:
 * it must be a folder (or not exist yet), no other training may be writing it, and one that
 * already holds a run is taken only with --resume. The command passes the lock to the trainer
 * (RunOptions.lock) and holds it until the process exits, so that it also covers what the command
 * writes after training (the final evaluation, figures).
 */
export function claimRunFolder(out: string, resume: boolean, usage: string): RunLock {
  if (withFileErrors(out, () => statSync(out, { throwIfNoEntry: false }))?.isDirectory() === false)
    throw new UsageError(`--out ${out} is a file; give a folder for the run`, usage);
  makeFolder(out);
  const lock = acquireRunLock(out, (line) => process.stderr.write(line + '\n'));
  const existing = resume ? null : latestCheckpoint(out);
  if (existing !== null) {
    lock.release();
    throw new UsageError(
      `--out ${out} already holds a training run (${existing}); pass --resume to continue it, or choose another --out`,
      usage,
    );
  }
  return lock;
}
