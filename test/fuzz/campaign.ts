import { Generator } from '../../src/tensor/random.js';
import { OUTCOMES, type CaseResult, type IsolatedRunner, type Outcome } from './isolate.js';
import { mutate, type Mutation } from './mutate.js';
import type { FormatName } from './readers.js';
import type { FuzzMaterial } from './seeds.js';

/** A mutated case that ended in a failure (crash, timeout or oom), with what it takes to replay it. */
export interface Failure extends CaseResult {
  format: FormatName;
  seed: string;
  mutations: Mutation[];
  bytes: Uint8Array;
}

/** Cases per format and outcome. */
export type Tally = Record<string, Record<Outcome, number>>;

export interface CampaignOptions {
  formats: readonly FormatName[];
  /** Seeds the mutator: the same seed, formats and case count give the same cases. */
  seed: number;
  /** Stop after this many cases per format ... */
  casesPerFormat?: number;
  /** ... or at this time (Date.now()), whichever comes first. */
  deadline?: number;
  onFailure?: (failure: Failure) => void;
}

const FAILURES: readonly Outcome[] = ['crash', 'timeout', 'oom'];

/** Mutates the seeds of each format in turn and runs every case isolated; returns the tally. */
export async function runCampaign(
  material: FuzzMaterial,
  runner: IsolatedRunner,
  options: CampaignOptions,
): Promise<Tally> {
  const g = new Generator(options.seed);
  const tally: Tally = Object.fromEntries(
    options.formats.map((f) => [f, Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>]),
  );
  const limit = options.casesPerFormat ?? Infinity;
  for (let round = 0; round < limit && Date.now() < (options.deadline ?? Infinity); round++) {
    for (const format of options.formats) {
      const seeds = material.seeds[format];
      const seed = seeds[g.int(seeds.length)]!;
      const { bytes, mutations } = mutate(seed.bytes, g);
      const result = await runner.run(format, bytes);
      tally[format]![result.outcome]++;
      if (FAILURES.includes(result.outcome))
        options.onFailure?.({ ...result, format, seed: seed.name, mutations, bytes });
    }
  }
  return tally;
}

/** The tally as a text table: one row per format, one column per outcome. */
export function tallyTable(tally: Tally): string {
  const rows = [['format', 'cases', ...OUTCOMES]];
  for (const [format, counts] of Object.entries(tally)) {
    const total = OUTCOMES.reduce((sum, o) => sum + counts[o], 0);
    rows.push([format, String(total), ...OUTCOMES.map((o) => String(counts[o]))]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
    .join('\n');
}
