import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { memoryFiles } from '../../src/load/model-files.js';
import { loadModelFiles } from '../../src/load/registry.js';
import { folderBytes, tinyModelFolders } from '../fuzz/model-folders.js';
import { rejectsWith } from '../helpers.js';

/**
 * Every config kind against the hostile configs of issue 14: each must be refused with one
 * MambaError naming config.json, the key and what it must be, before any network is built (so
 * within a fraction of a second, where building what they ask for would take minutes and GBs),
 * while the valid folders still load.
 */

type Json = Record<string, unknown>;
/** Turns a valid config into a hostile one. */
type Mutation = (config: Json) => unknown;

interface Case {
  name: string;
  mutate: Mutation;
  /** Parts of the error message. */
  says: string[];
}

const set =
  (path: string, value: unknown): Mutation =>
  (config) => {
    const copy = structuredClone(config);
    const keys = path.split('.');
    let at = copy;
    for (const key of keys.slice(0, -1)) at = at[key] as Json;
    if (value === undefined) delete at[keys.at(-1)!];
    else at[keys.at(-1)!] = value;
    return copy;
  };

const folders: Record<string, Record<string, Uint8Array>> = {};

before(async () => {
  const tiny = await tinyModelFolders();
  const mamba = folderBytes(fileURLToPath(new URL('../../../test/fixtures/mamba-tiny-hf', import.meta.url)));
  const hf = JSON.parse(new TextDecoder().decode(mamba['config.json'])) as Json;
  // The same weights described by state-spaces' original layout.
  const original = {
    d_model: hf['hidden_size'],
    n_layer: hf['num_hidden_layers'],
    vocab_size: hf['vocab_size'],
    ssm_cfg: { d_state: hf['state_size'], dt_rank: hf['time_step_rank'] },
    pad_vocab_size_multiple: 8,
  };
  Object.assign(folders, {
    'mamba (transformers layout)': mamba,
    'mamba (original layout)': { ...mamba, 'config.json': new TextEncoder().encode(JSON.stringify(original)) },
    'moe-mamba': tiny.moe_mamba,
    transformer: tiny.transformer,
    vim: tiny.vim,
    vit: tiny.vit,
    unet: tiny.unet,
    umamba: tiny.umamba,
  });
});

function withConfig(kind: string, mutate: Mutation) {
  const files = folders[kind]!;
  const config = JSON.parse(new TextDecoder().decode(files['config.json'])) as Json;
  const text = JSON.stringify(mutate(config));
  return memoryFiles({ ...files, 'config.json': new TextEncoder().encode(text) }, `folders/${kind}`);
}

const bad = (key: string, wanted: string, got: string) => ['config.json', `${key} must be ${wanted}, got ${got}`];
const tooMany = (what: string) => ['config.json does not match the weights', `the config asks for`, what];

