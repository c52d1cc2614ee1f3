import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/**
 * Mounts a small tmpfs at `dir` (e.g. 'size=64k' or 'size=64k,ro') to give a test a read-only
 * folder or a full disk, which chmod cannot while tests run as root. Returns the unmount, or
 * null where this machine does not allow the mount (not root, no mount namespace rights).
 */
export function mountTmpfs(dir: string, options: string): (() => void) | null {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  return () => execFileSync('umount', [dir], { stdio: 'ignore' });
}

export const NO_TMPFS = 'this machine does not allow mounting a tmpfs (needs root); skipped';
