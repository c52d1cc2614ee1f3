import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { latestCheckpoint } from '../../src/train/checkpoint.js';
import {
  bitsPerByte,
  MAMBABYTE_TRAINER,
  sampleText,
  trainMambaByte,
  type MambaByteSettings,
} from '../../src/train/mambabyte.js';
import { warmupCosine } from '../../src/train/schedule.js';
import { train, type TrainerConfig, type TrainTask } from '../../src/train/trainer.js';
import { ByteBatches } from '../../src/train/byte-batches.js';
import { saveMambaLM } from '../../src/io/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-train-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const text = new TextEncoder().encode('the cat sat on the mat. the dog sat on the log. '.repeat(40));
const data = { train: text, validation: text.subarray(0, 300) };
const tiny: MambaByteSettings = {
  dModel: 32,
  nLayer: 2,
  dState: 8,
  expand: 2,
  seqLen: 32,
  batchSize: 4,
  evalBytes: 200,
  seed: 1,
};
const quiet = { log: () => {}, progress: { stream: null } };
const trainer = (o: Partial<TrainerConfig>): TrainerConfig => ({
  ...MAMBABYTE_TRAINER,
  minutes: undefined,
  warmup: 5,
  evalEvery: 1000,
  checkpointEvery: 1000,
  logEvery: 1,
  ...o,
});

describe('training', () => {
  it('warmup then cosine', () => {
    const o = { peak: 1, warmup: 10, total: 110, minRatio: 0.1 };
    assert.equal(warmupCosine(0, o), 0.1);
    assert.equal(warmupCosine(9, o), 1);
    assert.ok(Math.abs(warmupCosine(60, o) - 0.55) < 1e-9);
    assert.ok(Math.abs(warmupCosine(110, o) - 0.1) < 1e-12);
  });

  it('a tiny MambaByte overfits a short text', async () => {
    const r = await trainMambaByte(data, tiny, trainer({ steps: 120, lr: 1e-2 }), {
      out: join(scratch, 'overfit'),
      ...quiet,
    });
    const bpb = bitsPerByte(r.model, data.validation);
    assert.ok(r.history[0]!.loss > 4, `first loss ${r.history[0]!.loss}`);
    assert.ok(r.finalLoss < 0.6, `final loss ${r.finalLoss}`);
    assert.ok(bpb < 1, `held-out bits per byte ${bpb}`);
    assert.equal(r.steps, 120);
    assert.ok(sampleText(r.model, 'the ', 20).startsWith('the '));
    const metrics = readFileSync(join(scratch, 'overfit', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(metrics.length, 120);
    assert.ok('val_bpb' in metrics[metrics.length - 1]);
  });

  it('a stopped and resumed run gives exactly the losses of one run straight through', async () => {
    const config = trainer({ steps: 12, checkpointEvery: 4 });
    const task = (crashAt?: number): TrainTask => {
      const model = new mt.MambaLM(mt.mambaConfig({ dModel: 32, nLayer: 2, dState: 8, vocabSize: 256 }), {
        generator: new mt.Generator(1),
      });
      const batches = new ByteBatches(text, 32, 4, 1);
      return {
        model,
        loss: (step, micro) => {
          if (step === crashAt) throw new Error('simulated crash');
          const { input, target } = batches.batch(step, micro);
          return mt.crossEntropy(model.forward(mt.fromArray(input, [4, 32])), mt.fromArray(target, [4, 32]));
        },
        unitsPerMicroBatch: 128,
        unit: 'bytes',
        saveModel: (dir) => saveMambaLM(model, dir),
        settings: { test: 'resume' },
      };
    };
    const straight = await train(task(), config, { out: join(scratch, 'straight'), ...quiet });
    const out = join(scratch, 'resumed');
    // Crash during step 9: the checkpoint after step 8 is what survives.
    await assert.rejects(train(task(8), config, { out, ...quiet }), /simulated crash/);
    const resumed = await train(task(), config, { out, resume: true, ...quiet });
    assert.equal(resumed.resumedFrom, 8);
    assert.deepEqual(
      resumed.history.map((r) => [r.step, r.loss]),
      straight.history.map((r) => [r.step, r.loss]),
    );
  });

  it('--minutes plans a step count that fills the budget, leaving out the slow first step', async () => {
    const model = new mt.MambaLM(mt.mambaConfig({ dModel: 8, nLayer: 1, dState: 4, vocabSize: 16 }), {
      generator: new mt.Generator(3),
    });
    const batches = new ByteBatches(
      text.map((b) => b % 16),
      8,
      1,
      1,
    );
    const task: TrainTask = {
      model,
      loss: (step) => {
        // Steps of a known length: the first as slow as a compiling one.
        const until = performance.now() + (step === 0 ? 300 : 25);
        while (performance.now() < until);
        const { input, target } = batches.batch(step, 0);
        return mt.crossEntropy(model.forward(mt.fromArray(input, [1, 8])), mt.fromArray(target, [1, 8]));
      },
      unitsPerMicroBatch: 8,
      unit: 'bytes',
      saveModel: (dir) => saveMambaLM(model, dir),
      settings: { test: 'plan' },
    };
    const lines: string[] = [];
    const r = await train(task, trainer({ minutes: 0.05, logEvery: 1000 }), {
      out: join(scratch, 'plan'),
      log: (l) => lines.push(l),
      progress: quiet.progress,
    });
    const planned = /^planned (\d+) steps to train for about 0.05 minutes \(([\d.]+) s per step\)$/.exec(
      lines.find((l) => l.startsWith('planned')) ?? '',
    );
    assert.ok(planned, lines.join('\n'));
    assert.equal(r.steps, Number(planned[1]));
    // Timed from the steps after the first (25 ms each and the model's own work), not from the 300 ms one.
    assert.ok(Number(planned[2]) >= 0.025 && Number(planned[2]) < 0.1, planned[0]);
    assert.ok(r.elapsedSeconds > 3 * 0.7 && r.elapsedSeconds < 3 * 1.3, `${r.elapsedSeconds} s of a 3 s budget`);
  });

  it('stops with a clear message when the loss turns non-finite', async () => {
    await assert.rejects(
      trainMambaByte(data, tiny, trainer({ steps: 30, lr: 1e6, warmup: 1, clip: 1e30 }), {
        out: join(scratch, 'nan'),
        ...quiet,
      }),
      /training stopped at step \d+: the loss became (NaN|Infinity)/,
    );
  });

  it('refuses to overwrite a run without --resume, and a resume with other settings', async () => {
    const out = join(scratch, 'twice');
    await trainMambaByte(data, tiny, trainer({ steps: 2 }), { out, ...quiet });
    assert.ok(latestCheckpoint(out));
    await assert.rejects(
      trainMambaByte(data, tiny, trainer({ steps: 2 }), { out, ...quiet }),
      /already holds a training run .*--resume/,
    );
    await assert.rejects(
      trainMambaByte(data, { ...tiny, dModel: 16 }, trainer({ steps: 4 }), { out, resume: true, ...quiet }),
      /started with other settings \(dModel/,
    );
  });
});