const HOSTILE: Record<string, Case[]> = {
  'mamba (transformers layout)': [
    {
      name: 'hidden_size 2^53-1',
      mutate: set('hidden_size', 2 ** 53 - 1),
      says: bad('hidden_size', 'an integer in [1, 65536]', '9007199254740991'),
    },
    { name: 'expand 1e308', mutate: set('expand', 1e308), says: bad('expand', 'a number in (0, 64]', '1e+308') },
    {
      name: 'time_step_min > time_step_max',
      mutate: set('time_step_min', 0.5),
      says: ['time_step_min (0.5) must be <= time_step_max (0.1)'],
    },
    {
      name: 'layer_norm_epsilon -1',
      mutate: set('layer_norm_epsilon', -1),
      says: bad('layer_norm_epsilon', 'a number in (0, 1]', '-1'),
    },
    {
      name: 'layer_norm_epsilon "NaN"',
      mutate: set('layer_norm_epsilon', 'NaN'),
      says: bad('layer_norm_epsilon', 'a number in (0, 1]', '"NaN"'),
    },
    {
      name: '200k layers',
      mutate: set('num_hidden_layers', 200000),
      says: bad('num_hidden_layers', 'an integer in [1, 1024]', '200000'),
    },
    {
      name: 'vocab_size 1.5',
      mutate: set('vocab_size', 1.5),
      says: bad('vocab_size', 'an integer in [1, 16777216]', '1.5'),
    },
    {
      name: 'state_size "16"',
      mutate: set('state_size', '16'),
      says: bad('state_size', 'an integer in [1, 1024]', '"16"'),
    },
    {
      name: 'conv_kernel 1e6',
      mutate: set('conv_kernel', 1e6),
      says: bad('conv_kernel', 'an integer in [1, 64]', '1000000'),
    },
    {
      name: 'time_step_rank -1',
      mutate: set('time_step_rank', -1),
      says: bad('time_step_rank', 'an integer in [1, 65536]', '-1'),
    },
    {
      name: 'more layers than the weights hold',
      mutate: (c) => ({ ...c, num_hidden_layers: 3, n_layer: 3 }),
      says: ['backbone.layers.2.'],
    },
    { name: 'a config that is null', mutate: () => null, says: ['config.json', 'JSON object'] },
  ],
  'mamba (original layout)': [
    {
      name: 'd_model 2^53-1',
      mutate: set('d_model', 2 ** 53 - 1),
      says: bad('d_model', 'an integer in [1, 65536]', '9007199254740991'),
    },
    {
      name: 'ssm_cfg.expand 1e308',
      mutate: set('ssm_cfg.expand', 1e308),
      says: bad('ssm_cfg.expand', 'a number in (0, 64]', '1e+308'),
    },
    {
      name: 'dt_min > dt_max',
      mutate: set('ssm_cfg.dt_min', 0.2),
      says: ['ssm_cfg.dt_min (0.2) must be <= ssm_cfg.dt_max (0.1)'],
    },
    { name: '200k layers', mutate: set('n_layer', 200000), says: bad('n_layer', 'an integer in [1, 1024]', '200000') },
    { name: 'ssm_cfg not an object', mutate: set('ssm_cfg', 3), says: bad('ssm_cfg', 'an object', '3') },
  ],
  'moe-mamba': [
    {
      name: 'experts 1e7',
      mutate: set('moe.experts', 1e7),
      says: bad('moe.experts', 'an integer in [1, 4096]', '10000000'),
    },
    {
      name: '200k layers',
      mutate: set('pattern', Array(200000).fill('mamba')),
      says: ['config.json', 'pattern must be a list of [1, 1024] names (mamba, moe)'],
    },
    {
      name: 'no moe settings',
      mutate: set('moe', undefined),
      says: bad('moe', 'an object', 'nothing (the key is missing)'),
    },
    {
      name: 'mamba.expand 1e308',
      mutate: set('mamba.expand', 1e308),
      says: bad('mamba.expand', 'a number in (0, 64]', '1e+308'),
    },
    {
      name: 'mamba.dtMin > dtMax',
      mutate: set('mamba.dtMin', 0.5),
      says: ['mamba.dtMin (0.5) must be <= mamba.dtMax (0.1)'],
    },
    { name: 'top-k past the experts', mutate: set('moe.topK', 3), says: bad('moe.topK', 'an integer in [1, 2]', '3') },
    { name: 'an unknown layer kind', mutate: set('pattern', ['mamba', 'attention']), says: ['pattern must be a list'] },
    { name: 'more experts than the weights hold', mutate: set('moe.experts', 1000), says: tooMany('1000 experts') },
    {
      name: 'more layers than the weights hold',
      mutate: set('pattern', Array(1000).fill('mamba')),
      says: tooMany('1000 layers'),
    },
  ],
  transformer: [
    { name: 'nLayer 1e6', mutate: set('nLayer', 1e6), says: bad('nLayer', 'an integer in [1, 1024]', '1000000') },
    {
      name: 'dModel 2^53-1',
      mutate: set('dModel', 2 ** 53 - 1),
      says: bad('dModel', 'an integer in [1, 65536]', '9007199254740991'),
    },
    { name: 'dropout "NaN"', mutate: set('dropout', 'NaN'), says: bad('dropout', 'a number in [0, 1]', '"NaN"') },
    {
      name: 'nHead missing',
      mutate: set('nHead', undefined),
      says: bad('nHead', 'an integer in [1, 1024]', 'nothing (the key is missing)'),
    },
    { name: 'more layers than the weights hold', mutate: set('nLayer', 1000), says: tooMany('1000 layers') },
    {
      name: 'a wider model than the weights',
      mutate: set('dModel', 4096),
      says: ['embeddings.weight has shape [16, 8] but the config implies [16, 4096]'],
    },
  ],
  vim: [
    { name: 'depth 1e6', mutate: set('depth', 1e6), says: bad('depth', 'an integer in [1, 1024]', '1000000') },
    { name: 'normEps -1', mutate: set('normEps', -1), says: bad('normEps', 'a number in (0, 1]', '-1') },
    { name: 'normEps "NaN"', mutate: set('normEps', 'NaN'), says: bad('normEps', 'a number in (0, 1]', '"NaN"') },
    { name: 'expand 1e308', mutate: set('expand', 1e308), says: bad('expand', 'a number in (0, 64]', '1e+308') },
    { name: 'more layers than the weights hold', mutate: set('depth', 1000), says: tooMany('1000 layers') },
    {
      name: 'a wider model than the weights',
      mutate: set('dModel', 4096),
      says: ['patch_embed.proj.weight has shape'],
    },
    {
      name: 'class names of another length',
      mutate: set('classNames', ['a']),
      says: bad('classNames', 'a list of 2 strings', '["a"]'),
    },
    {
      name: 'a std of 0',
      mutate: set('normalisation.std', [0]),
      says: bad('normalisation.std', 'a list of 1 numbers in (0, 1000000]', '[0]'),
    },
  ],
  vit: [
    { name: 'depth 1e6', mutate: set('depth', 1e6), says: bad('depth', 'an integer in [1, 1024]', '1000000') },
    { name: 'normEps "NaN"', mutate: set('normEps', 'NaN'), says: bad('normEps', 'a number in (0, 1]', '"NaN"') },
    { name: 'nHead 0', mutate: set('nHead', 0), says: bad('nHead', 'an integer in [1, 1024]', '0') },
    { name: 'more blocks than the weights hold', mutate: set('depth', 1000), says: tooMany('1000 blocks') },
  ],
  unet: [
    {
      name: 'convsPerStage 1e6',
      mutate: set('network.convsPerStage', 1e6),
      says: bad('network.convsPerStage', 'an integer in [1, 64]', '1000000'),
    },
    {
      name: 'features not a list',
      mutate: set('network.features', 'x'),
      says: bad('network.features', 'a list of [2, 12] integers in [1, 4096]', '"x"'),
    },
    {
      name: 'preprocessing.scale 0',
      mutate: set('preprocessing.scale', 0),
      says: bad('preprocessing.scale', 'a number in (0, 16]', '0'),
    },
    {
      name: 'more convolutions than the weights hold',
      mutate: set('network.convsPerStage', 60),
      says: tooMany('60 convolutions per stage'),
    },
    {
      name: 'wider stages than the weights',
      mutate: set('network.features', [4, 16]),
      says: ['encoder.1.convs.0.conv.weight has shape'],
    },
  ],
  umamba: [
    {
      name: 'encoderBlocks 1e6',
      mutate: set('network.encoderBlocks', 1e6),
      says: bad('network.encoderBlocks', 'a list of 2 integers in [1, 64]', '1000000'),
    },
    {
      name: 'encoderBlocks [1e6, 1]',
      mutate: set('network.encoderBlocks', [1e6, 1]),
      says: bad('network.encoderBlocks', 'a list of 2 integers in [1, 64]', '[1000000,1]'),
    },
    {
      name: 'preprocessing.scale 0',
      mutate: set('preprocessing.scale', 0),
      says: bad('preprocessing.scale', 'a number in (0, 16]', '0'),
    },
    { name: 'no network', mutate: set('network', undefined), says: bad('network', 'an object', 'nothing') },
    {
      name: 'an unknown variant',
      mutate: set('network.variant', 'mid'),
      says: bad('network.variant', 'one of "bot", "enc"', '"mid"'),
    },
    {
      name: 'a Mamba stage past the last',
      mutate: set('network.mambaStages', [5]),
      says: bad('network.mambaStages', 'a list of [1, 2] integers in [0, 1]', '[5]'),
    },
    {
      name: 'test slices out of order',
      mutate: (c) => ({ ...c, data: { kind: 'mricron', task: 'brain', testSlices: [120, 95], gap: 5 } }),
      says: ['data.testSlices[0] (120) must be <= data.testSlices[1] (95)'],
    },
    {
      name: 'more blocks than the weights hold',
      mutate: set('network.encoderBlocks', [60, 1]),
      says: tooMany('60 blocks in encoder stage 0'),
    },
  ],
};

describe('config validation: hostile configs are refused before anything is built', () => {
  for (const [kind, cases] of Object.entries(HOSTILE)) {
    describe(kind, () => {
      it('the valid folder loads', async () => {
        const loaded = await loadModelFiles(withConfig(kind, (c) => c));
        assert.ok(loaded.model);
      });
      for (const { name, mutate, says } of cases) {
        it(`refuses ${name}`, async () => {
          const start = performance.now();
          await rejectsWith(loadModelFiles(withConfig(kind, mutate)), ...says);
          // Building what these configs ask for takes minutes; refusing them takes no time.
          assert.ok(performance.now() - start < 2000, `took ${performance.now() - start} ms`);
        });
      }
    });
  }
});
