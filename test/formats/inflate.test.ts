import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { crc32 } from '../../src/formats/crc32.js';
import { inflate } from '../../src/formats/inflate.js';
import { MambaError } from '../../src/util/errors.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const fails = (run: () => unknown, ...parts: string[]): void =>
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });

describe('crc32', () => {
  it('is the CRC-32 of zip, gzip and PNG, also when continued piece by piece', () => {
    assert.equal(crc32(text('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    const all = text('the quick brown fox');
    assert.equal(crc32(all.subarray(7), crc32(all.subarray(0, 7))), crc32(all));
  });
});

describe('inflate: bounded, checked decompression', () => {
  const content = text('mamba '.repeat(5000));

  it('inflates what zlib writes, in each wrapper', () => {
    for (const [format, packed] of [
      ['deflate', deflateRawSync(content)],
      ['zlib', deflateSync(content)],
      ['gzip', gzipSync(content)],
    ] as const) {
      const { bytes, overflowed } = inflate(format, packed, content.length, format);
      assert.equal(overflowed, false, format);
      assert.deepEqual(bytes, content, format);
    }
  });

  it('reads every member of a multi-member gzip file, checking each trailer', () => {
    const packed = Buffer.concat([gzipSync(text('first ')), gzipSync(text('second ')), gzipSync(text('third'))]);
    assert.equal(new TextDecoder().decode(inflate('gzip', packed, 100, 'members').bytes), 'first second third');
    const damaged = Buffer.from(packed);
    damaged[gzipSync(text('first ')).length - 8] ^= 1;
    fails(() => inflate('gzip', damaged, 100, 'members.gz'), 'members.gz', 'CRC-32');
  });

  it('refuses a gzip trailer that disagrees with the content, or is missing', () => {
    const packed = gzipSync(content);
    const crc = Buffer.from(packed);
    crc[crc.length - 6] ^= 1;
    fails(
      () => inflate('gzip', crc, Infinity, 'crc.gz'),
      'crc.gz is not a valid gzip stream',
      'CRC-32',
      'truncated or damaged',
    );
    const size = Buffer.from(packed);
    size[size.length - 1] ^= 1;
    fails(() => inflate('gzip', size, Infinity, 'size.gz'), 'size its trailer records');
    fails(
      () => inflate('gzip', packed.subarray(0, packed.length - 8), Infinity, 'cut.gz'),
      'cut.gz',
      'truncated or damaged',
    );
    fails(() => inflate('gzip', new Uint8Array(0), Infinity, 'empty.gz'), 'empty.gz', 'before its trailer');
  });

  it('refuses a stream cut in the middle, or damaged', () => {
    const packed = deflateRawSync(content);
    fails(
      () => inflate('deflate', packed.subarray(0, packed.length >> 1), Infinity, 'half'),
      'half is not a valid deflate stream',
      'truncated or damaged',
    );
    fails(() => inflate('deflate', Uint8Array.of(0xff, 0xff, 0xff), Infinity, 'noise'), 'noise', 'deflate');
  });

  it('stops at the limit, without inflating or checking what follows', () => {
    // 128 MiB of zeros with the end of the stream overwritten: reading it all would fail, so an
    // answer with no error shows that inflating stopped within the first piece.
    const bomb = deflateRawSync(new Uint8Array(128 << 20));
    bomb.fill(0xff, bomb.length - 1000);
    const { bytes, overflowed } = inflate('deflate', bomb, 1000, 'bomb');
    assert.equal(overflowed, true);
    assert.deepEqual(bytes, new Uint8Array(1000));
    fails(() => inflate('deflate', bomb, Infinity, 'bomb'), 'bomb', 'not a valid deflate stream');
  });
});
