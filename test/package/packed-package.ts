import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTarGz } from '../../src/data/npm-pack.js';

/** The repository root: this file runs from dist/test/package/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** What the package needs at run time, and the compiler; linked from the repository's node_modules, so nothing is fetched. */
const LINKED_PACKAGES = ['@huggingface/tokenizers', 'fflate', 'jpeg-js', 'typescript', '@types/node'];

export interface PackedPackage {
  /** The tarball as `npm pack` wrote it. */
  tarball: string;
  /** Its files, keyed by their path inside the package. */
  files: Map<string, Uint8Array>;
  /** A project folder with the package installed as node_modules/mamba-ts. */
  consumer: string;
}

/**
 * Packs the repository as `npm publish` would, into a new temporary folder (the tarball's parent,
 * which the caller removes). dist/ must be built already: --ignore-scripts skips `prepare`, which
 * would rebuild it.
 */
export function pack(): Omit<PackedPackage, 'consumer'> {
  const dir = mkdtempSync(join(tmpdir(), 'mamba-ts-package-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--offline', '--json', '--pack-destination', dir], {
      cwd: repoRoot,
      env: { ...process.env, npm_config_update_notifier: 'false' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { filename: string }[];
  const tarball = join(dir, packed[0]!.filename);
  return { tarball, files: readTarGz(readFileSync(tarball), tarball) };
}

/**
 * Packs the repository and installs the tarball into a fresh project beside it. The caller
 * removes `consumer`'s parent (the temporary folder) when done.
 */
export function packAndInstall(): PackedPackage {
  const { tarball, files } = pack();
  const consumer = join(dirname(tarball), 'consumer');
  for (const [path, bytes] of files) {
    const target = join(consumer, 'node_modules', 'mamba-ts', path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
  }
  for (const name of LINKED_PACKAGES) {
    const link = join(consumer, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), link, 'dir');
  }
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return { tarball, files, consumer };
}
