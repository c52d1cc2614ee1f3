import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as mt from '../../src/index.js';
import { latestCheckpoint, loadTrainingCheckpoint, readTrainerState } from '../../src/train/checkpoint.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-train-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const textFile = join(scratch, 'text.txt');
writeFileSync(textFile, 'It was the best of times, it was the worst of times. '.repeat(200));
const tinyFlags = [
  '--data',
  textFile,
  '--d-model',
  '16',
  '--n-layer',
  '1',
  '--d-state',
  '4',
  '--seq-len',
  '16',
  '--batch-size',
  '2',
  '--eval-bytes',
  '64',
  '--final-eval-bytes',
  '256',
  '--threads',
  '1',
];
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

describe('mamba-ts train', () => {
  it('trains, then generate and eval work on the result', () => {
    const out = join(scratch, 'run');
    const r = cli('train', 'mambabyte', '--out', out, '--steps', '20', '--eval-every', '10', ...tinyFlags, '--json');
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.steps, 20);
    assert.ok(summary.held_out_bits_per_byte > 0 && summary.bytes_per_s > 0);
    assert.ok(summary.sample.startsWith('The '));
    assert.match(readFileSync(join(out, 'loss.svg'), 'utf8'), /<svg /);
    assert.equal(cli('generate', '--model', out, '--prompt', 'It was', '--max-new-tokens', '5').status, 0);
    const e = JSON.parse(cli('eval', '--model', out, '--text-file', textFile, '--json').stdout);
    assert.ok(e.bits_per_byte > 0);
    const again = cli('train', 'mambabyte', '--out', out, '--steps', '20', ...tinyFlags);
    assert.equal(again.status, 2, 'a folder with a run is bad usage without --resume');
    assert.match(again.stderr, /^mamba-ts: --out .*run already holds a training run \(.*step-0*20\); pass --resume/);
    assert.doesNotMatch(again.stderr, /training on/, 'refused before the data is read');
  });

  it('trains MoE-Mamba with expert statistics, and eval and generate work on it', () => {
    const out = join(scratch, 'moe');
    const r = cli(
      'train',
      'moe-mamba',
      '--out',
      out,
      '--steps',
      '12',
      '--experts',
      '4',
      '--top-k',
      '2',
      '--capacity-factor',
      '1.5',
      '--aux-loss-weight',
      '0.02',
      ...tinyFlags,
      '--json',
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.expert_load.length, 1);
    assert.equal(summary.expert_load[0].length, 4);
    assert.ok(summary.active_parameters < summary.parameters);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(metrics.every((m) => 'moe_aux_loss' in m && 'moe_dropped' in m && 'moe_max_load_over_mean' in m));
    assert.equal(cli('generate', '--model', out, '--prompt', 'It was', '--max-new-tokens', '5').status, 0);
    assert.ok(JSON.parse(cli('eval', '--model', out, '--text-file', textFile, '--json').stdout).bits_per_byte > 0);
  });

  it('a run killed at any moment leaves its last checkpoint intact, and resumes to the end', async () => {
    const out = join(scratch, 'killed');
    const flags = [
      'train',
      'mambabyte',
      '--out',
      out,
      '--steps',
      '300',
      '--checkpoint-every',
      '1',
      '--eval-every',
      '1000',
      ...tinyFlags,
    ];
    for (const delayMs of [700, 1100, 1500, 1900]) {
      const child = spawn(process.execPath, [main, ...flags, '--resume'], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await exited;
      const dir = latestCheckpoint(out);
      if (dir === null) continue;
      const model = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 1, dState: 4, vocabSize: 256 }));
      const state = await loadTrainingCheckpoint(dir, model, new mt.AdamW(model.parameters(), { lr: 1 }));
      assert.ok(state.step >= 1 && state.step <= 300);
      model.dispose();
    }
    const done = cli(...flags, '--resume', '--json');
    assert.equal(done.status, 0, done.stderr);
    assert.equal(JSON.parse(done.stdout).steps, 300);
  });

  it('Ctrl-C or SIGTERM stops a run with a checkpoint, prints the command that resumes it, and exits 130 or 143', async () => {
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const out = join(scratch, `stopped-${signal}`);
      const flags = ['train', 'mambabyte', '--out', out, '--steps', '100000', '--checkpoint-every', '5', ...tinyFlags];
      const child = spawn(process.execPath, [main, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (status) => resolve(status)));
      // Some steps into the run: once its first checkpoint is there.
      try {
        for (let waited = 0; !existsSync(join(out, 'latest')); waited += 50) {
          assert.ok(waited < 60_000, `no checkpoint after a minute:\n${stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        child.kill(signal);
        assert.equal(await exited, code, stderr);
      } finally {
        child.kill('SIGKILL');
      }
      const stopped = /\nstopped at step (\d+); checkpoint in (\S+); resume with: (.+)\n$/.exec(stderr);
      assert.ok(stopped, stderr);
      assert.doesNotMatch(stderr, /\n\s+at /);
      const step = Number(stopped[1]);
      assert.ok(step >= 5 && step < 100000, stderr);
      assert.equal(stopped[2], latestCheckpoint(out));
      assert.equal(readTrainerState(stopped[2]!).step, step);
      // The printed command, with a new total a few steps on, continues from the checkpoint.
      const command = stopped[3]!.split(' ');
      assert.deepEqual(command.slice(0, 2), ['node', relative(process.cwd(), main)]);
      assert.deepEqual(command.slice(2), [...flags, '--resume']);
      const resumed = spawnSync(
        process.execPath,
        command
          .slice(1)
          .map((a) => (a === '100000' ? String(step + 3) : a))
          .concat('--json'),
        { encoding: 'utf8' },
      );
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.match(
        resumed.stderr,
        new RegExp(`resuming from step ${step} of 100000 .*\\n.*the run now ends at step ${step + 3}`),
      );
      assert.equal(JSON.parse(resumed.stdout).steps, step + 3);
    }
  });

  it('npm start twice: the second run of a finished --minutes run with --resume trains that many minutes more', () => {
    const out = join(scratch, 'start-twice');
    const flags = ['train', 'mambabyte', '--out', out, '--minutes', '0.02', '--resume', ...tinyFlags, '--json'];
    const first = cli(...flags);
    assert.equal(first.status, 0, first.stderr);
    const firstSteps = JSON.parse(first.stdout).steps;
    const second = cli(...flags);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`resuming from step ${firstSteps} of ${firstSteps} `));
    const planned = /training about 0\.02 more minutes: to step (\d+)/.exec(second.stderr);
    assert.ok(planned, second.stderr);
    const summary = JSON.parse(second.stdout);
    assert.ok(summary.steps > firstSteps);
    assert.equal(summary.steps, Number(planned[1]));
  });

  it('a resume with other settings names the flags that differ', () => {
    const out = join(scratch, 'other-settings');
    assert.equal(cli('train', 'mambabyte', '--out', out, '--steps', '2', ...tinyFlags).status, 0);
    const r = cli(
      'train',
      'mambabyte',
      '--out',
      out,
      '--steps',
      '4',
      '--resume',
      ...tinyFlags,
      '--lr',
      '0.01',
      '--seq-len',
      '8',
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /started with other settings: --seq-len 16 \(now 8\), --lr 0\.002 \(now 0\.01\); resume with the flags it started with/,
    );
  });

  it('bad data gets one clear error', () => {
    const empty = join(scratch, 'empty.txt');
    writeFileSync(empty, '');
    const junk = join(scratch, 'junk.bin');
    writeFileSync(junk, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    const cases: [string, RegExp][] = [
      [join(scratch, 'missing.txt'), /missing\.txt/],
      [empty, /empty/],
      [junk, /binary/],
    ];
    for (const [data, message] of cases) {
      const r = cli('train', 'mambabyte', '--out', join(scratch, 'bad'), '--steps', '1', '--data', data);
      assert.equal(r.status, data === cases[0]![0] ? 2 : 1, `${data}: a missing path is bad usage, bad text bad input`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    assert.match(cli('train', 'mambabyte', '--steps', '1').stderr, /--out is required/);
    assert.match(cli('train', 'llama').stderr, /unknown model 'llama'/);
    const flags = ['--out', join(scratch, 'bad'), '--steps', '1', ...tinyFlags];
    const usage: [string[], RegExp][] = [
      [['mambabyte', ...flags, '--experts', '4'], /--experts applies to moe-mamba only/],
      [['moe-mamba', ...flags, '--experts', '2', '--top-k', '3'], /top-k must be an integer in \[1, 2\], got 3/],
    ];
    for (const [args, message] of usage) {
      const r = cli('train', ...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });
});
