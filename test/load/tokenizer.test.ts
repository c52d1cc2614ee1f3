import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../helpers.js';
import { memoryFiles } from '../../src/load/model-files.js';
import { readTokenizer } from '../../src/load/tokenizer.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('readTokenizer: tokenizer.json and tokenizer_config.json through parseJson', () => {
  it('refuses 200,000 nested brackets in either file with a LimitError, not a stack overflow', async () => {
    const deep = `{"model": {"vocab": ${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    await rejectsWith(
      readTokenizer(memoryFiles({ 'tokenizer.json': encode(deep) }, 'folder')),
      'folder/tokenizer.json',
      'maxJsonDepth',
    );
    const files = memoryFiles({ 'tokenizer.json': encode('{}'), 'tokenizer_config.json': encode(deep) }, 'folder');
    await rejectsWith(readTokenizer(files), 'folder/tokenizer_config.json', 'maxJsonDepth');
  });

  it('refuses a tokenizer.json with a byte order mark, as Hugging Face tokenizers does', async () => {
    const files = memoryFiles({ 'tokenizer.json': encode('\ufeff{}') }, 'folder');
    await rejectsWith(readTokenizer(files), 'folder/tokenizer.json', 'byte order mark');
    assert.equal(await readTokenizer(memoryFiles({}, 'folder')), null);
  });
});
