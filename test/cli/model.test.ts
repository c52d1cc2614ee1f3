import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveTinyModels, type TinyModels } from './tiny-models.js';

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

  it('bad input gets one clear line and a non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--model', tiny, '--prompt', 'hi'], /no tokenizer\.json/],
      [['generate', '--model', tiny, '--prompt-ids', '1,999'], /'999' is not a token id/],
      [['generate', '--model', tiny], /either as --prompt TEXT or as --prompt-ids/],
      [['generate', '--model', '/no/such/folder', '--prompt-ids', '1'], /\/no\/such\/folder: no such folder/],
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
      // A tokenizer.json whose "Hello" is id 1.5 once sent "prompt_ids":[1.5,13,1533] to the model with exit 0.
      const hostile = JSON.parse(tokenizer.toString('utf8'));
      hostile.model.vocab['Hello'] = 1.5;
      writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(hostile));
      const refused = cli('generate', '--model', folder, '--prompt', 'Hello, world', '--max-new-tokens', '1', '--json');
      assert.notEqual(refused.status, 0);
      assert.equal(refused.stdout, '');
      assert.match(
        refused.stderr,
        /tokenizer\.json: model\.vocab\.Hello must be an integer in \[0, 4294967295\], got 1\.5/,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('model commands on every model type', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-types-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  let models: TinyModels;
  before(async () => {
    models = await saveTinyModels(scratch);
  });
  const text = 'The quick brown fox jumps over the lazy dog. ';

  it('generate streams text from a MoE-Mamba and a Transformer, and --json gives the tokens', () => {
    for (const folder of [() => models.moe, () => models.transformer]) {
      const r = cli('generate', '--model', folder(), '--prompt', 'The ', '--max-new-tokens', '6', '--threads', '1');
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith('The '), r.stdout);
      const json = JSON.parse(
        cli('generate', '--model', folder(), '--prompt-ids', '84,104,101', '--max-new-tokens', '6', '--json').stdout,
      );
      assert.deepEqual(json.prompt_ids, [84, 104, 101]);
      assert.equal(json.tokens.length, 6);
      assert.ok(json.tokens.every((t: number) => Number.isInteger(t) && t >= 0 && t < 256));
    }
  });

  it('eval scores a MoE-Mamba exactly, and a Transformer in windows when the text is longer than its context', async () => {
    const file = join(scratch, 'text.txt');
    writeFileSync(file, text);
    const ids = [...Buffer.from(text)];
    const moe = JSON.parse(cli('eval', '--model', models.moe, '--text-file', file, '--json').stdout);
    const transformer = JSON.parse(cli('eval', '--model', models.transformer, '--text-file', file, '--json').stdout);
    const { loadLanguageModel } = await import('../../src/io/index.js');
    const { sequenceNll } = await import('../../src/eval/nll.js');
    const { windowedNll } = await import('../../src/eval/window-nll.js');
    const moeModel = (await loadLanguageModel(models.moe)).model;
    const transformerModel = (await loadLanguageModel(models.transformer)).model;
    assert.equal(moe.tokens, ids.length - 1);
    assert.equal(moe.window, null);
    assert.ok(Math.abs(moe.mean_nll - sequenceNll(moeModel, ids).meanNll) < 1e-5);
    assert.ok(Math.abs(moe.bits_per_byte - moe.mean_nll / Math.LN2) < 1e-9, 'a byte-level model: bits per token');
    assert.equal(transformer.window, 24);
    assert.ok(Math.abs(transformer.mean_nll - windowedNll(transformerModel, ids, 24)) < 1e-5);
    moeModel.dispose();
    transformerModel.dispose();
  });

  it('eval, classify and segment take the Vim and the U-Mamba folders', () => {
    const vim = cli('eval', '--model', models.vim, '--dataset', `folder:${models.images}`, '--json');
    assert.equal(vim.status, 0, vim.stderr);
    const scores = JSON.parse(vim.stdout);
    assert.equal(scores.images, 2, 'one held-out image of each class');
    assert.ok(scores.accuracy >= 0 && scores.accuracy <= 1 && Number.isFinite(scores.loss));
    const image = join(models.images, 'light', '0.png');
    const classified = cli('classify', '--model', models.vim, image, '--json');
    assert.equal(classified.status, 0, classified.stderr);
    const top = JSON.parse(classified.stdout).top;
    assert.deepEqual(top.map((c: { class: string }) => c.class).sort(), ['dark', 'light']);
    assert.ok(Math.abs(top[0].probability + top[1].probability - 1) < 1e-5);

    const umamba = cli('eval', '--model', models.umamba, '--json');
    assert.equal(umamba.status, 0, umamba.stderr);
    const dice = JSON.parse(umamba.stdout);
    assert.equal(dice.test_slices, 2, 'the split the model recorded: the last 40% of the names');
    assert.deepEqual(Object.keys(dice.per_class_dice), ['background', 'object']);
    const mask = join(scratch, 'mask.png');
    const segmented = cli('segment', '--model', models.umamba, '--input', image, '--out', mask, '--json');
    assert.equal(segmented.status, 0, segmented.stderr);
    const pixels = JSON.parse(segmented.stdout).pixels_per_class;
    assert.equal(pixels.background + pixels.object, 64);
    assert.ok(readFileSync(mask).length > 0);
  });

  it('a command given a model of another task says which commands take it (exit 2, before loading)', () => {
    const cases: [string[], RegExp][] = [
      [
        ['generate', '--model', models.vim, '--prompt', 'hi'],
        /describes an image classifier \(model_type "vim"\), not a language model; use it with mamba-ts classify, eval --dataset/,
      ],
      [
        ['generate', '--model', models.umamba, '--prompt', 'hi'],
        /describes a segmentation network \(model_type "umamba"\), not a language model; use it with mamba-ts segment, eval/,
      ],
      [
        ['classify', '--model', models.moe, join(scratch, 'vim', 'config.json')],
        /describes a MoE-Mamba language model \(model_type "moe-mamba"\), not an image classifier; use it with mamba-ts generate/,
      ],
      [
        ['segment', '--model', models.transformer, '--input', join(scratch, 'text.txt'), '--out', 'x.png'],
        /describes a Transformer language model .* not a segmentation network/,
      ],
      [['eval', '--model', models.vim, '--ids-file', 'ids.txt'], /--ids-file scores a language model.* --dataset SPEC/],
      [['eval', '--model', models.umamba, '--text-file', 'a.txt'], /--text-file scores a language model.*segmentation/],
      [['eval', '--model', models.moe, '--dataset', 'mnist'], /--dataset scores an image classifier or a segmentation/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  it('usage errors exit 2 before any output: sampling options, a Transformer asked for more than its context', () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--model', models.moe, '--prompt', 'The ', '--top-p', '2'], /top-p must be in \(0, 1\], got 2/],
      [['generate', '--model', models.moe, '--prompt', 'The ', '--temperature', '0'], /temperature must be > 0, got 0/],
      [
        ['generate', '--model', models.moe, '--prompt', 'The ', '--repetition-penalty=-1'],
        /repetition penalty must be > 0/,
      ],
      [
        ['generate', '--model', models.transformer, '--prompt', 'The ', '--max-new-tokens', '30'],
        /reads at most 24 tokens, and the longest prompt has 4: give --max-new-tokens 20 or fewer/,
      ],
      [
        ['generate', '--model', models.moe, '--prompt-ids', '1,-2'],
        /'-2' is not a token id \(a non-negative integer\)/,
      ],
      [
        ['generate', '--model', models.moe, '--prompt-ids', '1', '--stop-token', '256'],
        /'256' is not a token id in \[0, 256\)/,
      ],
      [
        ['generate', '--model', models.moe, '--prompt', 'The ', '--threads', '256'],
        new RegExp(
          `--threads 256 is more than this machine's ${availableParallelism()} cores; give at most ${availableParallelism()}`,
        ),
      ],
      [['classify', '--model', models.vim, join(scratch, 'no.png')], /image .*no\.png: no such file/],
      [
        ['segment', '--model', models.umamba, '--input', join(scratch, 'no.png'), '--out', 'x.png'],
        /--input .*: no such file/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '', 'nothing printed before the error');
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe('a mistyped model folder', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'mamba-ts-cwd-'));
  after(() => rmSync(cwd, { recursive: true, force: true }));
  // An empty hub cache and no network: an owner/name can only be a folder or a cached model.
  const inFolder = (...args: string[]) =>
    spawnSync(process.execPath, [main, ...args], {
      encoding: 'utf8',
      cwd,
      env: { ...process.env, HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(cwd, 'hub-cache') },
    });
  before(() => cpSync(tiny, join(cwd, 'runs', 'mb'), { recursive: true }));

  it('is reported as a missing path, with the folder meant', () => {
    assert.equal(inFolder('info', '--model', 'runs/mb').status, 0);
    const cases: [string, RegExp][] = [
      ['./runs/mbb', /^mamba-ts: \.\/runs\/mbb: no such folder \(.*runs has no mbb\); did you mean 'runs\/mb'\?$/m],
      [join(cwd, 'runs', 'mbb'), /runs\/mbb: no such folder .*; did you mean '.*runs\/mb'\?$/m],
      ['mb', /'mb' is neither a folder \(.* has no mb\) nor a Hugging Face model id/],
      [
        'runs/mb/x/y',
        /'runs\/mb\/x\/y' is neither a folder \(.*runs\/mb\/x\/y does not exist; the deepest part of it that does is .*runs\/mb\)/,
      ],
      // owner/name could be a hub id; runs/ exists here, so the missing folder is the likelier reading.
      [
        'runs/mbb',
        /^mamba-ts: 'runs\/mbb' is neither a folder \(.*runs has no mbb\) nor a model on the Hugging Face hub \(model 'runs\/mbb' \(revision main\) is not in the cache .*HF_HUB_OFFLINE is set.*\); an owner\/name is a local folder when one exists, else a hub id; did you mean 'runs\/mb'\?$/m,
      ],
    ];
    for (const [spec, message] of cases) {
      const r = inFolder('generate', '--model', spec, '--prompt-ids', '1');
      assert.equal(r.status, 2, spec);
      assert.match(r.stderr, message);
    }
  });

  it('an owner/name without such a local folder stays a hub id', () => {
    const r = inFolder('info', '--model', 'state-spaces/mamba-130m');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^mamba-ts: model 'state-spaces\/mamba-130m' \(revision main\) is not in the cache/);
  });
});
