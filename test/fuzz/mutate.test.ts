import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeImage } from '../../src/formats/images.js';
import { Generator } from '../../src/tensor/random.js';
import { MambaError } from '../../src/util/errors.js';
import { runCase } from './case-worker.js';
import { mutate, mutateOnce, repairPngCrcs } from './mutate.js';
import { fixture } from './seeds.js';

describe('the fuzz mutator', () => {
  const seed = new TextEncoder().encode('{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}');

  it('gives the same cases for the same seed, and other cases for another', () => {
    const run = (s: number) => Array.from({ length: 50 }, (_, i) => mutate(seed, new Generator(s * 1000 + i)).bytes);
    assert.deepEqual(run(1), run(1));
    assert.notDeepEqual(run(1), run(2));
  });

  it('makes every kind of mutation, and changes the bytes', () => {
    const g = new Generator(3);
    const seen = new Set<string>();
    let changed = 0;
    for (let i = 0; i < 500; i++) {
      const { bytes, mutation } = mutateOnce(seed, g);
      seen.add(mutation);
      if (Buffer.compare(bytes, seed) !== 0) changed++;
    }
    assert.deepEqual([...seen].sort(), [
      'delete-bytes',
      'flip-bit',
      'insert-bytes',
      'overwrite-u32',
      'set-byte',
      'splice-number',
      'truncate',
    ]);
    assert.ok(changed > 450, `${changed} of 500 mutations changed the bytes`);
  });

  it('splices hostile numbers in place of the numbers of a header', () => {
    const g = new Generator(5);
    const spliced = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { bytes, mutation } = mutateOnce(seed, g);
      if (mutation === 'splice-number') spliced.add(new TextDecoder().decode(bytes));
    }
    // Only numbers change: the keys and punctuation around them stay.
    for (const text of spliced)
      for (const part of ['{"w":{"dtype":"F', '","shape":[', '],"data_offsets":['])
        assert.ok(text.includes(part), text);
    for (const hostile of ['1e308', 'NaN', '4294967296'])
      assert.ok(
        [...spliced].some((t) => t.includes(hostile)),
        `no splice of ${hostile}`,
      );
  });

  it('repairs the chunk CRCs of a damaged PNG so that the decoder reads past them', () => {
    const png = fixture('png/gray8.png');
    const damaged = png.slice();
    damaged[20] = damaged[20]! ^ 1; // inside IHDR: the width
    assert.throws(() => decodeImage(damaged, 'damaged.png'), /CRC/);
    assert.doesNotThrow(() => decodeImage(repairPngCrcs(png), 'same.png'));
    assert.throws(
      () => decodeImage(repairPngCrcs(damaged), 'repaired.png'),
      (e: Error) => !/CRC/.test(e.message),
    );
  });
});

describe('the fuzz case classification', () => {
  const run = (reader: () => Promise<unknown>) =>
    runCase(reader, { kind: 'case', id: 0, format: 'image', bytes: new Uint8Array() });
  it('a result is ok, a MambaError is a clean error, anything else a crash', async () => {
    assert.equal((await run(async () => 1)).outcome, 'ok');
    assert.equal((await run(async () => Promise.reject(new MambaError('refused')))).outcome, 'error');
    const crash = await run(async () => (null as unknown as { x: number }).x);
    assert.equal(crash.outcome, 'crash');
    assert.match(crash.message, /^TypeError/);
    assert.equal(
      (await run(async () => Promise.reject(new RangeError('Maximum call stack size exceeded')))).outcome,
      'crash',
    );
  });
});
