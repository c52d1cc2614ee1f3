import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedSettings, describeChanges, flagOf } from '../../src/train/settings.js';

describe('the settings a resume must keep', () => {
  it('are compared leaf by leaf, leaving out the length and how often the run evaluates, checkpoints and logs', () => {
    const before = {
      dModel: 64,
      moe: { experts: 8, topK: 1 },
      trainer: { lr: 0.002, steps: 100, evalEvery: 200, checkpointEvery: 100, logEvery: 10 },
    };
    const after = {
      dModel: 64,
      moe: { experts: 4, topK: 1 },
      trainer: { lr: 0.001, minutes: 3, evalEvery: 50, checkpointEvery: 10, logEvery: 1 },
    };
    assert.deepEqual(changedSettings(before, after), [
      { path: 'moe.experts', before: 8, after: 4 },
      { path: 'trainer.lr', before: 0.002, after: 0.001 },
    ]);
    assert.equal(describeChanges(changedSettings(before, after)), '--experts 8 (now 4), --lr 0.002 (now 0.001)');
  });

  it('are named by the flag that sets them, once per flag', () => {
    assert.deepEqual(
      [
        'dModel',
        'trainer.checkpointEvery',
        'moe.topK',
        'trainBytes',
        'augment.rotate',
        'augmentation.hflip',
        'nHead',
      ].map(flagOf),
      ['--d-model', '--checkpoint-every', '--top-k', '--data', '--no-augment', '--hflip', '--heads'],
    );
    const changes = changedSettings(
      { trainBytes: 100, validationBytes: 5, augment: null },
      { trainBytes: 90, validationBytes: 6, augment: { flip: true } },
    );
    assert.equal(describeChanges(changes), '--data 100 (now 90), --no-augment null (now {"flip":true})');
  });
});
