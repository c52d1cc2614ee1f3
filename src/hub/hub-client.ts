import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { MambaError } from '../util/errors.js';
import { FileSystemError } from '../util/fs-errors.js';
import { atomicWriteError } from '../util/fs.js';
import { Progress, type ProgressStream } from '../util/progress.js';

/**
 * The hub could not be asked: no connection, a timeout, or a server error. Callers fall back to
 * the cache on this, as the Python client does; any other failure is an answer and is final.
 */
export class HubUnreachableError extends MambaError {
  constructor(message: string) {
    super(message);
    this.name = 'HubUnreachableError';
  }
}

export interface RepoRevision {
  /** The commit the requested revision points to. */
  commit: string;
  /** Every file path in the repository at that commit. */
  files: string[];
}

export interface FileMetadata {
  /** Content id that names the blob: sha256 for LFS files, git sha1 otherwise. */
  etag: string;
  size: number | undefined;
  /** Where the bytes are: the hub itself, or a CDN URL it redirected to. */
  location: string;
}

export interface HubClientOptions {
  endpoint: string;
  token: string | undefined;
  /** Limit for metadata requests; downloads themselves run as long as data keeps coming. */
  timeoutMs: number;
  progress: ProgressStream | null;
}

const MAX_REDIRECTS = 10;

/**
 * The three requests of the hub's HTTP protocol that a download needs, made the way the Python
 * client makes them so that the cache they fill is interchangeable with its cache:
 *   GET  /api/models/<repo>/revision/<revision>   commit hash and file list
 *   HEAD /<repo>/resolve/<commit>/<path>          etag, size and location of one file
 *   GET  <location>                               the bytes (from the hub or a CDN)
 */
export class HubClient {
  private readonly endpoint: string;

  constructor(private readonly options: HubClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
  }

