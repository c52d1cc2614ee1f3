import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { choiceFlag, numberFlag, parse, UsageError } from '../src/cli/args.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { runCampaign, tallyTable, type Failure } from '../test/fuzz/campaign.js';
import { IsolatedRunner } from '../test/fuzz/isolate.js';
import { FORMATS, type FormatName } from '../test/fuzz/readers.js';
import { fuzzMaterial } from '../test/fuzz/seeds.js';

const USAGE = `usage: npm run fuzz -- --minutes N [--seed S] [--format NAME ...] [--out DIR]

Mutates valid files of every format (or of the --format ones) for N minutes and runs each through
its reader in a child process with time and memory limits. Prints cases per format and outcome;
failing inputs (crash, timeout, oom) go to DIR (default runs/fuzz/seed-S), each with a .json of
what happened, to be added to test/fuzz/corpus.ts once understood.
formats: ${FORMATS.join(', ')}`;

/** `npm run fuzz`: the seeded mutator of test/fuzz run for a while, outside npm test. */
async function main(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      options: {
        minutes: { type: 'string' },
        seed: { type: 'string' },
        format: { type: 'string', multiple: true },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.minutes === undefined) throw new UsageError('--minutes is required', USAGE);
  const minutes = numberFlag(values.minutes, 'minutes', USAGE, 0, { min: 0 });
  const seed = numberFlag(values.seed, 'seed', USAGE, Date.now() % 2 ** 31, { integer: true, min: 0 });
  const formats = (values.format ?? [...FORMATS]).map((f) => choiceFlag(f, 'format', FORMATS, USAGE, f as FormatName));
  const out = values.out ?? join('runs', 'fuzz', `seed-${seed}`);

  const material = await fuzzMaterial();
  const runner = new IsolatedRunner(material);
  const failures: Failure[] = [];
  const save = (failure: Failure): void => {
    failures.push(failure);
    mkdirSync(out, { recursive: true });
    const file = join(out, `${failure.format}-${failures.length}`);
    writeFileAtomic(`${file}.bin`, failure.bytes);
    const { bytes: _bytes, ...details } = failure;
    writeFileAtomic(`${file}.json`, `${JSON.stringify({ ...details, size: failure.bytes.length }, null, 2)}\n`);
    process.stderr.write(
      `${failure.outcome}: ${failure.format} (${failure.mutations.join('+')} of ${failure.seed}) -> ${file}.bin\n`,
    );
  };
  try {
    const tally = await runCampaign(material, runner, {
      formats,
      seed,
      deadline: Date.now() + minutes * 60_000,
      onFailure: save,
    });
    process.stdout.write(
      `${tallyTable(tally)}\n\n${JSON.stringify({ seed, minutes, formats: tally, failures: failures.length, saved: failures.length ? out : null })}\n`,
    );
    return failures.length === 0 ? 0 : 1;
  } finally {
    runner.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`fuzz: ${error.message}\n\n${error.usage}\n`);
      process.exit(2);
    }
    throw error;
  },
);
