import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const tiny = fileURLToPath(new URL('../../../test/fixtures/mamba-tiny-hf', import.meta.url));
const golden = JSON.parse(readFileSync(join(tiny, 'expected.json'), 'utf8'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });

describe('model commands', () => {
  it('generate --prompt-ids --json follows the contract and the reference greedy tokens', () => {
    const r = cli(
      'generate',
      '--model',
      tiny,
      '--prompt-ids',
      golden.prompt_ids.join(','),
      '--max-new-tokens',
      '16',
      '--json',
      '--threads',
      '1',
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out).sort(), [
      'decode_tokens_per_s',
      'prefill_tokens_per_s',
      'prompt_ids',
      'text',
      'tokens',
    ]);
    assert.deepEqual(out.prompt_ids, golden.prompt_ids);
    assert.deepEqual(out.tokens, golden.greedy_tokens);
    assert.equal(out.text, null);
    assert.ok(out.prefill_tokens_per_s > 0 && out.decode_tokens_per_s > 0);
  });

  it('generate samples reproducibly for a seed, and a batch of prompts gives one line each', () => {
    const args = [
      'generate',
      '--model',
      tiny,
      '--prompt-ids',
      '1,2,3',
      '--temperature',
      '0.8',
      '--top-k',
      '20',
      '--top-p',
      '0.9',
      '--seed',
      '7',
      '--max-new-tokens',
      '8',
      '--json',
    ];
    const a = cli(...args);
    const b = cli(...args);
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual(JSON.parse(a.stdout).tokens, JSON.parse(b.stdout).tokens);
    const batch = cli(
      'generate',
      '--model',
      tiny,
      '--prompt-ids',
      '1,2,3',
      '--prompt-ids',
      '4,5',
      '--max-new-tokens',
      '3',
      '--json',
    );
    assert.equal(batch.stdout.trim().split('\n').length, 2);
  });

  it('eval reports the reference NLL from an ids file', () => {
    const folder = mkdtempSync(join(tmpdir(), 'mamba-ts-eval-'));
    try {
      const ids = join(folder, 'ids.txt');
      writeFileSync(ids, golden.nll_ids.join(', ') + '\n');
      const r = cli('eval', '--model', tiny, '--ids-file', ids, '--json', '--chunk', '5');
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.ok(Math.abs(out.mean_nll - golden.nll) < 1e-4, `${out.mean_nll} vs ${golden.nll}`);
      assert.equal(out.tokens, golden.nll_ids.length - 1);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('info describes the checkpoint', () => {
    const r = cli('info', '--model', tiny, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.layout, 'transformers');
    assert.equal(out.parameters, 23008);
    assert.equal(out.config.nLayer, 2);
  });

  it('bad input gets one clear line and a non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--model', tiny, '--prompt', 'hi'], /no tokenizer\.json/],
      [['generate', '--model', tiny, '--prompt-ids', '1,999'], /'999' is not a token id/],
      [['generate', '--model', tiny], /either as --prompt TEXT or as --prompt-ids/],
      [['generate', '--model', '/no/such/folder', '--prompt-ids', '1'], /neither a folder nor a Hugging Face model id/],
      [
        ['generate', '--model', tiny, '--prompt-ids', '1', '--greedy', '--temperature', '2'],
        /--greedy cannot be combined/,
      ],
      [['eval', '--model', tiny, '--ids-file', '/no/such/file'], /cannot read \/no\/such\/file: no such file/],
      [['info'], /--model is required/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe('model commands with a real tokenizer', () => {
  it('generate --prompt streams text and eval --text-file reports bits per byte (GPT-NeoX tokenizer, random tiny model)', async () => {
    const { gunzipSync } = await import('node:zlib');
    const mt = await import('../../src/index.js');
    const { saveMambaLM } = await import('../../src/io/index.js');
    const folder = mkdtempSync(join(tmpdir(), 'mamba-ts-tok-'));
    try {
      const tokenizer = gunzipSync(
        readFileSync(fileURLToPath(new URL('../../../test/fixtures/gpt-neox-20b/tokenizer.json.gz', import.meta.url))),
      );
      writeFileSync(join(folder, 'tokenizer.json'), tokenizer);
      const model = new mt.MambaLM(mt.mambaConfig({ dModel: 8, nLayer: 1, vocabSize: 50277, dState: 4 }), {
        generator: new mt.Generator(0),
      });
      await saveMambaLM(model, folder);
      model.dispose();
      const r = cli(
        'generate',
        '--model',
        folder,
        '--prompt',
        'Hello, world',
        '--max-new-tokens',
        '5',
        '--temperature',
        '1',
        '--seed',
        '3',
      );
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith('Hello, world'), r.stdout);
      assert.match(r.stderr, /decode [\d.]+ tokens\/s/);
      const json = JSON.parse(
        cli('generate', '--model', folder, '--prompt', 'Hello, world', '--max-new-tokens', '5', '--json').stdout,
      );
      assert.deepEqual(json.prompt_ids, [12092, 13, 1533]);
      assert.equal(typeof json.text, 'string');
      assert.ok(
        json.tokens.every((t: number) => t < 50277),
        'padding rows of the vocabulary are never sampled',
      );
      const text = join(folder, 'text.txt');
      writeFileSync(text, 'The quick brown fox jumps over the lazy dog. '.repeat(5));
      const e = JSON.parse(cli('eval', '--model', folder, '--text-file', text, '--json').stdout);
      assert.ok(e.tokens > 10 && e.bits_per_byte > 0 && Number.isFinite(e.perplexity));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
