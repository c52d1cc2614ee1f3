import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestMatch, didYouMean, editDistance } from '../../src/cli/suggest.js';

describe('did you mean', () => {
  it('counts insertions, deletions, substitutions and swaps of neighbours as one edit each', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('generat', 'generate'), 1);
    assert.equal(editDistance('temprature', 'temperature'), 1);
    assert.equal(editDistance('mnsit', 'mnist'), 1, 'a swap');
    assert.equal(editDistance('ab', 'ba'), 1);
    assert.equal(editDistance('abc', 'ca'), 3, 'a swap is of neighbours only, without edits between');
    for (const [a, b] of [
      ['eval', 'evla'],
      ['segment', 'sgement'],
      ['xyz', 'generate'],
    ])
      assert.equal(editDistance(a!, b!), editDistance(b!, a!), `${a} ${b} symmetric`);
  });

  it('suggests the nearest candidate within a third of the word, else the only one it begins', () => {
    const commands = ['demo', 'train', 'generate', 'eval', 'classify', 'segment', 'info', 'data'];
    assert.equal(closestMatch('generat', commands), 'generate');
    assert.equal(closestMatch('evl', commands), 'eval');
    assert.equal(closestMatch('Train', commands), 'train', 'case does not count');
    assert.equal(closestMatch('clasify', commands), 'classify');
    assert.equal(closestMatch('gen', commands), 'generate', 'the only command that begins with it');
    assert.equal(closestMatch('frobnicate', commands), undefined);
    assert.equal(closestMatch('de', commands), undefined, 'two letters begin too many words to guess');
    assert.equal(closestMatch('eval', commands), undefined, 'an exact word is not a typo');
    assert.equal(closestMatch('top', ['top-k', 'top-p']), undefined, 'two candidates begin with it');
  });

  it('formats the suggestion as the user would type it', () => {
    assert.equal(didYouMean('temprature', ['temperature', 'top-k']), "; did you mean 'temperature'?");
    assert.equal(
      didYouMean('temprature', ['temperature'], (o) => `--${o}`),
      "; did you mean '--temperature'?",
    );
    assert.equal(didYouMean('zzz', ['temperature']), '');
  });
});
