import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { crc32 } from '../../src/formats/crc32.js';
import { inflate, maxInflatedSize } from '../../src/formats/inflate.js';
import { LimitError } from '../../src/formats/limits.js';
import { MambaError } from '../../src/util/errors.js';
import { withReadLimits } from './read-limits.js';

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

  it('is capped by maxDecompressedBytes: a larger limit is refused before inflating, no limit stops there', () => {
    const zeros = deflateRawSync(new Uint8Array(1 << 20));
    const limited = (run: () => unknown): void =>
      assert.throws(
        run,
        (e) => e instanceof LimitError && e.limit === 'maxDecompressedBytes' && /zeros/.test(e.message),
      );
    withReadLimits({ maxDecompressedBytes: 1000 }, () => {
      limited(() => inflate('deflate', zeros, 1001, 'zeros'));
      limited(() => inflate('deflate', zeros, Infinity, 'zeros'));
      assert.equal(inflate('deflate', zeros, 1000, 'zeros').bytes.length, 1000);
    });
    assert.equal(inflate('deflate', zeros, Infinity, 'zeros').bytes.length, 1 << 20);
  });

  it('maxInflatedSize bounds what the densest streams zlib writes expand to', () => {
    for (const size of [1, 1000, 1 << 24]) {
      const zeros = new Uint8Array(size);
      for (const packed of [deflateRawSync(zeros, { level: 9 }), deflateRawSync(zeros, { level: 1 })])
        assert.ok(size <= maxInflatedSize(packed.length), `${size} bytes from ${packed.length}`);
    }
    assert.equal(maxInflatedSize(0), 0);
  });

  it('names bytes after a gzip member that start no further member as trailing garbage', () => {
    const junk = Buffer.concat([gzipSync(text('hello')), text('not gzip')]);
    fails(() => inflate('gzip', junk, Infinity, 'junk.gz'), 'junk.gz', 'trailing garbage');
  });
});
