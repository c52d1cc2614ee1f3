import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { parseJson } from '../formats/json.js';
import { MambaError } from '../util/errors.js';
import {
  DEFAULT_HUB_ENDPOINT,
  FALLBACK_TOKENIZER_REPO,
  HUB_ID,
  TOKENIZER_FILES,
  WEIGHT_FILES,
} from '../util/model-repo.js';
import { hfHome, hubCacheDir, RepoCache, type Env } from './hub-cache.js';
import { HubClient, HubUnreachableError } from './hub-client.js';
import type { ProgressStream } from '../util/progress.js';

export interface ResolveModelOptions {
  /** Branch, tag or commit; `org/name@revision` in the spec does the same. Default "main". */
  revision?: string;
  /** Hub base URL. Default $HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  /** Hub cache folder. Default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Access token for private or gated models. Default $HF_TOKEN, else the token file the `hf auth login` command writes. */
  token?: string;
  /** Use only the cache. Default: whether $HF_HUB_OFFLINE is set to 1/true/yes/on. */
  offline?: boolean;
  /** Where the HF_* variables are read from. Default process.env. */
  env?: Env;
  /** Download progress and notes. Default process.stderr; null for silence. */
  progress?: ProgressStream | null;
}

export interface ResolvedModel {
  /** The folder with config.json and the weights. */
  folder: string;
  /**
   * The folder to load the tokenizer from: `folder` itself when it has a tokenizer.json, else the
   * cached EleutherAI/gpt-neox-20b tokenizer the original-layout Mamba checkpoints are used with.
   * When neither exists (a local folder, or offline), it is `folder`, and loadTokenizer says so.
   */
  tokenizerFolder: string;
  /** 'folder': the spec was a local folder; 'hub': checked against the hub, downloading what was missing; 'cache': the hub was not asked or not reachable. */
  source: 'folder' | 'hub' | 'cache';
  /** The snapshot's commit, for a hub id. */
  commit?: string;
}

export { FALLBACK_TOKENIZER_REPO } from '../util/model-repo.js';

/**
 * A model spec that names a local folder which does not exist. `path` is the absolute path the
 * spec names, for a caller that wants to suggest a nearby folder.
 */
export class ModelFolderNotFoundError extends MambaError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ModelFolderNotFoundError';
  }
}

/**
 * Turns a `--model` argument into a local folder. An existing folder is used as it is, without
 * network. Otherwise the spec is a hub id, `org/name` or `org/name@revision`: config.json, one set
 * of weights and the tokenizer files are downloaded into the hub cache (shared with the Python
 * client), reusing what is there. Offline, or when the hub cannot be reached, the cached snapshot
 * is used if it is complete.
 *
 * A spec that cannot be a hub id (`./runs/mb`, `/data/mb`, `mb`, `runs/a/b`) names a folder, and
 * a ModelFolderNotFoundError says that it does not exist. `runs/mb` could be either: it is tried
 * as a hub id, and when that fails while a folder `runs/` exists here, it is reported as a missing
 * folder (with the hub's answer), since a mistyped path is then the likelier reading.
 */
export async function resolveModel(spec: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? hubCacheDir(env);
  if (isFolder(spec)) {
    const folder = resolve(spec);
    return {
      folder,
      tokenizerFolder: hasTokenizer(folder) ? folder : (cachedTokenizer(cacheDir) ?? folder),
      source: 'folder',
    };
  }
  if (existsSync(spec))
    throw new MambaError(`${spec} is a file; --model takes a model folder or a hub id such as state-spaces/mamba-130m`);
  const match = HUB_ID.exec(spec);
  if (!match) {
    throw new ModelFolderNotFoundError(
      /^[.~/\\]/.test(spec)
        ? `${spec}: no such folder (${whatExists(spec)})`
        : `'${spec}' is neither a folder (${whatExists(spec)}) nor a Hugging Face model id (owner/name, optionally @revision)`,
      resolve(spec),
    );
  }
  const repo = match[1]!;
  try {
    return await resolveHubModel(repo, match[2], options, env, cacheDir);
  } catch (error) {
    const owner = repo.split('/')[0]!;
    if (!(error instanceof MambaError) || !isFolder(owner)) throw error;
    throw new ModelFolderNotFoundError(
      `'${spec}' is neither a folder (${whatExists(spec)}) nor a model on the Hugging Face hub (${error.message}); ` +
        'an owner/name is a local folder when one exists, else a hub id',
      resolve(spec),
    );
  }
}

