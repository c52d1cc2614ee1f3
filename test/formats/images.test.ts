import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeImage } from '../../src/formats/images.js';
import { encodePng } from '../../src/formats/png-encode.js';
import { LimitError } from '../../src/formats/limits.js';
import { fromGray, resizeGray, toGray } from '../../src/formats/rgba.js';
import { MambaError } from '../../src/util/errors.js';
import { withReadLimits } from './read-limits.js';

/** An 8-bit JPEG of width x height pixels, written by jpeg-js, and where its frame header (SOF) starts. */
function jpegOf(width: number, height: number): { bytes: Uint8Array; sof: number } {
  const data = new Uint8Array(width * height * 4).map((_, i) => (i * 37) % 256);
  const bytes = new Uint8Array(jpeg.encode({ width, height, data }, 90).data);
  const sof = Buffer.from(bytes).indexOf(Buffer.from([0xff, 0xc0]));
  assert.ok(sof > 0);
  return { bytes, sof };
}

/** The JPEG with its frame header claiming another size (or frame type). */
function claiming(file: { bytes: Uint8Array; sof: number }, width: number, height: number, marker = 0xc0): Uint8Array {
  const bytes = file.bytes.slice();
  const view = new DataView(bytes.buffer);
  bytes[file.sof + 1] = marker;
  view.setUint16(file.sof + 5, height);
  view.setUint16(file.sof + 7, width);
  return bytes;
}

function refused(run: () => unknown, ...parts: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });
}

describe('images', () => {
  it('PNG round trip keeps every pixel', () => {
    const gray = Float32Array.from({ length: 12 }, (_, i) => i * 20);
    const png = encodePng(fromGray(gray, 4, 3));
    const back = decodeImage(png, 'test.png');
    assert.equal(back.width, 4);
    assert.equal(back.height, 3);
    assert.deepEqual(Array.from(toGray(back), Math.round), Array.from(gray));
  });

  it('decodes JPEG and refuses other bytes with the file name', () => {
    const data = new Uint8Array(8 * 8 * 4).fill(200);
    const jpg = jpeg.encode({ width: 8, height: 8, data }, 95).data;
    const img = decodeImage(new Uint8Array(jpg), 'x.jpg');
    assert.ok(Math.abs(toGray(img)[0]! - 200) < 3);
    assert.throws(
      () => decodeImage(new Uint8Array([1, 2, 3, 4]), 'notes.txt'),
      /notes\.txt is neither a PNG nor a JPEG/,
    );
    assert.throws(
      () => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0]), 'broken.png'),
      /broken\.png could not be decoded/,
    );
  });

  it('refuses a small JPEG whose header claims 10000x9999 pixels at once, from the size of the file', () => {
    const small = jpegOf(16, 16);
    assert.ok(small.bytes.length < 2048);
    const started = performance.now();
    refused(
      () => decodeImage(claiming(small, 10000, 9999), 'big.jpg'),
      'big.jpg could not be decoded as a JPEG image',
      '10000x9999 pixels',
      `its ${small.bytes.length} bytes can code at most ${8 * small.bytes.length}`,
      'truncated or its header damaged',
    );
    assert.ok(performance.now() - started < 500, 'refused from the header, without decoding');
    // A size the bytes can hold gets through to the decoder (which then finds the data short).
    refused(() => decodeImage(claiming(small, 64, 64), 'short.jpg'), 'short.jpg could not be decoded as a JPEG image');
  });

  it('checks the JPEG size against the maxImagePixels read limit, and refuses frames jpeg-js cannot decode', () => {
    const file = jpegOf(16, 8);
    assert.equal(decodeImage(file.bytes, 'ok.jpg').width, 16);
    withReadLimits({ maxImagePixels: 100 }, () =>
      assert.throws(
        () => decodeImage(file.bytes, 'ok.jpg'),
        (e) => e instanceof LimitError && e.limit === 'maxImagePixels' && /ok\.jpg.*16x8 pixels/.test(e.message),
      ),
    );
    refused(() => decodeImage(claiming(file, 16, 8, 0xc3), 'lossless.jpg'), 'lossless.jpg', 'SOF3', 'Huffman-coded');
    refused(() => decodeImage(claiming(file, 0, 8), 'empty.jpg'), 'empty.jpg', '0x8 pixels', 'no image');
    refused(() => decodeImage(file.bytes.subarray(0, file.sof + 9), 'cut.jpg'), 'cut.jpg', 'cut short');
  });

  it('bilinear resize keeps constants and corners', () => {
    const flat = new Float32Array(9).fill(7);
    assert.deepEqual(Array.from(resizeGray(flat, 3, 3, 5, 4)), new Array(20).fill(7));
    const ramp = Float32Array.from({ length: 4 }, (_, i) => i);
    assert.deepEqual(Array.from(resizeGray(ramp, 4, 1, 2, 1)), [0.5, 2.5]);
  });
});
