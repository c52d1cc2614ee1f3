import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkAsUsage, choiceFlag, existingPath, numberFlag, parse, UsageError } from '../../src/cli/args.js';
import { MambaError } from '../../src/util/errors.js';

const usage = 'usage: test';
const options = {
  options: { temperature: { type: 'string' }, 'top-k': { type: 'string' }, json: { type: 'boolean', short: 'j' } },
} as const;

/** Asserts that `fn` throws a UsageError carrying the usage, with exactly this message. */
function throwsUsage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.message, message);
    assert.equal(e.usage, usage);
    return true;
  });
}

describe('command-line flags', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-args-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('names the option meant for an unknown one, in either form, and keeps the others', () => {
    assert.deepEqual(
      { ...parse(['--temperature', '0.7', '-j'], options, usage).values },
      { temperature: '0.7', json: true },
    );
    throwsUsage(
      () => parse(['--temprature', '0.7'], options, usage),
      "unknown option '--temprature'; did you mean '--temperature'?",
    );
    throwsUsage(
      () => parse(['--json', '--top_k=3'], options, usage),
      "unknown option '--top_k'; did you mean '--top-k'?",
    );
    throwsUsage(() => parse(['-x'], options, usage), "unknown option '-x'");
    assert.throws(
      () => parse(['extra'], options, usage),
      (e: unknown) => e instanceof UsageError && /Unexpected argument 'extra'/.test(e.message),
    );
  });

  it('checks numbers, choices and paths', () => {
    assert.equal(numberFlag(undefined, 'chunk', usage, 512, { integer: true }), 512);
    throwsUsage(
      () => numberFlag('1.5', 'chunk', usage, 512, { integer: true, min: 1 }),
      "--chunk must be an integer >= 1, got '1.5'",
    );
    assert.equal(choiceFlag(undefined, 'split', ['test', 'train'], usage, 'test'), 'test');
    assert.equal(choiceFlag('train', 'split', ['test', 'train'], usage, 'test'), 'train');
    throwsUsage(
      () => choiceFlag('tarin', 'split', ['test', 'train'], usage, 'test'),
      "--split must be test or train, got 'tarin'; did you mean 'train'?",
    );
    throwsUsage(
      () => choiceFlag('x', 'backend', ['wasm', 'reference', 'gpu'], usage, 'wasm'),
      "--backend must be wasm, reference or gpu, got 'x'",
    );
    const file = join(scratch, 'a.txt');
    writeFileSync(file, 'a');
    assert.equal(existingPath(file, '--data', usage), file);
    assert.equal(existingPath(scratch, '--data', usage, 'folder'), scratch);
    throwsUsage(
      () => existingPath(join(scratch, 'b'), '--data', usage),
      `--data ${join(scratch, 'b')}: no such file or folder`,
    );
    throwsUsage(() => existingPath(scratch, '--input', usage, 'file'), `--input ${scratch}: is a folder, not a file`);
    throwsUsage(
      () => existingPath(file, '--dataset idx:', usage, 'folder'),
      `--dataset idx: ${file}: is a file, not a folder`,
    );
  });

  it("turns a library check's error into a usage error, and lets other errors through", () => {
    checkAsUsage(usage, () => {});
    throwsUsage(
      () =>
        checkAsUsage(usage, () => {
          throw new MambaError('top-p must be in (0, 1], got 2');
        }),
      'top-p must be in (0, 1], got 2',
    );
    assert.throws(
      () =>
        checkAsUsage(usage, () => {
          throw new TypeError('a bug');
        }),
      TypeError,
    );
  });
});
