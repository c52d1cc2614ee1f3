import { join, resolve } from 'node:path';
import { userCacheDir, type Env } from '../util/cache-dir.js';

/**
 * Where installed data sets live: $MAMBA_TS_DATA_DIR, else mamba-ts/data in the user's cache
 * ($XDG_CACHE_HOME or ~/.cache). Outside the package, so that reinstalling it keeps the data and
 * every project that depends on it shares one copy.
 */
export function dataDir(env: Env = process.env): string {
  return resolve(env['MAMBA_TS_DATA_DIR'] || join(userCacheDir(env), 'mamba-ts', 'data'));
}
