import { existsSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { userCacheDir, type Env } from '../util/cache-dir.js';
import { makeFolder, writeFileAtomic } from '../util/fs.js';

export type { Env };

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface: as the Python client. */
export function hfHome(env: Env): string {
  return env['HF_HOME'] || join(userCacheDir(env), 'huggingface');
}

/** The hub cache folder with the Python client's precedence, so both share downloads. */
export function hubCacheDir(env: Env): string {
  return env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'] || join(hfHome(env), 'hub');
}

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/**
 * One model repository in the hub cache, in the layout the Python client uses:
 *   models--org--name/blobs/<etag>                 file contents, named by sha256 (LFS) or git sha1
 *   models--org--name/refs/<revision>              the commit a branch or tag pointed to when last seen
 *   models--org--name/snapshots/<commit>/<path>    relative symlinks into blobs
 */
export class RepoCache {
  readonly root: string;

  constructor(
    cacheDir: string,
    readonly repo: string,
  ) {
    this.root = join(cacheDir, `models--${repo.split('/').join('--')}`);
  }

  snapshot(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  blob(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  /** The commit `revision` stands for in the cache: itself if it is a commit hash, else its ref. */
  commitFor(revision: string): string | undefined {
    if (COMMIT_HASH.test(revision)) return revision;
    const ref = join(this.root, 'refs', revision);
    return existsSync(ref) ? readFileSync(ref, 'utf8').trim() : undefined;
  }

  writeRef(revision: string, commit: string): void {
    if (revision !== commit) writeFileAtomic(join(this.root, 'refs', revision), commit);
  }

  /** Whether the snapshot holds `path` with its contents (a dangling link does not count). */
  has(commit: string, path: string): boolean {
    try {
      return statSync(join(this.snapshot(commit), path)).isFile();
    } catch {
      return false;
    }
  }

  /** Puts blob `etag` into the snapshot as `path`. */
  link(commit: string, path: string, etag: string): void {
    const pointer = join(this.snapshot(commit), path);
    const blob = this.blob(etag);
    makeFolder(dirname(pointer));
    rmSync(pointer, { force: true });
    try {
      symlinkSync(relative(dirname(pointer), blob), pointer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another process resolving the same model linked it first: the link is the same.
      if (code === 'EEXIST') return;
      // Windows without symlink rights: like the Python client, move the blob into the snapshot.
      if (code !== 'EPERM') throw error;
      renameSync(blob, pointer);
    }
  }
}
