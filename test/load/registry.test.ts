import { describe, it } from 'node:test';
import { rejectsWith } from '../helpers.js';
import { memoryFiles } from '../../src/load/model-files.js';
import { readModelConfig } from '../../src/load/registry.js';

const folder = (config: string) => memoryFiles({ 'config.json': new TextEncoder().encode(config) }, 'folder');

describe('readModelConfig: config.json through parseJson', () => {
  it('refuses 200,000 nested brackets in a config field with a LimitError, not a stack overflow', async () => {
    const deep = `{"model_type": "mamba", "hidden_size": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    await rejectsWith(readModelConfig(folder(deep)), 'folder/config.json', 'maxJsonDepth');
  });

  it('refuses a byte order mark and a config that is null', async () => {
    await rejectsWith(
      readModelConfig(folder('\ufeff{"model_type": "mamba"}')),
      'folder/config.json',
      'byte order mark',
    );
    await rejectsWith(readModelConfig(folder('null')), 'folder/config.json', 'does not hold a JSON object');
  });
});
