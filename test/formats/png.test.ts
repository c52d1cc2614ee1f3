import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from '../../src/formats/crc32.js';
import { decodeImage } from '../../src/formats/images.js';
import { decodePng } from '../../src/formats/png-decode.js';
import { encodePng } from '../../src/formats/png-encode.js';
import { DEFAULT_LIMITS, LimitError } from '../../src/formats/limits.js';
import { fromGray, type RgbaImage } from '../../src/formats/rgba.js';
import { MambaError } from '../../src/util/errors.js';
import { withReadLimits } from './read-limits.js';

const fixtures = new URL('../../../test/fixtures/png/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, fixtures)));

/** What scripts/fixtures/png_images.py made each file from: its header, and its pixels as 8-bit RGBA. */
interface Expected {
  width: number;
  height: number;
  colourType: number;
  depth: number;
  interlaced: boolean;
  rgba: string;
}
const expected = JSON.parse(readFileSync(new URL('expected.json', fixtures), 'utf8')) as Record<string, Expected>;
const pixelsOf = (e: Expected): Uint8Array => new Uint8Array(Buffer.from(e.rgba, 'base64'));

/** The colour types and the bit depths PNG allows each of them. */
const ALLOWED: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

describe('PNG decoding of files other encoders wrote', () => {
  it('decodes each file to the pixels it was made from', () => {
    for (const [name, want] of Object.entries(expected)) {
      const image = decodePng(fixture(name), name);
      assert.deepEqual([image.width, image.height], [want.width, want.height], name);
      assert.deepEqual(image.data, pixelsOf(want), name);
    }
  });

  it('the files cover every colour type at every bit depth, tRNS, and Adam7 at low and high depths', () => {
    const seen = new Set(Object.values(expected).map((e) => `${e.colourType}/${e.depth}`));
    for (const [type, depths] of Object.entries(ALLOWED))
      for (const depth of depths) assert.ok(seen.has(`${type}/${depth}`), `colour type ${type} at depth ${depth}`);
    const interlaced = Object.values(expected).filter((e) => e.interlaced);
    assert.deepEqual(new Set(interlaced.map((e) => e.depth)), new Set([1, 8, 16]));
    for (const name of ['gray8-trns.png', 'rgb8-trns.png', 'palette8.png'])
      assert.ok(Buffer.from(fixture(name)).includes(Buffer.from('tRNS')), name);
    assert.deepEqual(
      Object.keys(expected)
        .filter((name) => name.startsWith('filters-'))
        .map((name) => filterTypes(fixture(name))),
      [
        [0, 1, 2, 3, 4, 0, 1],
        [0, 1, 2, 3, 4, 0, 1],
        [0, 1, 2, 3, 4, 0, 1],
      ],
      'the hand-written files use every row filter',
    );
  });

  it('round-trips every decoded file through our encoder without a change', () => {
    for (const name of Object.keys(expected)) {
      const image = decodePng(fixture(name), name);
      assert.deepEqual(decodePng(encodePng(image), `${name} again`), image, name);
    }
  });

  it('decodeImage tells a PNG by its signature, whatever its name', () => {
    assert.deepEqual(decodeImage(fixture('rgba8.png'), 'picture.jpg').data, pixelsOf(expected['rgba8.png']!));
  });
});

/** The filter type of each row of a non-interlaced file. */
function filterTypes(png: Uint8Array): number[] {
  const { width, channels, depth, idat } = parse(png);
  const raw = inflateSync(idat);
  const stride = 1 + Math.ceil((width * channels * depth) / 8);
  return Array.from({ length: raw.length / stride }, (_, y) => raw[y * stride]!);
}

/** Just enough of a PNG's structure for the tests to look inside one. */
function parse(png: Uint8Array): { width: number; channels: number; depth: number; idat: Buffer } {
  const buffer = Buffer.from(png);
  const idat: Buffer[] = [];
  let ihdr = Buffer.alloc(0);
  for (let at = 8; at < buffer.length;) {
    const length = buffer.readUInt32BE(at);
    const type = buffer.toString('latin1', at + 4, at + 8);
    const data = buffer.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  return {
    width: ihdr.readUInt32BE(0),
    depth: ihdr[8]!,
    channels: { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[ihdr[9]!]!,
    idat: Buffer.concat(idat),
  };
}

describe('PNG encoding', () => {
  const colourType = (png: Uint8Array): number => png[25]!;

  it('writes opaque gray as 8-bit gray, anything else as 8-bit RGBA, and reads both back exactly', () => {
    const gray = fromGray(
      Float32Array.from({ length: 35 }, (_, i) => (i * 37) % 256),
      7,
      5,
    );
    const grayPng = encodePng(gray);
    assert.deepEqual([colourType(grayPng), grayPng[24]], [0, 8]);
    assert.deepEqual(decodePng(grayPng, 'gray'), gray);
    const colour: RgbaImage = {
      width: 5,
      height: 3,
      data: Uint8Array.from({ length: 60 }, (_, i) => (i * 101 + 7) % 256),
    };
    const colourPng = encodePng(colour);
    assert.deepEqual([colourType(colourPng), colourPng[24]], [6, 8]);
    assert.deepEqual(decodePng(colourPng, 'colour'), colour);
    const translucentGray: RgbaImage = { width: 1, height: 1, data: Uint8Array.of(9, 9, 9, 128) };
    assert.equal(colourType(encodePng(translucentGray)), 6);
  });

  it('filters rows where it pays, so smooth images compress well', () => {
    const ramp: RgbaImage = {
      width: 64,
      height: 64,
      data: Uint8Array.from({ length: 64 * 64 * 4 }, (_, i) => ((i >> 2) % 64) * 3 + (i % 4) * 40 + (i >> 8)),
    };
    const png = encodePng(ramp);
    assert.ok(
      filterTypes(png).some((f) => f !== 0),
      'some row is filtered',
    );
    assert.deepEqual(decodePng(png, 'ramp'), ramp);
  });

  it('refuses data that is not width x height RGBA pixels', () => {
    assert.throws(
      () => encodePng({ width: 2, height: 2, data: new Uint8Array(15) }),
      (e) => isMambaError(e, '2x2', '16 bytes', 'not 15'),
    );
    assert.throws(
      () => encodePng({ width: 0, height: 2, data: new Uint8Array(0) }),
      (e) => isMambaError(e, '0x2'),
    );
  });
});

function isMambaError(error: unknown, ...parts: string[]): boolean {
  assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
  for (const part of parts)
    assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
  return true;
}

// --- Hand-built files: the chunk layout written here, so that each can be broken in one way. ---

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

function ihdr(width: number, height: number, depth: number, type: number, interlace = 0): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([depth, type, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IEND = chunk('IEND', new Uint8Array(0));
/** A PNG of the given chunks; rows are raw scanlines, each led by its filter-type byte. */
const png = (...chunks: Buffer[]): Uint8Array => new Uint8Array(Buffer.concat([SIGNATURE, ...chunks]));
const idat = (rows: number[]): Buffer => chunk('IDAT', deflateSync(Uint8Array.from(rows)));
/** A valid 2x2 8-bit gray image's chunks, to break one at a time. */
const gray2x2 = [ihdr(2, 2, 8, 0), idat([0, 10, 20, 0, 30, 40])];

describe('PNG: damaged and hostile files give one clear MambaError', () => {
  const refuses = (bytes: Uint8Array, ...parts: string[]): void => {
    for (const decode of [decodePng, decodeImage])
      assert.throws(
        () => decode(bytes, 'x.png'),
        (e) => isMambaError(e, 'x.png could not be decoded as a PNG image', ...parts),
      );
  };

  it('the valid base case decodes', () => {
    assert.deepEqual(
      [...decodePng(png(...gray2x2, IEND), 'ok').data],
      [10, 10, 10, 255, 20, 20, 20, 255, 30, 30, 30, 255, 40, 40, 40, 255],
    );
  });

  it('a bad CRC, anywhere', () => {
    const file = fixture('gray8.png');
    const at = Buffer.from(file).indexOf(Buffer.from('IDAT')) + 10;
    file[at] ^= 0x01;
    refuses(file, '"IDAT" chunk', 'fails its CRC check', 'damaged');
    const ancillary = png(...gray2x2, chunk('tEXt', Buffer.from('a\0b')), IEND);
    ancillary[ancillary.length - 13] ^= 0xff;
    refuses(ancillary, '"tEXt" chunk', 'CRC');
  });

  it('a file cut short: inside IDAT, before IEND, or inside the compressed stream', () => {
    const file = fixture('rgb16.png');
    const inIdat = Buffer.from(file).indexOf(Buffer.from('IDAT')) + 40;
    refuses(file.subarray(0, inIdat), '"IDAT" chunk', 'run past the end of the file', 'truncated');
    refuses(png(...gray2x2), 'no IEND chunk', 'truncated');
    const stream = deflateSync(Uint8Array.from([0, 10, 20, 0, 30, 40]));
    refuses(png(gray2x2[0]!, chunk('IDAT', stream.subarray(0, 4)), IEND), 'IDAT data', 'truncated or damaged');
    refuses(png(gray2x2[0]!, idat([0, 10, 20]), IEND), 'inflates to 3 bytes', 'needs 6', 'truncated');
  });

  it('more pixel data than the header describes, up to a zlib bomb', () => {
    refuses(
      png(gray2x2[0]!, idat([0, 10, 20, 0, 30, 40, 0, 50, 60]), IEND),
      'inflates to more than the 6 bytes',
      '2x2 gray image of bit depth 8',
    );
    const bomb = chunk('IDAT', deflateSync(new Uint8Array(64 << 20)));
    refuses(png(ihdr(1, 1, 8, 0), bomb, IEND), 'inflates to more than the 2 bytes');
  });

  it('a size past the limit is refused from the header alone, and a zero size', () => {
    refuses(
      png(ihdr(100_000, 100_000, 8, 6), IEND),
      '100000x100000',
      `over the maxImagePixels limit of ${DEFAULT_LIMITS.maxImagePixels.toLocaleString('en-US')}`,
      'MAMBA_TS_LIMITS=maxImagePixels=N',
    );
    refuses(png(ihdr(0, 5, 8, 0), IEND), '0x5', 'not one PNG allows');
  });

  it('a small file of a huge image (20000x20000, 1-bit) is refused as over the pixel limit, before inflating', () => {
    // 50 MB of zero rows compress to a few tens of KB; the IDAT's end is damaged, so reaching it would be another error.
    const rows = deflateSync(new Uint8Array(20000 * (1 + 2500)), { level: 9 });
    rows.fill(0xff, rows.length - 100);
    const file = png(ihdr(20000, 20000, 1, 0), chunk('IDAT', rows), IEND);
    assert.ok(file.length < 400_000);
    assert.throws(
      () => decodePng(file, 'x.png'),
      (e) => e instanceof LimitError && e.limit === 'maxImagePixels' && isMambaError(e, '20000x20000', '400,000,000'),
    );
  });

  it('the pixel limit is the read limit: lowered, it refuses what the default lets through', () => {
    const file = png(...gray2x2, IEND);
    withReadLimits({ maxImagePixels: 3 }, () => refuses(file, '2x2 pixels', 'maxImagePixels limit of 3'));
    assert.equal(decodePng(file, 'x.png').width, 2);
  });

  it('a header far larger than its pixel data (width 2^24 over 9x7 pixels) is refused before inflating', () => {
    const rows = Array.from({ length: 7 }, () => [0, ...new Array(9).fill(50)]).flat();
    refuses(
      png(ihdr(2 ** 24, 7, 8, 0), idat(rows), IEND),
      `a 16777216x7 gray image of bit depth 8 needs ${7 * (1 + 2 ** 24)} bytes of pixel data`,
      'can inflate to at most',
      'truncated or its header damaged',
    );
  });

  it('a palette index past the palette, and a palette image with no palette', () => {
    const palette = chunk('PLTE', Uint8Array.of(255, 0, 0, 0, 0, 255));
    refuses(
      png(ihdr(2, 1, 8, 3), palette, idat([0, 1, 5]), IEND),
      'pixel (1, 0) is palette entry 5',
      'palette has 2 entries',
    );
    refuses(png(ihdr(2, 1, 8, 3), idat([0, 1, 0]), IEND), 'no PLTE chunk');
    refuses(
      png(ihdr(2, 1, 8, 3), chunk('PLTE', Uint8Array.of(1, 2)), idat([0, 0, 0]), IEND),
      'PLTE chunk holds 2 bytes',
    );
    refuses(
      png(ihdr(2, 1, 8, 3), palette, chunk('tRNS', Uint8Array.of(1, 2, 3)), idat([0, 0, 0]), IEND),
      '3 alphas for a palette of 2',
    );
  });

  it('headers and chunks PNG does not allow', () => {
    refuses(png(ihdr(2, 2, 4, 2), IEND), 'bit depth 4 is not allowed for RGB images');
    refuses(png(ihdr(2, 2, 8, 5), IEND), 'colour type 5');
    refuses(png(ihdr(2, 2, 8, 0, 2), IEND), 'interlace method 2');
    refuses(png(gray2x2[1]!, gray2x2[0]!, IEND), 'first chunk is "IDAT"');
    refuses(png(gray2x2[0]!, gray2x2[0]!, gray2x2[1]!, IEND), 'two IHDR');
    refuses(png(gray2x2[0]!, IEND), 'no IDAT');
    refuses(png(...gray2x2, chunk('ABCD', new Uint8Array(0)), IEND), 'critical "ABCD" chunk');
    refuses(png(gray2x2[0]!, idat([0, 10, 20, 7, 30, 40]), IEND), 'filter type 7');
    refuses(png(gray2x2[0]!, chunk('tRNS', Uint8Array.of(1)), gray2x2[1]!, IEND), 'tRNS chunk holds 1 bytes');
    refuses(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0), 'PNG signature');
  });

  it('an unknown ancillary chunk is skipped', () => {
    assert.equal(decodePng(png(gray2x2[0]!, chunk('zzZz', Uint8Array.of(1, 2, 3)), gray2x2[1]!, IEND), 'ok').width, 2);
  });
});
