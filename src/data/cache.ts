import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the folder that holds package.json, above dist/src/data/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/**
 * Where installed data sets live: $MAMBA_TS_DATA_DIR, or .cache/data in the package root
 * (git-ignored).
 */
export function dataDir(): string {
  return resolve(process.env['MAMBA_TS_DATA_DIR'] ?? join(packageRoot(), '.cache', 'data'));
}
