import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as mt from '../../../src/index.js';
import { generate } from '../../../src/generate/generate.js';
import { loadMambaLM, openCheckpoint, saveMambaLM } from '../../../src/io/index.js';
import { fastBackends } from '../../backends/fast-backends.js';
import { assertClose } from '../../helpers.js';

const fixture = (p: string) => fileURLToPath(new URL(`../../../../test/fixtures/${p}`, import.meta.url));
const golden = JSON.parse(readFileSync(fixture('mamba-tiny-hf/expected.json'), 'utf8')) as {
  prompt_ids: number[];
  greedy_tokens: number[];
  prompt_logits: number[][];
  nll_ids: number[];
  nll: number;
};

function ids(values: number[]): mt.Tensor {
  return mt.fromArray(new Int32Array(values), [1, values.length], { dtype: 'int32' });
}

describe('Mamba checkpoints', () => {
  for (const { label, backend } of [...fastBackends, { label: 'reference', backend: mt.getBackend('reference') }]) {
    it(`the golden transformers-layout checkpoint reproduces the reference logits, greedy tokens and NLL (${label})`, async () => {
      mt.setBackend(backend);
      try {
        const { model, layout } = await loadMambaLM(fixture('mamba-tiny-hf'));
        assert.equal(layout, 'transformers');
        const logits = mt.noGrad(() => model.forward(ids(golden.prompt_ids)));
        assertClose(logits.toArray(), golden.prompt_logits.flat(), 1e-4, 'prompt logits');
        const { tokens } = generate(model, [golden.prompt_ids], { maxNewTokens: golden.greedy_tokens.length });
        assert.deepEqual(tokens[0], golden.greedy_tokens);
        const nll = mt.noGrad(() =>
          mt
            .crossEntropy(mt.slice(model.forward(ids(golden.nll_ids)), 1, 0, -1), mt.slice(ids(golden.nll_ids), 1, 1))
            .item(),
        );
        assert.ok(Math.abs(nll - golden.nll) < 1e-4, `nll ${nll} vs ${golden.nll}`);
        model.dispose();
      } finally {
        mt.setBackend('wasm');
      }
    });
  }

  it('original-layout pytorch_model.bin files load (float32 and float16) and agree with their stored values', async () => {
    for (const dir of ['io/mamba-orig-f32', 'io/mamba-orig-f16']) {
      const { model, layout } = await loadMambaLM(fixture(dir));
      assert.equal(layout, 'original');
      const reference = await openCheckpoint(fixture(`${dir}/expected.safetensors`));
      for (const [name, entry] of reference.tensors) {
        const ours = name === 'backbone.embedding.weight' ? 'backbone.embeddings.weight' : name;
        const t = model.stateDict().get(ours);
        assert.ok(t, `${dir}: ${ours} in the model`);
        assertClose(t!.toArray(), await entry.read(), 0, `${dir}: ${name}`);
      }
      model.dispose();
    }
  });

  it('load -> save (transformers layout) -> load is the identity, in F32 and sharded', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'mamba-ts-ckpt-'));
    try {
      const { model } = await loadMambaLM(fixture('io/mamba-orig-f32'));
      await saveMambaLM(model, join(folder, 'single'));
      await saveMambaLM(model, join(folder, 'sharded'), { maxShardBytes: 4000 });
      for (const sub of ['single', 'sharded']) {
        const again = await loadMambaLM(join(folder, sub));
        assert.equal(again.layout, 'transformers');
        for (const [name, t] of model.stateDict())
          assert.deepEqual(again.model.stateDict().get(name)!.toArray(), t.toArray(), `${sub}: ${name}`);
        again.model.dispose();
      }
      const config = JSON.parse(readFileSync(join(folder, 'single', 'config.json'), 'utf8'));
      assert.equal(config.model_type, 'mamba');
      assert.deepEqual(config.architectures, ['MambaForCausalLM']);
      model.dispose();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('a folder whose config and weights disagree names the problem', async () => {
    await assert.rejects(loadMambaLM(fixture('io')), /config\.json|no weights|not found/i);
  });
});
