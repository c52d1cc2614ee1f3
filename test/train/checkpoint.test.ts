import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseTrainerState, readTrainerState, type TrainerState } from '../../src/train/checkpoint.js';
import { MambaError } from '../../src/util/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-trainer-state-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const VALID: TrainerState = {
  step: 40,
  plannedSteps: 100,
  elapsedSeconds: 12.5,
  unitsSeen: 20480,
  settings: { model: 'mambabyte', trainer: { steps: 100 } },
  optimizerSteps: { 'embeddings.weight': 40, 'norm_f.weight': 40 },
  lastLoss: 2.25,
  secondsPerStep: 0.31,
};

/** A checkpoint folder whose trainer_state.json holds `text`. */
function checkpointWith(text: string): string {
  const dir = mkdtempSync(join(scratch, 'checkpoint-'));
  writeFileSync(join(dir, 'trainer_state.json'), text);
  return dir;
}

describe('trainer_state.json', () => {
  it('reads the state the trainer writes, and a NaN loss that JSON wrote as null', () => {
    assert.deepEqual(readTrainerState(checkpointWith(JSON.stringify(VALID))), VALID);
    const nan = parseTrainerState(JSON.parse(JSON.stringify({ ...VALID, lastLoss: NaN })), 's');
    assert.ok(Number.isNaN(nan.lastLoss));
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
    const bom = checkpointWith(`\ufeff${JSON.stringify(VALID)}`);
    assert.throws(
      () => readTrainerState(bom),
      (e: unknown) => e instanceof MambaError && /byte order mark/.test(e.message),
    );
  });

  it('refuses a state of the wrong shape, naming the file and the key', () => {
    const cases: [unknown, string][] = [
      [null, 'run/trainer_state.json: a trainer state must be a JSON object, got null'],
      [{ ...VALID, step: -1 }, 'step must be an integer in [0, 9007199254740991], got -1'],
      [{ ...VALID, step: '40' }, 'step must be an integer'],
      [{ ...VALID, plannedSteps: 1.5 }, 'plannedSteps must be an integer'],
      [{ ...VALID, elapsedSeconds: 'NaN' }, 'elapsedSeconds must be a number'],
      [{ ...VALID, settings: [] }, 'settings must be an object'],
      [{ ...VALID, optimizerSteps: { 'norm_f.weight': 1e300 } }, 'optimizerSteps.norm_f.weight must be an integer'],
      [{ ...VALID, secondsPerStep: 0 }, 'secondsPerStep must be a number in (0, 1000000000], got 0'],
    ];
    for (const [json, says] of cases) {
      assert.throws(
        () => parseTrainerState(json, 'run/trainer_state.json'),
        (e: unknown) =>
          e instanceof MambaError && e.message.startsWith('run/trainer_state.json: ') && e.message.includes(says),
        says,
      );
    }
  });
});
