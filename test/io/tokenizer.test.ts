import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  ByteTokenizer,
  loadTokenizer,
  Tokenizer,
  type StreamDecoder,
  type TextTokenizer,
} from '../../src/io/tokenizer.js';
import { MambaError } from '../../src/util/errors.js';

interface Fixture {
  vocabSize: number;
  endOfText: number;
  encodings: { text: string; ids: number[]; decoded: string; decodedSkipSpecial: string }[];
  decodings: { ids: number[]; decoded: string; decodedSkipSpecial: string }[];
}

const fixtures = new URL('../../../test/fixtures/', import.meta.url);
const tokenizerJson = gunzipSync(readFileSync(new URL('gpt-neox-20b/tokenizer.json.gz', fixtures))).toString('utf8');
const expected = JSON.parse(readFileSync(new URL('tokenizer-gpt-neox-20b.json', fixtures), 'utf8')) as Fixture;

const scratch = mkdtempSync(join(tmpdir(), 'mamba-tokenizer-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function folderWith(name: string, files: Record<string, string>): string {
  const folder = join(scratch, name);
  mkdirSync(folder);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(folder, file), text);
  return folder;
}

const neox = loadTokenizer(folderWith('neox', { 'tokenizer.json': tokenizerJson }));

/** Streams `ids` and returns the chunks, checking that none ends inside a character. */
function stream(tokenizer: TextTokenizer, ids: number[], skipSpecialTokens = false): string[] {
  const decoder: StreamDecoder = tokenizer.createStreamDecoder({ skipSpecialTokens });
  const chunks = ids.map((id) => decoder.push(id));
  chunks.push(decoder.flush());
  for (const chunk of chunks.slice(0, -1)) {
    assert.ok(!/[\uD800-\uDBFF]$/.test(chunk), `chunk ${JSON.stringify(chunk)} ends in half a surrogate pair`);
  }
  return chunks;
}

