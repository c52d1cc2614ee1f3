import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readTrainerState } from '../../src/train/checkpoint.js';
import { MambaError } from '../../src/util/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-trainer-state-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A checkpoint folder whose trainer_state.json holds `text`. */
function checkpointWith(text: string): string {
  const dir = mkdtempSync(join(scratch, 'checkpoint-'));
  writeFileSync(join(dir, 'trainer_state.json'), text);
  return dir;
}

describe('readTrainerState: trainer_state.json through parseJson', () => {
  it('reads what a checkpoint holds', () => {
    assert.equal(readTrainerState(checkpointWith('{"step": 7}')).step, 7);
  });

  it('refuses 200,000 nested brackets with a LimitError naming the file, and a byte order mark', () => {
    const deep = checkpointWith(`{"settings": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    assert.throws(
      () => readTrainerState(deep),
      (e: unknown) =>
        e instanceof MambaError &&
        e.message.includes(join(deep, 'trainer_state.json')) &&
        /maxJsonDepth/.test(e.message),
    );
    const bom = checkpointWith('\ufeff{"step": 7}');
    assert.throws(
      () => readTrainerState(bom),
      (e: unknown) => e instanceof MambaError && /byte order mark/.test(e.message),
    );
  });
});