/** What there is of a path that does not exist: its parent without the entry, or the deepest part that exists. */
function whatExists(spec: string): string {
  const path = resolve(spec);
  let ancestor = dirname(path);
  if (isFolder(ancestor)) return `${ancestor} has no ${basename(path)}`;
  while (!isFolder(ancestor) && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
  return `${path} does not exist; the deepest part of it that does is ${ancestor}`;
}

/** A hub id's snapshot in the cache, downloading what is missing unless offline. */
async function resolveHubModel(
  repo: string,
  specRevision: string | undefined,
  options: ResolveModelOptions,
  env: Env,
  cacheDir: string,
): Promise<ResolvedModel> {
  if (specRevision !== undefined && options.revision !== undefined && specRevision !== options.revision) {
    throw new MambaError(
      `'${repo}@${specRevision}' names revision ${specRevision} but the revision option says ${options.revision}; give only one`,
    );
  }
  const revision = specRevision ?? options.revision ?? 'main';
  const progress = options.progress === undefined ? process.stderr : options.progress;
  const offline = options.offline ?? isTrue(env['HF_HUB_OFFLINE']);
  const cache = new RepoCache(cacheDir, repo);

  if (offline)
    return fromCache(cache, revision, cacheDir, 'HF_HUB_OFFLINE is set; unset it to download the model once');
  const client = new HubClient({
    endpoint: options.hubUrl ?? env['HF_ENDPOINT'] ?? DEFAULT_HUB_ENDPOINT,
    token: options.token ?? readToken(env),
    timeoutMs: (Number(env['HF_HUB_ETAG_TIMEOUT']) || 10) * 1000,
    progress,
  });
  try {
    const commit = await syncRepo(client, cache, revision, chooseModelFiles);
    const folder = cache.snapshot(commit);
    if (hasTokenizer(folder)) return { folder, tokenizerFolder: folder, source: 'hub', commit };
    const tokenizerCache = new RepoCache(cacheDir, FALLBACK_TOKENIZER_REPO);
    const tokenizerCommit = await syncRepo(client, tokenizerCache, 'main', chooseTokenizerFiles);
    return { folder, tokenizerFolder: tokenizerCache.snapshot(tokenizerCommit), source: 'hub', commit };
  } catch (error) {
    if (!(error instanceof HubUnreachableError)) throw error;
    const why = `the machine is offline or the hub is unavailable (${error.message})`;
    const result = await fromCache(
      cache,
      revision,
      cacheDir,
      `${why}; connect to the internet to download the model once`,
    );
    progress?.write(`${why}; using the cached snapshot of ${cache.repo}\n`);
    return result;
  }
}

/** The cached snapshot of `revision`, if it holds everything the model needs; `why` says why the hub is not asked. */
async function fromCache(cache: RepoCache, revision: string, cacheDir: string, why: string): Promise<ResolvedModel> {
  const notCached = (detail: string) =>
    new MambaError(
      `model '${cache.repo}' (revision ${revision}) is not in the cache ${cacheDir}${detail}, and it cannot be downloaded: ${why}, or pass a local model folder`,
    );
  const commit = cache.commitFor(revision);
  if (commit === undefined || !isFolder(cache.snapshot(commit))) throw notCached('');
  const folder = cache.snapshot(commit);
  try {
    await chooseModelFiles(cache.repo, listFiles(folder), async (path) => join(folder, path));
  } catch (error) {
    if (error instanceof MambaError) throw notCached(` completely (${error.message})`);
    throw error;
  }
  return {
    folder,
    tokenizerFolder: hasTokenizer(folder) ? folder : (cachedTokenizer(cacheDir) ?? folder),
    source: 'cache',
    commit,
  };
}

/**
 * Picks the files to fetch from what the repository holds and fetches them with `fetch`, which
 * returns the fetched file's local path. The same choice run over a cached snapshot's files
 * checks that the snapshot is complete.
 */
type Chooser = (repo: string, listed: ReadonlySet<string>, fetch: (path: string) => Promise<string>) => Promise<void>;

const chooseModelFiles: Chooser = async (repo, listed, fetch) => {
  if (!listed.has('config.json'))
    throw new MambaError(`'${repo}' has no config.json, so it is not a model this library can load`);
  await fetch('config.json');
  const weights = WEIGHT_FILES.find((name) => listed.has(name));
  if (weights === undefined) throw new MambaError(`'${repo}' has no weights (${WEIGHT_FILES.join(', ')})`);
  const local = await fetch(weights);
  if (weights.endsWith('.index.json')) {
    for (const shard of shardNames(weights, local)) {
      if (!listed.has(shard)) throw new MambaError(`'${repo}' lacks ${shard}, which ${weights} lists`);
      await fetch(shard);
    }
  }
  for (const name of TOKENIZER_FILES) if (listed.has(name)) await fetch(name);
};

const chooseTokenizerFiles: Chooser = async (repo, listed, fetch) => {
  if (!listed.has('tokenizer.json')) throw new MambaError(`'${repo}' has no tokenizer.json`);
  for (const name of TOKENIZER_FILES) if (listed.has(name)) await fetch(name);
};

/** Brings the chosen files of `revision` into the cache; returns the snapshot's commit. */
async function syncRepo(client: HubClient, cache: RepoCache, revision: string, choose: Chooser): Promise<string> {
  const { commit, files } = await client.revision(cache.repo, revision);
  cache.writeRef(revision, commit);
  await choose(cache.repo, new Set(files), async (path) => {
    checkRelativePath(cache.repo, path);
    if (!cache.has(commit, path)) {
      const file = await client.metadata(cache.repo, commit, path);
      if (!/^[\w.-]+$/.test(file.etag))
        throw new MambaError(`the hub sent an unusable ETag for ${cache.repo}/${path}: ${file.etag}`);
      const blob = cache.blob(file.etag);
      if (!existsSync(blob)) {
        mkdirSync(dirname(blob), { recursive: true });
        await client.download(file, blob, `${cache.repo}/${path}`);
      }
      cache.link(commit, path, file.etag);
    }
    return join(cache.snapshot(commit), path);
  });
  return commit;
}

/** The shard files a `*.index.json` maps tensors to, named relative to the repository root. */
function shardNames(name: string, path: string): string[] {
  const index = parseJson(readFileSync(path, 'utf8'), name) as { weight_map?: unknown } | null;
  const map = index?.weight_map;
  if (typeof map !== 'object' || map === null) throw new MambaError(`${name} has no weight_map`);
  const shards = [...new Set(Object.values(map))];
  if (!shards.every((s): s is string => typeof s === 'string'))
    throw new MambaError(`${name} maps a tensor to something that is not a file name`);
  return shards;
}

/** Paths come from the repository; one that climbs out of the snapshot is refused. */
function checkRelativePath(repo: string, path: string): void {
  if (path.startsWith('/') || path.includes('\\') || path.split('/').some((part) => part === '..' || part === '')) {
    throw new MambaError(`'${repo}' names a file outside its folder: ${path}`);
  }
}

function cachedTokenizer(cacheDir: string): string | undefined {
  const cache = new RepoCache(cacheDir, FALLBACK_TOKENIZER_REPO);
  const commit = cache.commitFor('main');
  return commit !== undefined && cache.has(commit, 'tokenizer.json') ? cache.snapshot(commit) : undefined;
}

function listFiles(folder: string): Set<string> {
  const files = new Set<string>();
  for (const entry of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    // statSync follows the snapshot's symlinks: a link whose blob is gone does not count.
    const isFile = (() => {
      try {
        return statSync(join(folder, entry)).isFile();
      } catch {
        return false;
      }
    })();
    if (isFile) files.add(entry.split(sep).join('/'));
  }
  return files;
}

function hasTokenizer(folder: string): boolean {
  return existsSync(join(folder, 'tokenizer.json'));
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isTrue(value: string | undefined): boolean {
  return ['1', 'true', 'yes', 'on'].includes((value ?? '').trim().toLowerCase());
}

/** $HF_TOKEN, else the file at $HF_TOKEN_PATH or $HF_HOME/token, as the Python client reads it. */
function readToken(env: Env): string | undefined {
  if (env['HF_TOKEN']) return env['HF_TOKEN'];
  const path = env['HF_TOKEN_PATH'] || join(hfHome(env), 'token');
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
