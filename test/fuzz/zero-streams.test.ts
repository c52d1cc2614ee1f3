import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, inflateSync } from 'node:zlib';
import { gzipOfZeros, zlibOfZeros } from './zero-streams.js';

describe('the zero streams of the corpus', () => {
  const prefix = Uint8Array.from({ length: 352 }, (_, i) => (i * 37) % 256);
  const total = 3.5 * 2 ** 20 + 11;
  const expected = new Uint8Array(total);
  expected.set(prefix);

  it('a .gz of a prefix and zeros inflates to exactly those bytes, its CRC and size checked by zlib', () => {
    const gz = gzipOfZeros(prefix, total);
    assert.ok(gz.length < total / 100, `${gz.length} bytes for ${total}`);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), expected);
  });

  it('a zlib stream of a prefix and zeros inflates to exactly those bytes, its Adler-32 checked by zlib', () => {
    assert.deepEqual(new Uint8Array(inflateSync(zlibOfZeros(prefix, total))), expected);
    assert.deepEqual(new Uint8Array(inflateSync(zlibOfZeros(new Uint8Array(), 70))), new Uint8Array(70));
  });
});
