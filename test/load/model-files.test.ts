import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryFiles, parseJsonObject, readTextFile, type ModelFiles } from '../../src/load/model-files.js';
import { MambaError } from '../../src/util/errors.js';

describe('model folder text and JSON files', () => {
  it('readTextFile keeps a byte order mark, so that the JSON reader can refuse it', async () => {
    const files = memoryFiles({ 'a.json': Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d) });
    assert.equal(await readTextFile(files, 'a.json'), '\ufeff{}');
    assert.equal(await readTextFile(files, 'missing.json'), null);
  });

  it('readTextFile refuses a file larger than one string can hold, without reading it', async () => {
    const huge: ModelFiles = {
      name: 'huge',
      open: async () => ({
        name: 'huge/config.json',
        size: 2 ** 29,
        read: () => Promise.reject(new Error('read')),
      }),
    };
    await assert.rejects(
      readTextFile(huge, 'config.json'),
      (e: unknown) =>
        e instanceof MambaError && /huge\/config\.json: 536,870,912 bytes is more text than one string/.test(e.message),
    );
  });

  it('parseJsonObject: an object, or one error naming the file and the fix', () => {
    assert.deepEqual(parseJsonObject('{"a": 1}', 'x.json', 'fix it'), { a: 1 });
    const refuses = (text: string, ...parts: string[]): void =>
      assert.throws(
        () => parseJsonObject(text, 'x.json', 'fix it'),
        (e: unknown) => e instanceof MambaError && parts.every((p) => e.message.includes(p)),
      );
    refuses('null', 'x.json does not hold a JSON object', 'fix it');
    refuses('[1]', 'does not hold a JSON object');
    refuses('{', 'x.json: not valid JSON');
    refuses('\ufeff{}', 'byte order mark');
    refuses(`{"a": ${'{"b": '.repeat(200_000)}1${'}'.repeat(200_000)}}`, 'x.json', 'maxJsonDepth');
  });
});
