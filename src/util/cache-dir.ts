import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The user's cache folder: $XDG_CACHE_HOME, else ~/.cache. The XDG base-directory rules ignore a
 * relative $XDG_CACHE_HOME, since it would name a different folder in every working directory.
 */
export function userCacheDir(env: Env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
}
