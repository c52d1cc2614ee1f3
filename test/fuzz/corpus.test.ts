import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCampaign, tallyTable, type Failure } from './campaign.js';
import { CORPUS } from './corpus.js';
import { IsolatedRunner } from './isolate.js';
import { FORMATS } from './readers.js';
import { fuzzMaterial, type FuzzMaterial } from './seeds.js';

let material: FuzzMaterial;
let runner: IsolatedRunner;
before(async () => {
  material = await fuzzMaterial();
  runner = new IsolatedRunner(material);
});
after(() => runner.close());

describe('fuzz: the seeds', () => {
  it('every format has a seed its reader reads, and no seed fails', async () => {
    for (const format of FORMATS) {
      const outcomes = [];
      for (const seed of material.seeds[format]) {
        const result = await runner.run(format, seed.bytes);
        assert.ok(
          ['ok', 'error'].includes(result.outcome),
          `${format} ${seed.name}: ${result.outcome} ${result.message}`,
        );
        outcomes.push(result.outcome);
      }
      assert.ok(outcomes.includes('ok'), `${format}: no seed reads`);
    }
  });
});

describe('fuzz: the hostile corpus of issue 14', () => {
  for (const hostile of CORPUS)
    it(hostile.name, async () => {
      const bytes = hostile.bytes(material);
      assert.ok(bytes.length <= 2 ** 21, `a hostile case is a small file, not ${bytes.length} bytes`);
      const result = await runner.run(hostile.format, bytes);
      assert.equal(result.outcome, hostile.expect, `${result.outcome} after ${result.ms} ms: ${result.message}`);
    });
});

describe('fuzz: a short seeded mutation run', () => {
  it('30 mutated cases of every format end in a valid result or a clean error', async () => {
    const failures: Failure[] = [];
    const tally = await runCampaign(material, runner, {
      formats: FORMATS,
      seed: 14,
      casesPerFormat: 30,
      onFailure: (f) => failures.push(f),
    });
    const report = failures.map(
      (f) => `${f.format} (${f.seed}, ${f.mutations.join('+')}): ${f.outcome} ${f.message.split('\n')[0]}`,
    );
    assert.deepEqual(report, [], `\n${tallyTable(tally)}`);
  });
});

describe('fuzz: the isolation', () => {
  const seed = () => material.seeds['config-vim'][0]!.bytes;
  it('a case over its time is stopped and classified timeout', async () => {
    const strict = new IsolatedRunner(material, { timeoutMs: 1, memoryCapBytes: 2 ** 30, heapMiB: 512 });
    try {
      assert.equal((await strict.run('config-vim', seed())).outcome, 'timeout');
    } finally {
      strict.close();
    }
  });
  it('a case over the memory cap is classified oom, and the next case runs in a new process', async () => {
    const strict = new IsolatedRunner(material, { timeoutMs: 5000, memoryCapBytes: 2 ** 20, heapMiB: 512 });
    try {
      assert.equal((await strict.run('config-vim', seed())).outcome, 'oom');
      assert.equal((await strict.run('config-vim', seed())).outcome, 'oom');
    } finally {
      strict.close();
    }
  });
});
