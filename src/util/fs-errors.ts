import { MambaError } from './errors.js';

/**
 * A file operation refused by the environment (disk full, read-only, permissions, a file where a
 * folder belongs, ...): the user's to fix, so the message names the path and what to do.
 */
export class FileSystemError extends MambaError {
  constructor(
    message: string,
    readonly code: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'FileSystemError';
  }
}

/** What Node's fs functions throw: an Error with the errno name and usually the call and path. */
export interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SystemError>).code === 'string' &&
    (typeof (error as Partial<SystemError>).syscall === 'string' ||
      typeof (error as Partial<SystemError>).path === 'string')
  );
}

// What each error of the environment means, with the fix; the path is filled in.
const EXPLANATIONS: Readonly<Record<string, (path: string) => string>> = {
  ENOSPC: (p) => `no space left on the device holding ${p}: free some space, or write elsewhere (another --out)`,
  EDQUOT: (p) => `the disk quota is used up on the device holding ${p}: free some space, or write elsewhere`,
  EROFS: (p) => `${p} is on a read-only file system: write elsewhere (another --out), or remount it writable`,
  EACCES: (p) => `permission denied for ${p}: change its permissions or owner, or use another path`,
  EPERM: (p) => `the operation is not permitted on ${p}: change its permissions or owner, or use another path`,
  EEXIST: (p) => `${p} already exists and is in the way: remove or rename it, or choose another path`,
  ENOENT: (p) => `${p} does not exist: check the path (and that its folder exists)`,
  ENOTEMPTY: (p) =>
    `${p} is a folder that is not empty (is another process writing there?): remove it, or choose another path`,
  EISDIR: (p) => `${p} is a folder where a file is expected: give the path of a file, or move the folder away`,
  ENOTDIR: (p) => `part of ${p} is a file where a folder is expected: remove or rename that file, or use another path`,
};

/**
 * The error to raise for `error`: a FileSystemError naming the path and the fix where the
 * environment refused a file operation, else `error` itself (a bug stays a bug). `path` is the
 * file the caller was working on, used where Node's error names none.
 */
export function explainFileError(error: unknown, path?: string): unknown {
  if (error instanceof MambaError || !isSystemError(error)) return error;
  const explain = EXPLANATIONS[error.code];
  const where = error.path ?? path;
  if (!explain || where === undefined) return error;
  return new FileSystemError(explain(where), error.code, where);
}

/** Runs a synchronous file operation, turning a refusal of the environment into a FileSystemError. */
export function withFileErrors<T>(path: string, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    throw explainFileError(error, path);
  }
}

/** Runs an asynchronous file operation, turning a refusal of the environment into a FileSystemError. */
export async function withFileErrorsAsync<T>(path: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw explainFileError(error, path);
  }
}

/**
 * One line for any error of the environment, for the command line's last resort: the
 * explanation where the code is known, else what the system said about which path.
 */
export function describeSystemError(error: SystemError): string {
  const explained = explainFileError(error);
  if (explained instanceof FileSystemError) return explained.message;
  const where = error.path === undefined ? '' : ` on ${error.path}`;
  return `${error.syscall ?? 'a system call'}${where} failed: ${error.message}; check the path, the device and the permissions, or use another path`;
}
