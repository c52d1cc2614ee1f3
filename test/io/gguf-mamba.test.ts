import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { rejectsWith } from '../helpers.js';
import { llamaCppModule, runLlamaCpp } from '../../bench/peers/llama-cpp.js';
import { bytesSource, MemorySink } from '../../src/formats/byte-source.js';
import { openGguf, type GgufFile } from '../../src/formats/gguf.js';
import { saveMambaGguf, writeMambaGguf, type GgufMambaOptions } from '../../src/io/gguf-mamba.js';
import { generate, Generator, mambaConfig, MambaLM, type MambaConfigOptions } from '../../src/index.js';

const tokenizer: unknown = JSON.parse(
  gunzipSync(readFileSync(new URL('../../../test/fixtures/gpt-neox-20b/tokenizer.json.gz', import.meta.url))).toString(
    'utf8',
  ),
);

const tiny = (options: Partial<MambaConfigOptions> = {}): MambaLM =>
  new MambaLM(mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 50, ...options }), { generator: new Generator(7) });

async function asGguf(model: MambaLM, options?: GgufMambaOptions): Promise<GgufFile> {
  const sink = new MemorySink('model.gguf');
  await writeMambaGguf(sink, model, options);
  return openGguf(bytesSource(sink.bytes(), 'model.gguf'));
}