/** A fixed pseudo-random sequence, so failures reproduce. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('GPT-NeoX-20B tokenizer', () => {
  test('encodes every fixture text to the ids of the Python tokenizers library', () => {
    for (const { text, ids } of expected.encodings) assert.deepEqual(neox.encode(text), ids, JSON.stringify(text));
  });

  test('decodes like the Python tokenizers library, with and without special tokens', () => {
    for (const c of [...expected.encodings, ...expected.decodings]) {
      assert.equal(neox.decode(c.ids), c.decoded, JSON.stringify(c.ids));
      assert.equal(neox.decode(c.ids, { skipSpecialTokens: true }), c.decodedSkipSpecial, JSON.stringify(c.ids));
    }
  });

  test('round-trips text (in NFC, which the normalizer applies)', () => {
    for (const { text, ids } of expected.encodings) assert.equal(neox.decode(ids), text.normalize('NFC'));
    const spaced = "a , b . c ! don 't";
    assert.equal(neox.decode(neox.encode(spaced)), spaced, 'no clean-up of spaces before punctuation');
  });

  test('knows its vocabulary size and that <|endoftext|> is BOS and EOS', () => {
    assert.equal(neox.vocabSize, expected.vocabSize);
    assert.equal(neox.eosTokenId, expected.endOfText);
    assert.equal(neox.bosTokenId, expected.endOfText);
  });

  test('takes BOS and EOS from tokenizer_config.json, as strings or AddedToken objects', () => {
    const config = {
      bos_token: '<|padding|>',
      eos_token: { __type: 'AddedToken', content: '<|padding|>', special: true },
    };
    const tokenizer = loadTokenizer(
      folderWith('configured', { 'tokenizer.json': tokenizerJson, 'tokenizer_config.json': JSON.stringify(config) }),
    );
    assert.equal(tokenizer.bosTokenId, 1);
    assert.equal(tokenizer.eosTokenId, 1);
    assert.deepEqual(tokenizer.encode('Hello, world!'), neox.encode('Hello, world!'));
  });

  test('drops ids that have no token, as the padded embedding rows of a model', () => {
    assert.equal(neox.decode([12092, 50277, 50279]), 'Hello');
    assert.equal(neox.decode([]), '');
    assert.throws(() => neox.decode([-1]), MambaError);
    assert.throws(() => neox.decode([1.5]), MambaError);
  });

  test('stream decoding concatenates to the full decode for every fixture text', () => {
    for (const { ids } of expected.encodings) {
      for (const skip of [false, true]) {
        const chunks = stream(neox, ids, skip);
        assert.equal(chunks.join(''), neox.decode(ids, { skipSpecialTokens: skip }), JSON.stringify(ids));
        assert.ok(
          chunks.every((c) => !c.includes('\uFFFD')),
          `valid text streamed with a replacement character: ${JSON.stringify(chunks)}`,
        );
      }
    }
  });

  test('stream decoding holds back a character until its last byte token arrives', () => {
    const crab = neox.encode('🦀');
    assert.ok(crab.length > 1, 'the emoji takes several byte-level tokens');
    const decoder = neox.createStreamDecoder();
    assert.deepEqual(
      crab.map((id) => decoder.push(id)),
      [...crab.slice(1).map(() => ''), '🦀'],
    );
    assert.equal(decoder.flush(), '');

    const text = ' Rust 🦀 and 日本語 ❤️';
    const chunks = stream(neox, neox.encode(text));
    assert.deepEqual(
      chunks.filter((c) => c !== ''),
      [' Rust', ' 🦀', ' and', ' ', '日本', '語', ' ❤', '\uFE0F'],
    );
  });

  test('stream decoding of an unfinished character flushes it as U+FFFD, as decode does', () => {
    const partial = neox.encode('🦀').slice(0, 1);
    const decoder = neox.createStreamDecoder();
    assert.equal(decoder.push(partial[0]!), '');
    assert.equal(decoder.flush(), '\uFFFD');
    assert.equal(neox.decode(partial), '\uFFFD');
  });

  test('stream decoding matches decode on random id sequences, broken bytes included', () => {
    const random = lcg(7);
    for (let run = 0; run < 40; run++) {
      // Ids below 300 are mostly single bytes of multi-byte characters: the hard case.
      const ids = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        random() < 0.6 ? Math.floor(random() * 300) : Math.floor(random() * neox.vocabSize),
      );
      for (const skip of [false, true]) {
        assert.equal(
          stream(neox, ids, skip).join(''),
          neox.decode(ids, { skipSpecialTokens: skip }),
          JSON.stringify(ids),
        );
      }
    }
  });

  test('a missing tokenizer.json names the fix', () => {
    const folder = folderWith('empty', { 'config.json': '{}' });
    assert.throws(
      () => loadTokenizer(folder),
      (e: unknown) =>
        e instanceof MambaError && /has no tokenizer\.json.*--prompt-ids or add the tokenizer/.test(e.message),
    );
  });

  test('a tokenizer.json that is not JSON, or not a tokenizer, is a MambaError', () => {
    assert.throws(
      () => loadTokenizer(folderWith('broken', { 'tokenizer.json': tokenizerJson.slice(0, 1000) })),
      (e: unknown) => e instanceof MambaError && /not valid JSON/.test(e.message),
    );
    assert.throws(
      () => loadTokenizer(folderWith('other', { 'tokenizer.json': '{"vocab": {}}' })),
      (e: unknown) => e instanceof MambaError && /no "model" section/.test(e.message),
    );
    assert.throws(() => new Tokenizer({ model: { type: 'Nonsense' } }), MambaError);
  });

  test('ids that Hugging Face tokenizers refuses (strings, floats, negative, past u32) are refused before loading', () => {
    const spec = JSON.parse(tokenizerJson) as {
      model: { vocab: Record<string, unknown> };
      added_tokens: { id: unknown }[];
    };
    const cases: [string, (s: typeof spec) => void, string][] = [
      [
        'a vocab id that is a string',
        (s) => (s.model.vocab['hello'] = '5'),
        'model.vocab.hello must be an integer in [0, 4294967295], got "5"',
      ],
      [
        'a vocab id that is a float',
        (s) => (s.model.vocab['hello'] = 1.5),
        'model.vocab.hello must be an integer in [0, 4294967295], got 1.5',
      ],
      ['a negative vocab id', (s) => (s.model.vocab['hello'] = -1), 'got -1'],
      ['a vocab id past u32', (s) => (s.model.vocab['hello'] = 2 ** 32), 'got 4294967296'],
      [
        'an added token id that is a float',
        (s) => (s.added_tokens[0]!.id = 221.5),
        'added_tokens[0].id must be an integer in [0, 4294967295], got 221.5',
      ],
      [
        'an added token id that is a string',
        (s) => (s.added_tokens[1]!.id = '7'),
        'added_tokens[1].id must be an integer',
      ],
      [
        'an added token id that is negative',
        (s) => (s.added_tokens[0]!.id = -3),
        'added_tokens[0].id must be an integer',
      ],
      [
        'added_tokens that is not a list',
        (s) => ((s as Record<string, unknown>)['added_tokens'] = 5),
        'added_tokens must be a list',
      ],
    ];
    for (const [name, mutate, says] of cases) {
      const hostile = structuredClone(spec);
      mutate(hostile);
      assert.throws(
        () => new Tokenizer(hostile, {}, 'x/tokenizer.json'),
        (e: unknown) =>
          e instanceof MambaError && e.message.startsWith('x/tokenizer.json: ') && e.message.includes(says),
        name,
      );
    }
  });
});

describe('ByteTokenizer', () => {
  const bytes = new ByteTokenizer();

  test('encodes UTF-8 bytes and decodes them back', () => {
    assert.equal(bytes.vocabSize, 256);
    assert.equal(bytes.eosTokenId, undefined);
    assert.deepEqual(bytes.encode('aé🦀'), [0x61, 0xc3, 0xa9, 0xf0, 0x9f, 0xa6, 0x80]);
    assert.equal(bytes.decode(bytes.encode('aé🦀\uFEFF\u0000')), 'aé🦀\uFEFF\u0000');
    assert.equal(bytes.decode([0xef, 0xbb, 0xbf, 0x61]), '\uFEFFa', 'a leading byte-order mark is text, not dropped');
  });

  test('decodes invalid UTF-8 to U+FFFD', () => {
    assert.equal(bytes.decode([0xff, 0x41]), '\uFFFDA');
    assert.equal(bytes.decode([0x41, 0xe2, 0x82]), 'A\uFFFD');
    assert.equal(bytes.decode([0xc0, 0xaf]), '\uFFFD\uFFFD', 'overlong encodings are invalid');
    assert.equal(bytes.decode([0xed, 0xa0, 0x80]), '\uFFFD\uFFFD\uFFFD', 'encoded surrogates are invalid');
  });

  test('stream decoding holds incomplete sequences and emits invalid bytes at once', () => {
    const decoder = bytes.createStreamDecoder();
    assert.deepEqual(
      [0xf0, 0x9f, 0xa6, 0x80].map((b) => decoder.push(b)),
      ['', '', '', '🦀'],
    );
    assert.equal(decoder.push(0xff), '\uFFFD');
    assert.equal(decoder.push(0xe2), '');
    assert.equal(decoder.push(0x41), '\uFFFDA', 'a lead byte followed by ASCII is broken');
    assert.equal(decoder.push(0xe2), '');
    assert.equal(decoder.flush(), '\uFFFD');
  });

  test('stream decoding matches decode on random bytes', () => {
    const random = lcg(11);
    for (let run = 0; run < 50; run++) {
      const ids = Array.from({ length: Math.floor(random() * 40) }, () =>
        random() < 0.5 ? 0x80 + Math.floor(random() * 0x80) : Math.floor(random() * 256),
      );
      assert.equal(stream(bytes, ids).join(''), bytes.decode(ids), JSON.stringify(ids));
    }
  });

  test('rejects ids that are not bytes', () => {
    assert.throws(() => bytes.decode([256]), MambaError);
    assert.throws(() => bytes.createStreamDecoder().push(-1), MambaError);
  });
});
