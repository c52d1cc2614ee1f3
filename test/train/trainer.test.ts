import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { acquireRunLock, LOCK_FILE, RunFolderLockedError } from '../../src/train/run-lock.js';
import { warmupCosine } from '../../src/train/schedule.js';
import { train, TrainingStopped, type TrainerConfig, type TrainTask } from '../../src/train/trainer.js';
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

/** A tiny byte-level Mamba task; `beforeStep` runs at the start of each step's loss. */
function tinyTask(beforeStep?: (step: number) => void): TrainTask {
  const model = new mt.MambaLM(mt.mambaConfig({ dModel: 32, nLayer: 2, dState: 8, vocabSize: 256 }), {
    generator: new mt.Generator(1),
  });
  const batches = new ByteBatches(text, 32, 4, 1);
  return {
    model,
    loss: (step, micro) => {
      beforeStep?.(step);
      const { input, target } = batches.batch(step, micro);
      return mt.crossEntropy(model.forward(mt.fromArray(input, [4, 32])), mt.fromArray(target, [4, 32]));
    },
    unitsPerMicroBatch: 128,
    unit: 'bytes',
    saveModel: (dir) => saveMambaLM(model, dir),
    settings: { test: 'resume' },
  };
}

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
    const straight = await train(tinyTask(), config, { out: join(scratch, 'straight'), ...quiet });
    const out = join(scratch, 'resumed');
    // Crash during step 9: the checkpoint after step 8 is what survives.
    await assert.rejects(
      train(
        tinyTask((step) => {
          if (step === 8) throw new Error('simulated crash');
        }),
        config,
        { out, ...quiet },
      ),
      /simulated crash/,
    );
    const resumed = await train(tinyTask(), config, { out, resume: true, ...quiet });
    assert.equal(resumed.resumedFrom, 8);
    assert.deepEqual(
      resumed.history.map((r) => [r.step, r.loss]),
      straight.history.map((r) => [r.step, r.loss]),
    );
  });

  it('an abort stops the run after the step under way, with a checkpoint it resumes from exactly', async () => {
    const config = trainer({ steps: 10, checkpointEvery: 100 });
    const straight = await train(tinyTask(), config, { out: join(scratch, 'straight-10'), ...quiet });
    const out = join(scratch, 'aborted');
    const controller = new AbortController();
    const stopped = await train(
      tinyTask((step) => {
        if (step === 3) controller.abort('SIGINT');
      }),
      config,
      { out, ...quiet, signal: controller.signal },
    ).then(
      () => assert.fail('the run did not stop'),
      (error: unknown) => error,
    );
    assert.ok(stopped instanceof TrainingStopped, String(stopped));
    // Step 4 (index 3) was under way when the signal came: it finished, and its checkpoint was written.
    assert.equal(stopped.step, 4);
    assert.equal(stopped.reason, 'SIGINT');
    assert.equal(stopped.checkpoint, latestCheckpoint(out));
    assert.match(stopped.message, /training stopped at step 4 \(SIGINT\); its checkpoint is .*step-0000004/);
    const resumed = await train(tinyTask(), config, { out, resume: true, ...quiet });
    assert.equal(resumed.resumedFrom, 4);
    assert.deepEqual(
      resumed.history.map((r) => [r.step, r.loss]),
      straight.history.map((r) => [r.step, r.loss]),
    );
  });

  it('--resume with a larger --steps extends a finished run, the cosine re-planned to the new end', async () => {
    const out = join(scratch, 'extended');
    const lines: string[] = [];
    const run = { out, ...quiet, log: (l: string) => lines.push(l) };
    const config = trainer({ steps: 6, warmup: 2 });
    await train(tinyTask(), config, run);
    const again = await train(tinyTask(), config, { ...run, resume: true });
    assert.equal(again.steps, 6, 'the same length again trains nothing');
    assert.ok(lines.some((l) => /finished its 6 steps; --steps N or --minutes M trains it further/.test(l)));
    const extended = await train(tinyTask(), { ...config, steps: 10 }, { ...run, resume: true });
    assert.equal(extended.resumedFrom, 6);
    assert.equal(extended.steps, 10);
    assert.ok(lines.includes('the run now ends at step 10 (it was planned to end at 6)'), lines.join('\n'));
    assert.deepEqual(
      extended.history.map((r) => r.step),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    for (const r of extended.history.slice(6)) {
      const lr = warmupCosine(r.step - 1, { peak: config.lr, warmup: 2, total: 10, minRatio: config.minLrRatio });
      assert.ok(Math.abs(r.lr - lr) < 1e-12, `step ${r.step}: lr ${r.lr}, expected ${lr}`);
    }
    await assert.rejects(
      train(tinyTask(), { ...config, steps: 8 }, { ...run, resume: true }),
      /already at step 10, past --steps 8; give --steps above 10/,
    );
  });

  it('--resume with --minutes trains a finished run about that many minutes more, planned from its measured speed', async () => {
    const out = join(scratch, 'extended-minutes');
    const lines: string[] = [];
    const run = { out, ...quiet, log: (l: string) => lines.push(l) };
    const first = await train(tinyTask(), trainer({ steps: 5 }), run);
    const perStep = first.elapsedSeconds / 5;
    const r = await train(tinyTask(), trainer({ minutes: 0.01 }), { ...run, resume: true });
    const expected = 5 + Math.floor(0.6 / perStep);
    assert.equal(r.steps, expected);
    assert.ok(
      lines.some((l) => l.startsWith(`training about 0.01 more minutes: to step ${expected}, ${expected - 5} steps`)),
      lines.join('\n'),
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
    // The log and the progress lines (one per step on this pipe) in the order they came.
    const lines: string[] = [];
    const r = await train(task, trainer({ minutes: 0.05, logEvery: 1000 }), {
      out: join(scratch, 'plan'),
      log: (l) => lines.push(l),
      progress: { stream: { write: (text: string) => lines.push(text.trimEnd()) }, every: 0 },
    });
    const at = lines.findIndex((l) => l.startsWith('planned'));
    const planned = /^planned (\d+) steps to train for about 0.05 minutes \(([\d.]+) s per step\)$/.exec(
      lines[at] ?? '',
    );
    assert.ok(planned, lines.join('\n'));
    assert.equal(r.steps, Number(planned[1]));
    // Until the plan: the step count alone, no total and no bar that would look finished.
    const measuring = lines.slice(0, at);
    assert.ok(measuring.length >= 4, measuring.join('\n'));
    measuring.forEach((l, i) =>
      assert.match(l, new RegExp(`^step ${i + 1} \\(measuring speed\\) [\\d.]+k? bytes/s \\| loss `)),
    );
    // Then the total, a bar and the time left.
    assert.match(
      lines[at + 1]!,
      new RegExp(`^step ${at + 1}/${planned[1]} \\[=* *\\] [\\d.]+k? bytes/s \\| eta \\d+s \\| loss `),
    );
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
      /started with other settings: --d-model 32 \(now 16\); resume with the flags it started with/,
    );
  });

  it('one trainer per run folder: a second one is refused while the first runs, and the lock goes with the first', async () => {
    const out = join(scratch, 'locked');
    const controller = new AbortController();
    let running!: () => void;
    const atStep2 = new Promise<void>((resolve) => (running = resolve));
    const first = train(
      tinyTask((step) => {
        if (step === 2) running();
      }),
      trainer({ steps: 100_000 }),
      { out, ...quiet, signal: controller.signal },
    );
    await atStep2;
    assert.ok(existsSync(join(out, LOCK_FILE)));
    await assert.rejects(train(tinyTask(), trainer({ steps: 2 }), { out, ...quiet }), (e: Error) => {
      assert.ok(e instanceof RunFolderLockedError);
      assert.match(e.message, new RegExp(`^${join(out, LOCK_FILE)}: another training \\(pid ${process.pid} on `));
      return true;
    });
    await assert.rejects(
      train(tinyTask(), trainer({ steps: 2 }), { out, resume: true, ...quiet }),
      RunFolderLockedError,
    );
    controller.abort('SIGTERM');
    await assert.rejects(first, TrainingStopped);
    assert.equal(existsSync(join(out, LOCK_FILE)), false);
    // The refused trainers wrote nothing: the metrics are the first run's alone, one line per step.
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).step);
    assert.deepEqual(
      steps,
      [...steps.keys()].map((k) => k + 1),
    );
  });

  it("a lock the caller holds (the command line's) is used and left held, so that it covers what the caller writes after training", async () => {
    const out = join(scratch, 'held');
    mkdirSync(out, { recursive: true });
    const lock = acquireRunLock(out, () => {});
    try {
      await train(tinyTask(), trainer({ steps: 2 }), { out, ...quiet, lock });
      assert.ok(existsSync(join(out, LOCK_FILE)), 'still held after train()');
      await assert.rejects(
        train(tinyTask(), trainer({ steps: 3 }), { out, resume: true, ...quiet }),
        RunFolderLockedError,
      );
    } finally {
      lock.release();
    }
    assert.equal(existsSync(join(out, LOCK_FILE)), false);
  });

  it('removes the temporary files that killed writes left, before it starts', async () => {
    const out = join(scratch, 'leftovers');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const step = join(out, 'checkpoints', 'step-0000009');
    mkdirSync(step, { recursive: true });
    const leftovers = [
      join(out, `metrics.jsonl.tmp-${dead}-k1`),
      join(out, 'checkpoints', `x.tmp-${dead}-k2`),
      join(step, `optimizer.safetensors.tmp-${dead}-k3`),
    ];
    for (const file of leftovers) writeFileSync(file, 'partial');
    const lines: string[] = [];
    await train(tinyTask(), trainer({ steps: 1 }), { out, log: (l) => lines.push(l), progress: { stream: null } });
    assert.ok(lines.includes(`removed 3 temporary file(s) of writes that were interrupted: ${leftovers.join(', ')}`));
    for (const file of leftovers) assert.equal(existsSync(file), false);
    assert.deepEqual(readdirSync(step), []);
  });
});
