import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resumeCommand } from '../../src/cli/stop.js';

const stopModule = new URL('../../src/cli/stop.js', import.meta.url).href;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stopping a training run', () => {
  it('the resume command is the one that started the run, with --resume, quoted for a shell', () => {
    const script = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
    assert.equal(
      resumeCommand(['node', script, 'train', 'vim', '--out', "runs/Bob's run", '--epochs', '2'], {}),
      `node ${join('dist', 'src', 'cli', 'main.js')} train vim --out 'runs/Bob'\\''s run' --epochs 2 --resume`,
    );
    assert.equal(
      resumeCommand(['node', '/usr/lib/node_modules/.bin/mamba-ts', 'train', 'unet', '--out', 'r', '--resume'], {}),
      'mamba-ts train unet --out r --resume',
    );
    // `npm start` passes --resume itself.
    const start = ['node', script, 'train', 'mambabyte', '--out', 'runs/start', '--minutes', '3', '--resume'];
    assert.equal(resumeCommand(start, { npm_lifecycle_event: 'start' }), 'npm start');
  });

  it('a second signal quits at once, but not one that arrives with the first (npm forwards Ctrl-C again)', async () => {
    // A "training" that never ends by itself, stopped only by signals.
    const program = `
      import { trainUntilStopped } from ${JSON.stringify(stopModule)};
      const training = trainUntilStopped(() => new Promise(() => setInterval(() => {}, 1000)));
      process.stderr.write('listening\\n');
      await training;`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let status: number | null | undefined;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code) => {
        status = code;
        resolve();
      }),
    );
    const until = async (text: string) => {
      for (let waited = 0; !stderr.includes(text); waited += 20) {
        assert.ok(waited < 30_000, stderr);
        await sleep(20);
      }
    };
    try {
      await until('listening\n');
      child.kill('SIGINT');
      child.kill('SIGINT');
      await until('stopping');
      await sleep(300);
      assert.equal(status, undefined, 'the signal that came with the first was taken for the same press');
      assert.match(
        stderr,
        /^listening\n\nCtrl-C: stopping after this step and writing a checkpoint \(Ctrl-C again quits at once\)\n$/,
      );
      await sleep(1000);
      child.kill('SIGINT');
      await exited;
      assert.equal(status, 130);
      assert.doesNotMatch(stderr, /stopped at step/);
    } finally {
      // A failed assertion must not leave the child running, nor the test waiting for it.
      child.kill('SIGKILL');
    }
  });
});