  async revision(repo: string, revision: string): Promise<RepoRevision> {
    const url = `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
    const response = await this.request(url, { method: 'GET', headers: this.headers() }, repo, revision);
    const body = (await response.json()) as { sha?: unknown; siblings?: { rfilename?: unknown }[] };
    if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) {
      throw new MambaError(
        `${this.endpoint} answered the model info request for '${repo}' without a commit hash and file list; is HF_ENDPOINT a Hugging Face hub?`,
      );
    }
    const files = body.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === 'string');
    return { commit: body.sha, files };
  }

  /**
   * Follows redirects only while they stay on the hub (a renamed repository, a cached-file
   * route): a redirect elsewhere points at the storage the bytes come from, and the file's
   * metadata is on that redirect response itself.
   */
  async metadata(repo: string, commit: string, path: string): Promise<FileMetadata> {
    let url = this.resolveUrl(repo, commit, path);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await this.request(
        url,
        { method: 'HEAD', redirect: 'manual', headers: { ...this.headers(), 'Accept-Encoding': 'identity' } },
        repo,
        commit,
        path,
      );
      const location = response.headers.get('location');
      const redirect = response.status >= 300 && response.status < 400 && location !== null;
      const target = redirect ? new URL(location, url).href : url;
      if (redirect && this.onHub(target)) {
        url = target;
        continue;
      }
      const etag = (response.headers.get('x-linked-etag') ?? response.headers.get('etag'))
        ?.replace(/^W\//, '')
        .replace(/"/g, '');
      if (!etag)
        throw new MambaError(`${this.endpoint} sent no ETag for ${repo}/${path}; is HF_ENDPOINT a Hugging Face hub?`);
      const size = Number(
        response.headers.get('x-linked-size') ?? (redirect ? undefined : response.headers.get('content-length')) ?? NaN,
      );
      return { etag, size: Number.isSafeInteger(size) ? size : undefined, location: target };
    }
    throw new MambaError(`${this.endpoint} redirected ${repo}/${path} more than ${MAX_REDIRECTS} times`);
  }

  /**
   * Streams `file` into `target`, via a temporary file unique to this process so that an
   * interrupted or concurrent download never leaves a partial blob under the final name, and
   * checks the size and, where the etag is a content hash, the hash.
   */
  async download(file: FileMetadata, target: string, label: string): Promise<void> {
    // Credentials go to the hub only: CDN locations are pre-signed, and a token must not leak there.
    const headers = { 'Accept-Encoding': 'identity', ...(this.onHub(file.location) ? this.headers() : {}) };
    const tmp = `${target}.${process.pid}-${Math.random().toString(36).slice(2)}.incomplete`;
    const progress = new Progress(
      { label, unit: '', total: file.size, bytes: true },
      { stream: this.options.progress },
    );
    let response: Response;
    try {
      response = await fetch(file.location, { headers });
    } catch (error) {
      throw new MambaError(`downloading ${label} failed (${describe(error)}); run the command again`);
    }
    if (!response.ok || response.body === null) {
      throw new MambaError(
        `downloading ${label} failed: ${file.location} answered ${response.status} ${response.statusText}`,
      );
    }
    const hash = contentHash(file);
    const handle = await open(tmp, 'w').catch((error: unknown) => {
      throw atomicWriteError(error, tmp, target);
    });
    let done = 0;
    let complete = false;
    try {
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          await handle.write(chunk);
          hash?.update(chunk);
          done += chunk.length;
          progress.update(done);
        }
      } catch (error) {
        // A full disk or a read-only cache is not fixed by running the command again.
        const explained = atomicWriteError(error, tmp, target);
        if (explained instanceof FileSystemError) throw explained;
        throw new MambaError(
          `downloading ${label} failed after ${done} bytes (${describe(error)}); run the command again`,
        );
      }
      await handle.sync();
      await handle.close();
      if (file.size !== undefined && done !== file.size) {
        throw new MambaError(
          `downloading ${label} failed: got ${done} bytes, expected ${file.size}; run the command again`,
        );
      }
      if (hash && hash.digest('hex') !== file.etag) {
        throw new MambaError(`downloaded ${label} does not match its checksum ${file.etag}; run the command again`);
      }
      await rename(tmp, target).catch((error: unknown) => {
        throw atomicWriteError(error, tmp, target);
      });
      complete = true;
      progress.finish();
    } finally {
      if (!complete) {
        await handle.close().catch(() => undefined);
        await rm(tmp, { force: true });
      }
    }
  }

  private resolveUrl(repo: string, commit: string, path: string): string {
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  private headers(): Record<string, string> {
    return this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {};
  }

  private onHub(url: string): boolean {
    return new URL(url).origin === new URL(this.endpoint).origin;
  }

  /** One metadata request, with the hub's error answers turned into messages that say what to do. */
  private async request(
    url: string,
    init: RequestInit,
    repo: string,
    revision: string,
    path?: string,
  ): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      throw new HubUnreachableError(`cannot reach ${this.endpoint} (${describe(error)})`);
    }
    if (response.ok || (response.status >= 300 && response.status < 400)) return response;
    const code = response.headers.get('x-error-code');
    const message = response.headers.get('x-error-message') ?? (await errorText(response));
    if (response.status >= 500 || response.status === 429) {
      throw new HubUnreachableError(`${this.endpoint} answered ${response.status} ${message}`);
    }
    const what = path === undefined ? `'${repo}'` : `${path} in '${repo}'`;
    if (code === 'RepoNotFound' || (response.status === 404 && code === null && path === undefined)) {
      throw new MambaError(
        `model '${repo}' was not found on ${this.endpoint}; check the id (private and gated models also need HF_TOKEN)`,
      );
    }
    if (code === 'RevisionNotFound')
      throw new MambaError(
        `revision '${revision}' of '${repo}' was not found on ${this.endpoint}; check the name after @`,
      );
    if (code === 'EntryNotFound') throw new MambaError(`${what} was not found on ${this.endpoint}`);
    if (code === 'GatedRepo' || response.status === 403) {
      throw new MambaError(
        `access to ${what} was refused (${message}); accept the model's terms on the hub and set HF_TOKEN`,
      );
    }
    if (response.status === 401)
      throw new MambaError(`${this.endpoint} refused the credentials for ${what} (${message}); check HF_TOKEN`);
    throw new MambaError(`${this.endpoint} answered ${response.status} for ${what}: ${message}`);
  }
}

/** The hash the etag names: LFS files are named by sha256, git files by their git blob sha1. */
function contentHash(file: FileMetadata): Hash | undefined {
  if (/^[0-9a-f]{64}$/.test(file.etag)) return createHash('sha256');
  if (/^[0-9a-f]{40}$/.test(file.etag) && file.size !== undefined)
    return createHash('sha1').update(`blob ${file.size}\0`);
  return undefined;
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON: the text itself is the best description there is.
  }
  return text.slice(0, 200) || response.statusText;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
