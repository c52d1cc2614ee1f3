import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTrainerState, type TrainerState } from '../../src/train/checkpoint.js';
import { MambaError } from '../../src/util/errors.js';

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

describe('trainer_state.json', () => {
  it('reads the state the trainer writes, and a NaN loss that JSON wrote as null', () => {
    assert.deepEqual(parseTrainerState(JSON.parse(JSON.stringify(VALID)), 's'), VALID);
    const nan = parseTrainerState(JSON.parse(JSON.stringify({ ...VALID, lastLoss: NaN })), 's');
    assert.ok(Number.isNaN(nan.lastLoss));
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
