import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, formatRate, printable } from '../../src/util/format.js';

describe('formatting for people', () => {
  it('printable escapes control characters and keeps newlines, tabs and other text', () => {
    assert.equal(
      printable('ring\x07 back\x08 nul\x00 esc\x1b[2J del\x7f'),
      'ring\\x07 back\\x08 nul\\x00 esc\\x1b[2J del\\x7f',
    );
    assert.equal(printable('line one\n\tline two\r\n'), 'line one\n\tline two\\x0d\n');
    // C1 controls (U+0080..U+009F: CSI is U+009B) are escapes to some terminals too.
    assert.equal(printable('a\u009b31mb\u0085'), 'a\\x9b31mb\\x85');
    assert.equal(printable('naïve café – 東京 \ufffd 🙂 \\x07'), 'naïve café – 東京 \ufffd 🙂 \\x07');
  });

  it('durations, rates and sizes', () => {
    assert.deepEqual([0, 42.4, 185, 7620, NaN, Infinity].map(formatDuration), [
      '0s',
      '42s',
      '3m05s',
      '2h07m',
      '?',
      '?',
    ]);
    assert.deepEqual([812, 12345, 4.567e6, NaN].map(formatRate), ['812', '12.3k', '4.57M', '?']);
    assert.deepEqual([812, 300000, 1.2e9].map(formatBytes), ['812 B', '300.0 kB', '1.2 GB']);
  });
});
