import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstNonIntegerNumber, jsonDepth, parseJson } from '../../src/formats/json.js';
import { LimitError } from '../../src/formats/limits.js';
import { MambaError } from '../../src/util/errors.js';

describe('parseJson: JSON from files, bounded', () => {
  it('parses ordinary JSON and counts nesting outside strings only', () => {
    assert.deepEqual(parseJson('{"a": [1, {"b": "[[[{"}]}', 'x.json'), { a: [1, { b: '[[[{' }] });
    assert.equal(jsonDepth('{"a": [1, {"b": "[[[{\\"["}]}'), 3);
    assert.equal(jsonDepth('7'), 0);
  });

  it('refuses 200,000 nested brackets with a LimitError naming maxJsonDepth, and a byte order mark', () => {
    assert.throws(
      () => parseJson(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, 'deep.json'),
      (e: unknown) => e instanceof LimitError && e.limit === 'maxJsonDepth' && e.message.startsWith('deep.json'),
    );
    assert.throws(
      () => parseJson('\ufeff{}', 'bom.json'),
      (e: unknown) => e instanceof MambaError && /bom\.json: .*byte order mark/.test(e.message),
    );
    assert.throws(
      () => parseJson('{"a": ', 'cut.json'),
      (e: unknown) => e instanceof MambaError && e.message.startsWith('cut.json: not valid JSON'),
    );
  });
});

describe('firstNonIntegerNumber: what JSON.parse hides', () => {
  it('finds numbers written with a fraction or an exponent', () => {
    assert.equal(firstNonIntegerNumber('{"data_offsets": [0, 16.0]}'), '16.0');
    assert.equal(firstNonIntegerNumber('[1E3, 2.5]'), '1E3');
    assert.equal(firstNonIntegerNumber('[-0.5]'), '-0.5');
    assert.equal(firstNonIntegerNumber('[1,2e-7]'), '2e-7');
  });

  it('passes integers, and ignores strings and the letters of true, false and null', () => {
    assert.equal(
      firstNonIntegerNumber('{"1.5": [0, -3, 12], "e": true, "f": false, "n": null, "s": "2.0\\"3.5"}'),
      undefined,
    );
    assert.equal(firstNonIntegerNumber('123'), undefined);
  });
});
