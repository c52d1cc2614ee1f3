import { bytesSource, concatBytes, type ByteSource } from '../formats/byte-source.js';
import { parseJson } from '../formats/json.js';
import { MambaError } from '../util/errors.js';

/**
 * The files of a model folder, wherever they are: a folder on disk (io/folder-files.ts), a URL
 * (a web server, the Hugging Face hub) or bytes a page already holds. Loaders read a model
 * through this, so the same code loads it in Node and in a browser.
 */
export interface ModelFiles {
  /** Names the folder in messages: a path or a URL. */
  readonly name: string;
  /** The file `file` of the folder, or null where the folder has none. */
  open(file: string): Promise<ByteSource | null>;
}

/** A model folder whose files are already in memory, by name (e.g. from fetch() or a file picker). */
export function memoryFiles(files: Readonly<Record<string, Uint8Array>>, name = 'the given files'): ModelFiles {
  return {
    name,
    open: async (file) => {
      const bytes = Object.hasOwn(files, file) ? files[file] : undefined;
      return bytes ? bytesSource(bytes, `${name}/${file}`) : null;
    },
  };
}

export interface UrlFilesOptions {
  /** The fetch to use (default: the global one); e.g. to add authorisation. */
  fetch?: typeof fetch;
  /** Called as each file downloads, with the bytes received and the total where the server says it. */
  onDownload?: (file: string, received: number, total: number | undefined) => void;
}

/**
 * A model folder served over HTTP: `base` is the folder's URL (`https://host/models/mamba/`), and
 * a file is fetched whole when first opened. A 404 means the folder has no such file.
 */
export function urlFiles(base: string | URL, options: UrlFilesOptions = {}): ModelFiles {
  const folder = new URL(base);
  if (!folder.pathname.endsWith('/')) folder.pathname += '/';
  const doFetch = options.fetch ?? globalThis.fetch;
  const fetched = new Map<string, Promise<ByteSource | null>>();
  const download = async (file: string): Promise<ByteSource | null> => {
    const url = new URL(file, folder).href;
    let response: Response;
    try {
      response = await doFetch(url);
    } catch (error) {
      throw new MambaError(`cannot fetch ${url} (${(error as Error).message}); check the address and the network`);
    }
    if (response.status === 404) return null;
    if (!response.ok)
      throw new MambaError(`fetching ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd());
    return bytesSource(await readBody(response, file, options.onDownload), url);
  };
  return {
    name: folder.href,
    open: (file) => {
      let pending = fetched.get(file);
      if (!pending) {
        pending = download(file);
        fetched.set(file, pending);
      }
      return pending;
    },
  };
}

async function readBody(
  response: Response,
  file: string,
  onDownload: UrlFilesOptions['onDownload'],
): Promise<Uint8Array> {
  const length = Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length : undefined;
  if (!onDownload || !response.body) return new Uint8Array(await response.arrayBuffer());
  const parts: Uint8Array[] = [];
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.byteLength;
    onDownload(file, received, total);
  }
  return parts.length === 0 ? new Uint8Array(0) : concatBytes(parts);
}

/** A file of the folder as text, or null where it is missing; a byte order mark is kept, for parseJson to refuse. */
export async function readTextFile(files: ModelFiles, file: string): Promise<string | null> {
  const source = await files.open(file);
  if (!source) return null;
  // A JavaScript string holds at most 2^29 - 24 UTF-16 units (V8); past that decoding would throw a RangeError.
  if (source.size > MAX_TEXT_BYTES)
    throw new MambaError(
      `${source.name}: ${source.size.toLocaleString('en-US')} bytes is more text than one string can hold here (${MAX_TEXT_BYTES.toLocaleString('en-US')}); it cannot be a config or tokenizer file`,
    );
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(await source.read(0, source.size));
}

const MAX_TEXT_BYTES = 2 ** 29 - 24;

/**
 * JSON text that must hold an object, parsed by parseJson (depth limit, no byte order mark);
 * `source` names it in the error, `fix` says what to do when it holds something else.
 */
export function parseJsonObject(text: string, source: string, fix: string): Record<string, unknown> {
  const value = parseJson(text, source);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MambaError(`${source} does not hold a JSON object; ${fix}`);
  return value as Record<string, unknown>;
}

/** Where a file of the folder is, for messages. */
export function locate(files: ModelFiles, file: string): string {
  return files.name.endsWith('/') ? `${files.name}${file}` : `${files.name}/${file}`;
}
