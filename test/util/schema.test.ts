import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MambaError } from '../../src/util/errors.js';
import { above, Fields, range } from '../../src/util/schema.js';

/** Runs `read` on a config holding `json` and returns the error message it throws. */
function refusal(json: unknown, read: (f: Fields) => unknown): string {
  try {
    read(Fields.of(json, 'config.json'));
  } catch (error) {
    assert.ok(error instanceof MambaError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(json)}`);
}

describe('Fields: the shared config validator', () => {
  it('reads values in range, and takes the fallback for an absent or null key', () => {
    const f = Fields.of(
      { depth: 12, eps: 1e-5, on: true, name: 'x', kind: 'a', list: [1, 2], obj: { n: 3 }, nul: null },
      'c',
    );
    assert.equal(f.int('depth', range(1, 1024)), 12);
    assert.equal(f.number('eps', above(0, 1)), 1e-5);
    assert.equal(f.bool('on'), true);
    assert.equal(f.string('name'), 'x');
    assert.equal(f.choice('kind', ['a', 'b'] as const), 'a');
    assert.deepEqual(f.ints('list', range(2, 2), range(0, 9)), [1, 2]);
    assert.equal(f.object('obj').int('n', range(0, 9)), 3);
    assert.equal(f.int('absent', range(1, 9), 4), 4);
    assert.equal(f.int('nul', range(1, 9), 5), 5);
    assert.equal(
      f.optional('absent', (k) => f.int(k, range(1, 9))),
      undefined,
    );
    assert.deepEqual(f.objects('absent', range(0, 9), true), []);
    // Keys are the object's own: Object.prototype's names are absent like any other.
    assert.equal(f.int('constructor', range(1, 9), 6), 6);
    assert.equal(f.has('toString'), false);
  });

  it('names the file, the key path, what the value must be and what it is', () => {
    const cases: [unknown, (f: Fields) => unknown, string][] = [
      [
        { depth: 1e6 },
        (f) => f.int('depth', range(1, 1024)),
        'config.json: depth must be an integer in [1, 1024], got 1000000',
      ],
      [{ depth: 2.5 }, (f) => f.int('depth', range(1, 1024)), 'depth must be an integer in [1, 1024], got 2.5'],
      [{ depth: '3' }, (f) => f.int('depth', range(1, 1024)), 'got "3"'],
      [
        {},
        (f) => f.int('depth', range(1, 1024)),
        'depth must be an integer in [1, 1024], got nothing (the key is missing)',
      ],
      [{ eps: -1 }, (f) => f.number('eps', above(0, 1)), 'eps must be a number in (0, 1], got -1'],
      [{ eps: 0 }, (f) => f.number('eps', above(0, 1)), 'eps must be a number in (0, 1], got 0'],
      [{ eps: 'NaN' }, (f) => f.number('eps', above(0, 1)), 'got "NaN"'],
      [{ e: 1e308 }, (f) => f.number('e', above(0, 64)), 'e must be a number in (0, 64], got 1e+308'],
      [{ on: 'yes' }, (f) => f.bool('on'), 'on must be true or false, got "yes"'],
      [{ name: 3 }, (f) => f.string('name'), 'name must be a string, got 3'],
      [{ kind: 'c' }, (f) => f.choice('kind', ['a', 'b']), 'kind must be one of "a", "b", got "c"'],
      [
        { a: { b: { c: 0 } } },
        (f) => f.object('a').object('b').int('c', range(1, 2)),
        'config.json: a.b.c must be an integer in [1, 2], got 0',
      ],
      [
        { list: 7 },
        (f) => f.ints('list', range(2, 2), range(0, 9)),
        'list must be a list of 2 integers in [0, 9], got 7',
      ],
      [
        { list: [1, 10] },
        (f) => f.ints('list', range(1, 3), range(0, 9)),
        'list must be a list of [1, 3] integers in [0, 9], got [1,10]',
      ],
      [
        { xs: [{ id: 1 }, { id: -1 }] },
        (f) => f.objects('xs', range(0, 9)).map((x) => x.int('id', range(0, 9))),
        'xs[1].id must be an integer in [0, 9], got -1',
      ],
      [{ xs: [1] }, (f) => f.objects('xs', range(0, 9)), 'xs[0] must be an object, got 1'],
      [
        { p: ['a', 'z'] },
        (f) => f.choices('p', range(1, 9), ['a', 'b']),
        'p must be a list of [1, 9] names (a, b), got ["a","z"]',
      ],
      [null, () => 0, 'config.json: the file must be a JSON object, got null'],
      [[1], () => 0, 'must be a JSON object, got [1]'],
    ];
    for (const [json, read, message] of cases) {
      const said = refusal(json, read);
      assert.ok(said.includes(message), `${JSON.stringify(said)} lacks ${JSON.stringify(message)}`);
    }
  });

  it('checks relations between values, and cuts a huge value short in the message', () => {
    const f = Fields.of({ lo: 2, hi: 1 }, 'config.json');
    assert.throws(() => f.ordered('lo', 2, 'hi', 1), /config\.json: lo \(2\) must be <= hi \(1\)/);
    f.ordered('lo', 1, 'hi', 1);
    const said = refusal({ big: 'x'.repeat(10000) }, (g) => g.int('big', range(0, 1)));
    assert.ok(said.length < 200, said);
  });
});