describe('MambaLM as a llama.cpp mamba GGUF', () => {
  it("names and shapes every tensor as llama.cpp's mamba loader creates it", async () => {
    const model = tiny();
    const file = await asGguf(model);
    const { dModel: d, dInner: di, dState: ds, dConv: dc, dtRank: r, vocabSize: v } = model.config;
    // src/models/mamba.cpp's create_tensor calls, dimensions innermost first.
    const expected: [string, number[]][] = [['token_embd.weight', [d, v]]];
    for (const i of [0, 1])
      expected.push(
        [`blk.${i}.attn_norm.weight`, [d]],
        [`blk.${i}.ssm_in.weight`, [d, 2 * di]],
        [`blk.${i}.ssm_conv1d.weight`, [dc, di]],
        [`blk.${i}.ssm_conv1d.bias`, [di]],
        [`blk.${i}.ssm_x.weight`, [di, r + 2 * ds]],
        [`blk.${i}.ssm_dt.weight`, [r, di]],
        [`blk.${i}.ssm_dt.bias`, [di]],
        [`blk.${i}.ssm_a`, [ds, di]],
        [`blk.${i}.ssm_d`, [di]],
        [`blk.${i}.ssm_out.weight`, [di, d]],
      );
    expected.push(['output_norm.weight', [d]]);
    assert.deepEqual(
      [...file.tensors.values()].map((t) => [t.name, t.dims]),
      expected,
      'a tied head writes no output.weight',
    );
    for (const t of file.tensors.values()) assert.equal(t.type.name, 'F32');

    const mixer = model.backbone.layers.at(1).mixer;
    const aLog = mixer.ALog.toArray();
    const a = await file.tensors.get('blk.1.ssm_a')!.read();
    assert.deepEqual(
      a,
      Float32Array.from(aLog, (x) => -Math.exp(x)),
      'A is stored as -exp(A_log)',
    );
    assert.deepEqual(await file.tensors.get('blk.1.ssm_conv1d.weight')!.read(), mixer.conv1dWeight.toArray());
    assert.deepEqual(await file.tensors.get('token_embd.weight')!.read(), model.backbone.embeddings.weight.toArray());
  });

  it('writes the metadata the mamba loader reads, and a vocabulary size when there is no vocabulary', async () => {
    const model = tiny();
    const file = await asGguf(model, { name: 'tiny' });
    const value = (key: string) => file.metadata.get(key)?.value;
    assert.equal(value('general.architecture'), 'mamba');
    assert.equal(value('general.name'), 'tiny');
    assert.equal(value('mamba.embedding_length'), 16);
    assert.equal(value('mamba.block_count'), 2);
    assert.equal(value('mamba.ssm.inner_size'), 32);
    assert.equal(value('mamba.ssm.state_size'), 16);
    assert.equal(value('mamba.ssm.conv_kernel'), 4);
    assert.equal(value('mamba.ssm.time_step_rank'), 1);
    assert.equal(value('mamba.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
    assert.equal(value('mamba.ssm.dt_b_c_rms'), false);
    assert.equal(value('tokenizer.ggml.model'), 'no_vocab');
    assert.equal(value('mamba.vocab_size'), 56);
  });

  it('writes an untied head as output.weight', async () => {
    const file = await asGguf(tiny({ tieEmbeddings: false }));
    assert.deepEqual(file.tensors.get('output.weight')?.dims, [16, 56]);
  });

  it("writes GPT-NeoX's vocabulary as llama.cpp's converter does, padded to the embedding rows", async () => {
    const file = await asGguf(tiny({ vocabSize: 50277, eosTokenId: 0 }), { tokenizer });
    const value = (key: string) => file.metadata.get(key)?.value as unknown;
    const tokens = value('tokenizer.ggml.tokens') as string[];
    const types = value('tokenizer.ggml.token_type') as number[];
    assert.equal(value('tokenizer.ggml.model'), 'gpt2');
    assert.equal(value('tokenizer.ggml.pre'), 'mpt');
    assert.equal(tokens.length, 50280);
    assert.deepEqual([tokens[0], types[0]], ['<|endoftext|>', 3], 'a special added token is a control token');
    assert.deepEqual([tokens[510], types[510]], ['The', 1]);
    assert.deepEqual([tokens[50277], types[50277]], ['[PAD50277]', 5], 'rows past the vocabulary are unused');
    const merges = value('tokenizer.ggml.merges') as string[];
    // As in llama.cpp's own models/ggml-vocab-gpt-neox.gguf.
    assert.deepEqual([merges.length, ...merges.slice(0, 3)], [50009, 'Ġ Ġ', 'Ġ t', 'Ġ a']);
    assert.equal(value('tokenizer.ggml.eos_token_id'), 0);
  });

  it('refuses what llama.cpp cannot compute or a tokenizer that does not fit', async () => {
    await rejectsWith(asGguf(tiny({ bias: true })), 'no in_proj/out_proj bias');
    await rejectsWith(asGguf(tiny({ convBias: false })), 'conv1d without bias');
    await rejectsWith(asGguf(tiny({ expand: 3 })), 'expansion other than 2');
    await rejectsWith(asGguf(tiny(), { tokenizer }), 'past the 56 embedding rows');
    await rejectsWith(asGguf(tiny(), { tokenizer: { model: { type: 'Unigram', vocab: [] } } }), 'BPE tokenizers only');
    await rejectsWith(asGguf(tiny(), { tokenizer: 'tokenizer.json' }), 'a parsed tokenizer.json');
  });

  it(
    'llama.cpp loads the file and its greedy tokens are those of mamba-ts',
    { skip: llamaCppModule() ? false : 'node-llama-cpp is not installed (npm run peers:llama installs it)' },
    async () => {
      const model = tiny({ dModel: 64, vocabSize: 50277 });
      const folder = await mkdtemp(join(tmpdir(), 'gguf-mamba-'));
      try {
        const path = join(folder, 'tiny.gguf');
        await saveMambaGguf(path, model, { tokenizer });
        const prompt = [510, 3158, 8516, 30013, 27287, 689, 253, 22658];
        const ours = generate(model, [prompt], { maxNewTokens: 8 }).tokens[0];
        const theirs = runLlamaCpp({ model: path, threads: 1, prompt, newTokens: 8, runs: 1 });
        assert.ok(typeof theirs !== 'string', String(theirs));
        assert.deepEqual(theirs.runs[0]!.tokens, ours);
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    },
  );
});
