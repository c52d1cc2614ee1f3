import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeImage } from '../../src/formats/images.js';
import { encodePng } from '../../src/formats/png-encode.js';
import { fromGray, resizeGray, toGray } from '../../src/formats/rgba.js';

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

  it('bilinear resize keeps constants and corners', () => {
    const flat = new Float32Array(9).fill(7);
    assert.deepEqual(Array.from(resizeGray(flat, 3, 3, 5, 4)), new Array(20).fill(7));
    const ramp = Float32Array.from({ length: 4 }, (_, i) => i);
    assert.deepEqual(Array.from(resizeGray(ramp, 4, 1, 2, 1)), [0.5, 2.5]);
  });
});
