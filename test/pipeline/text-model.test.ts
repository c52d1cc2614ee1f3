import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as mt from '../../src/index.js';
import { saveLanguageModel, saveMambaLM } from '../../src/io/index.js';
import { MoEMambaLM, alternatingPattern } from '../../src/models/moe-mamba.js';
import { rejectsWith } from '../helpers.js';

const fixture = (p: string) => fileURLToPath(new URL(`../../../test/fixtures/${p}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-pipeline-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A tiny random byte-level Mamba (vocabulary 256, so its folder loads with the byte tokenizer). */
async function byteModelFolder(name: string, seed = 1): Promise<string> {
  const model = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 256, dState: 4 }), {
    generator: new mt.Generator(seed),
  });
  const folder = join(scratch, name);
  await saveMambaLM(model, folder);
  model.dispose();
  return folder;
}

/** The greedy continuation of `prompt` by the plain batch generate(), the oracle of the high-level API. */
function greedy(model: mt.LanguageModel, prompt: readonly number[], maxNewTokens: number): number[] {
  return mt.generate(model, [prompt], { maxNewTokens, greedy: true }).tokens[0]!;
}

describe('TextModel: one call to load, generate and stream', () => {
  let folder: string;
  let lm: mt.TextModel;
  before(async () => {
    folder = await byteModelFolder('bytes');
    lm = await mt.load(folder);
  });
  after(() => lm.dispose());

  it('load() of a byte model folder picks the byte tokenizer from the config', () => {
    assert.ok(lm.tokenizer instanceof mt.ByteTokenizer);
    assert.equal(lm.source.layout, 'transformers');
    assert.equal(lm.source.name, folder);
  });

  it('generate() returns the ids of the plain generate() and their text', async () => {
    const out = await lm.generate('Mamba', { maxNewTokens: 12 });
    assert.deepEqual(out.promptIds, [...new TextEncoder().encode('Mamba')]);
    assert.deepEqual(out.ids, greedy(lm.model, out.promptIds, 12));
    assert.equal(out.text, lm.decode(out.ids));
    assert.equal(out.stoppedBy, 'max-new-tokens');
    assert.ok(out.prefillSeconds > 0 && out.decodeSeconds > 0);
  });

  it('stream() yields pieces that join to the text of generate(), each of whole characters', async () => {
    const pieces: string[] = [];
    for await (const piece of lm.stream('The ', { maxNewTokens: 16, temperature: 1.5, seed: 3 })) pieces.push(piece);
    const whole = await lm.generate('The ', { maxNewTokens: 16, temperature: 1.5, seed: 3 });
    assert.equal(pieces.join(''), whole.text);
    assert.ok(pieces.length > 1);
  });

  it('a stream holds back the bytes of a character until it is complete', async () => {
    // The ids of 'é' (2 bytes) and '€' (3 bytes) come one token at a time.
    const decoder = lm.tokenizer!.createStreamDecoder();
    const bytes = [...new TextEncoder().encode('é€')];
    assert.deepEqual(
      bytes.map((b) => decoder.push(b)),
      ['', 'é', '', '', '€'],
    );
  });

  it('stops at a stop token, and generation yields to the event loop between tokens', async () => {
    const free = await lm.generate('ab', { maxNewTokens: 10 });
    const stop = free.ids[3]!;
    const stopped = await lm.generate('ab', { maxNewTokens: 10, stopTokens: [stop] });
    assert.deepEqual(stopped.ids, free.ids.slice(0, free.ids.indexOf(stop) + 1));
    assert.equal(stopped.stoppedBy, 'stop-token');

    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    await lm.generate('ab', { maxNewTokens: 40 });
    clearInterval(timer);
    assert.ok(ticks > 0, 'timers ran while generating');
  });

  it('an AbortSignal stops generate() and stream() after the current token', async () => {
    const controller = new AbortController();
    const pieces: string[] = [];
    for await (const piece of lm.stream('xy', { maxNewTokens: 50, signal: controller.signal })) {
      pieces.push(piece);
      if (pieces.length === 3) controller.abort();
    }
    assert.equal(pieces.length, 3);

    const again = new AbortController();
    const counting = lm.startSession();
    const result = counting.generate('xy', { maxNewTokens: 50, signal: again.signal });
    setImmediate(() => again.abort());
    const out = await result;
    assert.equal(out.stoppedBy, 'abort');
    assert.ok(out.ids.length < 50);
    assert.deepEqual(out.ids, greedy(lm.model, out.promptIds, out.ids.length));
    counting.dispose();
  });

  it('a model without a tokenizer takes and returns ids; text input is refused with the fix', async () => {
    const original = await mt.load(fixture('io/mamba-orig-f32'));
    try {
      assert.equal(original.tokenizer, null);
      const out = await original.generate([1, 2, 3], { maxNewTokens: 4 });
      assert.equal(out.text, null);
      assert.deepEqual(out.ids, greedy(original.model, [1, 2, 3], 4));
      await rejectsWith(original.generate('hi'), 'no tokenizer', 'token ids');
      await rejectsWith(original.generate([20]), 'token id 20 is not in the model', '[0, 20)');
    } finally {
      original.dispose();
    }
  });

  it('load() refuses a folder that holds another task, naming the commands for it', async () => {
    const vim = join(scratch, 'vim');
    mkdirSync(vim);
    writeFileSync(join(vim, 'config.json'), '{"model_type": "vim"}');
    await rejectsWith(mt.load(vim), 'describes an image classifier', 'mamba-ts classify');
  });
});

describe('Session: a text that continues across calls, saved as bytes', () => {
  let lm: mt.TextModel;
  before(async () => {
    lm = await mt.load(await byteModelFolder('session', 2));
  });
  after(() => lm.dispose());

  it('continues as if the whole text had been given at once', async () => {
    const session = lm.startSession();
    const first = await session.generate('Once ', { maxNewTokens: 6 });
    const second = await session.generate(' upon', { maxNewTokens: 6 });
    assert.equal(session.length, first.promptIds.length + 6 + second.promptIds.length + 5);
    session.dispose();
    // The whole text so far, fed to a fresh state: the same next tokens.
    const whole = [...first.promptIds, ...first.ids, ...second.promptIds];
    assert.deepEqual(second.ids, greedy(lm.model, whole, 6));
  });

  it('save() and restoreSession() continue the text elsewhere; the bytes do not grow with it', async () => {
    const session = lm.startSession();
    await session.generate('It was a dark ', { maxNewTokens: 5 });
    const short = await session.save();
    const expected = await session.generate(' and stormy', { maxNewTokens: 8 });
    await session.generate('x'.repeat(300), { maxNewTokens: 2 });
    const long = await session.save();
    session.dispose();
    assert.equal(long.byteLength, short.byteLength);

    const restored = await lm.restoreSession(short);
    const again = await restored.generate(' and stormy', { maxNewTokens: 8 });
    assert.deepEqual(again.ids, expected.ids);
    restored.dispose();
  });

  it('refuses bytes that are not a session, or a session of another model', async () => {
    await rejectsWith(lm.restoreSession(new Uint8Array([1, 2, 3])), 'safetensors');
    const moe = new MoEMambaLM(
      {
        mamba: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 256, dState: 4 }),
        moe: { experts: 2, topK: 1, capacityFactor: 1.25, dExpert: 16, auxLossWeight: 0.01, zLossWeight: 0 },
        pattern: alternatingPattern(1),
      },
      { generator: new mt.Generator(3) },
    );
    const moeFolder = join(scratch, 'moe');
    await saveLanguageModel(moe, moeFolder);
    moe.dispose();
    const other = await mt.load(moeFolder);
    const session = other.startSession();
    await session.generate('hi', { maxNewTokens: 2 });
    const bytes = await session.save();
    session.dispose();
    other.dispose();
    await rejectsWith(lm.restoreSession(bytes), 'moe-mamba model', 'mamba model');
    const wider = await mt.load(await byteModelFolder('wider', 4));
    const own = wider.startSession();
    await own.generate('a', { maxNewTokens: 1 });
    const sameShape = await own.save();
    own.dispose();
    wider.dispose();
    // Same type and shapes: the state fits (it is the caller's to pair a session with its weights).
    (await lm.restoreSession(sameShape)).dispose();
  });

  it('one generation at a time per session', async () => {
    const session = lm.startSession();
    const running = session.generate('ab', { maxNewTokens: 20 });
    await rejectsWith(session.generate('cd'), 'already generating');
    await running;
    session.dispose();
  });
});

describe('padded vocabularies: rows at or past vocab_size are never sampled or scored', () => {
  // vocab_size 20 padded to 24 rows; the head gives the padding rows the largest logits.
  const config = mt.mambaConfig({ dModel: 8, nLayer: 1, vocabSize: 20, dState: 4, tieEmbeddings: false });
  const model = new mt.MambaLM(config, { generator: new mt.Generator(5) });
  const head = model.lmHead.weight.toArray() as Float32Array;
  head.fill(0, 0, 20 * 8);
  for (let r = 20; r < 24; r++) for (let c = 0; c < 8; c++) head[r * 8 + c] = (r % 2 ? 1 : -1) * (1 + c);
  model.lmHead.weight.write(head);
  after(() => model.dispose());

  it('the model says which rows are tokens', () => {
    assert.equal(model.vocabSize, 24);
    assert.equal(model.vocabLimit, 20);
  });

  it('without the limit the padding rows would win', () => {
    const logits = mt.noGrad(() =>
      model.forward(mt.fromArray(new Int32Array([1, 2, 3]), [1, 3], { dtype: 'int32' }), { lastOnly: true }),
    );
    const row = logits.toArray() as Float32Array;
    const best = row.indexOf(Math.max(...row));
    assert.ok(best >= 20, `argmax ${best}`);
    logits.dispose();
  });

  it('greedy and sampled generation stay below vocab_size', () => {
    for (const options of [
      { greedy: true },
      { temperature: 3, seed: 1 },
      { topK: 22, seed: 2 },
      { topP: 1, temperature: 2 },
    ])
      for (const id of mt.generate(model, [[1, 2, 3]], { maxNewTokens: 30, ...options }).tokens[0]!)
        assert.ok(id < 20, `${JSON.stringify(options)} sampled ${id}`);
  });

  it('scoring normalises over the tokens alone', async () => {
    const { sequenceNll } = await import('../../src/eval/nll.js');
    const ids = [1, 2, 3, 4, 5];
    const nll = sequenceNll(model, ids).totalNats;
    const logits = mt.noGrad(() => model.forward(mt.fromArray(new Int32Array(ids), [1, 5], { dtype: 'int32' })));
    const all = logits.toArray() as Float32Array;
    let expected = 0;
    for (let t = 0; t < 4; t++) {
      const row = all.subarray(t * 24, t * 24 + 20);
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      expected += logSum - row[ids[t + 1]!]!;
    }
    logits.dispose();
    assert.ok(Math.abs(nll - expected) < 1e-4, `${nll} vs ${expected}`);
  });

  it('an original-layout checkpoint with a padded vocabulary loads with its limit', async () => {
    const original = await mt.load(fixture('io/mamba-orig-f32'));
    assert.equal(original.model.vocabSize, 24);
    assert.equal(original.model.vocabLimit, 20);
    original.dispose();
  });
});

describe('loading from bytes and over HTTP', () => {
  let server: Server;
  let base: string;
  let folder: string;
  const requests: string[] = [];
  before(async () => {
    folder = await byteModelFolder('served', 6);
    server = createServer((request, response) => {
      requests.push(request.url!);
      const name = request.url!.replace(/^\/model\//, '');
      if (!readdirSync(folder).includes(name)) {
        response.writeHead(404).end();
        return;
      }
      const body = readFileSync(join(folder, name));
      response.writeHead(200, { 'content-length': body.byteLength }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model/`;
  });
  after(() => server.close());

  it('loads the files given as bytes by name, as a page that fetched them would', async () => {
    const files = Object.fromEntries(
      readdirSync(folder).map((name) => [name, new Uint8Array(readFileSync(join(folder, name)))]),
    );
    const fromBytes = await mt.load(files);
    const fromFolder = await mt.load(folder);
    assert.deepEqual(
      (await fromBytes.generate('hi', { maxNewTokens: 5 })).ids,
      (await fromFolder.generate('hi', { maxNewTokens: 5 })).ids,
    );
    fromBytes.dispose();
    fromFolder.dispose();
  });

  it('loads a model folder from a URL, with download progress, fetching each file once', async () => {
    const progress: string[] = [];
    const lm = await mt.load(base, {
      onDownload: (file, received, total) => progress.push(`${file} ${received}/${total}`),
    });
    const local = await mt.load(folder);
    assert.deepEqual(
      (await lm.generate('web', { maxNewTokens: 5 })).ids,
      (await local.generate('web', { maxNewTokens: 5 })).ids,
    );
    const size = readFileSync(join(folder, 'model.safetensors')).byteLength;
    assert.ok(progress.includes(`model.safetensors ${size}/${size}`), progress.join('\n'));
    const fetched = requests.filter((r) => r.endsWith('model.safetensors'));
    assert.equal(fetched.length, 1);
    lm.dispose();
    local.dispose();
  });

  it('a URL without a model says what is missing', async () => {
    await rejectsWith(mt.load(`${base.replace('/model/', '/nothing/')}`), 'has no config.json');
  });
});
