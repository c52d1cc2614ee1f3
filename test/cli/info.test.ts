import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveTinyModels, type TinyModels } from './tiny-models.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const tiny = fileURLToPath(new URL('../../../test/fixtures/mamba-tiny-hf', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-info-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let models: TinyModels;
before(async () => {
  models = await saveTinyModels(scratch);
});

const infoJson = (folder: string) => {
  const r = cli('info', '--model', folder, '--json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

describe('mamba-ts info', () => {
  it('describes a Mamba checkpoint as before: layout, config, parameters, state per sequence', () => {
    const out = infoJson(tiny);
    assert.equal(out.model_type, 'mamba');
    assert.equal(out.task, 'language-model');
    assert.equal(out.layout, 'transformers');
    assert.equal(out.parameters, 23008);
    assert.equal(out.float32_bytes, 4 * 23008);
    assert.equal(out.config.nLayer, 2);
    assert.deepEqual(out.stored_dtypes, { F32: 23008 });
    // Per layer: the conv window (3 x d_inner 64) and the SSM state (64 x d_state 16), float32.
    assert.deepEqual(out.state_float32_bytes, { bytes: 2 * (3 * 64 + 64 * 16) * 4, per: 'sequence' });
    const text = cli('info', '--model', tiny).stdout;
    assert.match(text, /^type {7}mamba: a Mamba language model; use it with mamba-ts generate/m);
    assert.match(text, /^parameters 23,008 \(head tied to the embedding\)$/m);
    assert.match(text, /^memory {5}92\.0 kB as float32, plus 9\.7 kB of state per sequence$/m);
  });

  it('describes a MoE-Mamba and a Transformer: their sizes, parameters and state', () => {
    const moe = infoJson(models.moe);
    assert.equal(moe.model_type, 'moe-mamba');
    assert.equal(moe.task, 'language-model');
    assert.equal(moe.parameters, models.parameters.moe);
    assert.match(moe.sizes, /2 layers \(1 Mamba, 1 MoE\).* 2 experts of width 8 \(top-1/);
    assert.deepEqual(moe.config.pattern, ['mamba', 'moe']);
    // One Mamba layer: d_inner 32, d_conv 4, d_state 4.
    assert.deepEqual(moe.state_float32_bytes, { bytes: (3 * 32 + 32 * 4) * 4, per: 'sequence' });

    const transformer = infoJson(models.transformer);
    assert.equal(transformer.model_type, 'transformer');
    assert.equal(transformer.parameters, models.parameters.transformer);
    assert.equal(transformer.config.maxLength, 24);
    // A key and a value of d_model 16 per layer and token.
    assert.deepEqual(transformer.state_float32_bytes, { bytes: 2 * 2 * 16 * 4, per: 'token' });
    assert.match(cli('info', '--model', models.transformer).stdout, /of cached keys and values per token$/m);
  });

  it('describes an image classifier and a segmentation network, with the commands that take them', () => {
    const vim = infoJson(models.vim);
    assert.equal(vim.model_type, 'vim');
    assert.equal(vim.task, 'image-classifier');
    assert.deepEqual(vim.commands, ['classify', 'eval --dataset']);
    assert.equal(vim.parameters, models.parameters.vim);
    assert.deepEqual(vim.config.classNames, ['dark', 'light']);
    assert.equal(vim.state_float32_bytes, null);
    assert.match(
      vim.sizes,
      /^1x8x8 images, 4-pixel patches at stride 4 \(2x2\), d_model 8, depth 1, .*2 classes \(dark, light\)$/,
    );

    const umamba = infoJson(models.umamba);
    assert.equal(umamba.model_type, 'umamba');
    assert.equal(umamba.task, 'segmentation');
    assert.equal(umamba.parameters, models.parameters.umamba);
    assert.match(umamba.sizes, /^U-Mamba_Bot, Mamba layers \(d_state 4\) after stage 1, 2 stages of 4, 8 channels/);
    const text = cli('info', '--model', models.umamba).stdout;
    assert.match(text, /^type {7}umamba: a segmentation network; use it with mamba-ts segment, eval$/m);
    assert.doesNotMatch(text, /per sequence|per token/);
  });
});
