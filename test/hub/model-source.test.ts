import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { scanCacheDir } from '@huggingface/hub';
import { ModelFolderNotFoundError, resolveModel, type ResolveModelOptions } from '../../src/hub/model-source.js';
import { loadTokenizer } from '../../src/io/tokenizer.js';
import { MambaError } from '../../src/util/errors.js';
import { FileSystemError } from '../../src/util/fs-errors.js';
import { mountTmpfs, NO_TMPFS } from '../util/tmpfs.js';

interface RepoFile {
  data: Buffer;
  /** Stored in Git LFS: the hub redirects to its CDN and names the content by sha256. */
  lfs?: boolean;
}

interface Repo {
  commit: string;
  files: Record<string, RepoFile>;
  tags?: string[];
  /** Answers only requests carrying this bearer token, like a private repository. */
  token?: string;
  /** The CDN serves other bytes than the ones the etag names. */
  corrupt?: boolean;
}

const gitSha1 = (data: Buffer) => createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const etagOf = (file: RepoFile) => (file.lfs ? sha256(file.data) : gitSha1(file.data));
const commitHash = (seed: string) => createHash('sha1').update(seed).digest('hex');

/**
 * A local stand-in for huggingface.co that answers the requests of the hub protocol the way the
 * hub does (status codes, X-Error-Code, X-Repo-Commit, ETag / X-Linked-Etag / X-Linked-Size),
 * including its two kinds of redirect: to a same-host cached-file route for git files, and to a
 * CDN on another origin for LFS files.
 */
class FakeHub {
  readonly requests: string[] = [];
  readonly cdnRequests: { path: string; authorization: string | undefined }[] = [];
  url = '';
  private cdnUrl = '';
  private readonly hub: Server;
  private readonly cdn: Server;

  constructor(private readonly repos: Record<string, Repo>) {
    this.hub = createServer((req, res) => this.serveHub(req, res));
    this.cdn = createServer((req, res) => this.serveCdn(req, res));
  }

  async start(): Promise<this> {
    this.url = await listen(this.hub);
    this.cdnUrl = await listen(this.cdn);
    return this;
  }

  async stop(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push(`${req.method} ${url.pathname}`);
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const cached = /^\/api\/resolve-cache\/models\/([^/]+\/[^/]+)\/([^/]+)\/(.+)$/.exec(url.pathname);
    const match = info ?? resolve ?? cached;
    if (!match) return end(res, 404, {}, 'no such route');
    const repo = this.repos[match[1]!];
    // The hub answers 401 rather than 404 for a repository it will not show, so as not to
    // reveal whether a private one exists.
    if (!repo || (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`)) {
      return end(
        res,
        401,
        { 'X-Error-Code': 'RepoNotFound', 'Content-Type': 'application/json' },
        '{"error":"Repository not found"}',
      );
    }
    const revision = decodeURIComponent(match[2]!);
    if (![repo.commit, 'main', ...(repo.tags ?? [])].includes(revision)) {
      return end(
        res,
        404,
        { 'X-Error-Code': 'RevisionNotFound', 'Content-Type': 'application/json' },
        `{"error":"Invalid rev id: ${revision}"}`,
      );
    }
    if (info) {
      const body = JSON.stringify({
        _id: 'x',
        id: match[1],
        sha: repo.commit,
        siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })),
      });
      return end(res, 200, { 'Content-Type': 'application/json' }, body);
    }
    const path = match[3]!.split('/').map(decodeURIComponent).join('/');
    const file = repo.files[path];
    if (!file) return end(res, 404, { 'X-Error-Code': 'EntryNotFound', 'X-Error-Message': 'Entry not found' }, '');
    const common = { 'X-Repo-Commit': repo.commit };
    if (file.lfs) {
      return end(
        res,
        302,
        {
          ...common,
          Location: `${this.cdnUrl}/repos/${sha256(file.data)}?expires=soon`,
          'X-Linked-Etag': `"${sha256(file.data)}"`,
          'X-Linked-Size': String(file.data.length),
          ETag: '"not-the-content-hash"',
        },
        '',
      );
    }
    if (resolve) {
      return end(
        res,
        307,
        { ...common, Location: `/api/resolve-cache/models/${match[1]}/${repo.commit}/${match[3]}` },
        '',
      );
    }
    end(
      res,
      200,
      { ...common, ETag: `"${gitSha1(file.data)}"`, 'Content-Length': String(file.data.length) },
      req.method === 'HEAD' ? '' : file.data,
    );
  }

  private serveCdn(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.cdnUrl);
    this.cdnRequests.push({ path: url.pathname, authorization: req.headers.authorization });
    for (const repo of Object.values(this.repos)) {
      for (const file of Object.values(repo.files)) {
        if (file.lfs && url.pathname === `/repos/${sha256(file.data)}`) {
          const data = repo.corrupt
            ? Buffer.concat([Buffer.from([file.data[0]! ^ 1]), file.data.subarray(1)])
            : file.data;
          return end(
            res,
            200,
            { 'Content-Length': String(data.length), ETag: '"s3-etag"' },
            req.method === 'HEAD' ? '' : data,
          );
        }
      }
    }
    end(res, 404, {}, '');
  }
}

function end(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}

function listen(server: Server): Promise<string> {
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** Collects what resolveModel reports, as a non-terminal stderr would receive it. */
function collector(isTTY = false): { write(text: string): void; isTTY: boolean; text: string } {
  return {
    isTTY,
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

const tokenizerJson = gunzipSync(
  readFileSync(new URL('../../../test/fixtures/gpt-neox-20b/tokenizer.json.gz', import.meta.url)),
);
const json = (value: unknown) => ({ data: Buffer.from(JSON.stringify(value)) });
const config = json({ d_model: 8, n_layer: 1, vocab_size: 16 });

/** A transformers-layout repository such as state-spaces/mamba-130m-hf. */
const tiny = (): Repo => ({
  commit: commitHash('tiny'),
  tags: ['v1.0'],
  files: {
    '.gitattributes': { data: Buffer.from('*.safetensors filter=lfs\n') },
    'README.md': { data: Buffer.from('# tiny\n') },
    'config.json': config,
    'model.safetensors': { data: randomBytes(300_000), lfs: true },
    'pytorch_model.bin': { data: randomBytes(1000), lfs: true },
    'tokenizer.json': { data: tokenizerJson },
    'tokenizer_config.json': json({ eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' }),
  },
});

/** An original-layout repository such as state-spaces/mamba-130m: no tokenizer. */
const original = (): Repo => ({
  commit: commitHash('original'),
  files: { 'config.json': config, 'pytorch_model.bin': { data: randomBytes(5000), lfs: true } },
});

/** The repository original-layout models take their tokenizer from; its weights must stay on the hub. */
const neox = (): Repo => ({
  commit: commitHash('neox'),
  files: {
    'config.json': config,
    'pytorch_model-00001-of-00002.bin': { data: randomBytes(2000), lfs: true },
    'pytorch_model-00002-of-00002.bin': { data: randomBytes(2000), lfs: true },
    'pytorch_model.bin.index.json': json({
      weight_map: { a: 'pytorch_model-00001-of-00002.bin', b: 'pytorch_model-00002-of-00002.bin' },
    }),
    'tokenizer.json': { data: tokenizerJson },
    'special_tokens_map.json': json({ eos_token: '<|endoftext|>' }),
  },
});

const sharded = (): Repo => ({
  commit: commitHash('sharded'),
  files: {
    'config.json': config,
    'model.safetensors.index.json': json({
      metadata: {},
      weight_map: {
        a: 'model-00001-of-00002.safetensors',
        b: 'model-00002-of-00002.safetensors',
        c: 'model-00001-of-00002.safetensors',
      },
    }),
    'model-00001-of-00002.safetensors': { data: randomBytes(4000), lfs: true },
    'model-00002-of-00002.safetensors': { data: randomBytes(4000), lfs: true },
    'pytorch_model.bin': { data: randomBytes(1000), lfs: true },
    'tokenizer.json': { data: tokenizerJson },
  },
});

const scratch = mkdtempSync(join(tmpdir(), 'mamba-model-source-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const freshFolder = () => {
  const folder = join(scratch, `c${folders++}`);
  mkdirSync(folder);
  return folder;
};

/** Options that keep a test away from the real hub, the user's cache and the environment. */
function isolated(hub: FakeHub | string, extra: ResolveModelOptions = {}): ResolveModelOptions {
  return {
    hubUrl: typeof hub === 'string' ? hub : hub.url,
    cacheDir: freshFolder(),
    env: {},
    progress: null,
    ...extra,
  };
}

async function closedPort(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await new Promise((done) => server.close(done));
  return url;
}

const isMambaError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof MambaError, `expected a MambaError, got ${String(e)}`);
  assert.match(e.message, pattern);
  return true;
};

describe('resolveModel', () => {
  test('downloads a transformers-layout repo into the hub cache layout', async () => {
    const repo = tiny();
    const hub = await new FakeHub({ 'org/tiny': repo }).start();
    try {
      const progress = collector();
      const options = isolated(hub, { progress });
      const result = await resolveModel('org/tiny', options);
      const root = join(options.cacheDir!, 'models--org--tiny');
      assert.deepEqual(result, {
        folder: join(root, 'snapshots', repo.commit),
        tokenizerFolder: result.folder,
        source: 'hub',
        commit: repo.commit,
      });
      assert.deepEqual(readdirSync(result.folder).sort(), [
        'config.json',
        'model.safetensors',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      for (const name of readdirSync(result.folder)) {
        const file = repo.files[name]!;
        assert.deepEqual(readFileSync(join(result.folder, name)), file.data, name);
        assert.ok(lstatSync(join(result.folder, name)).isSymbolicLink());
        assert.equal(
          readlinkSync(join(result.folder, name)),
          join('..', '..', 'blobs', etagOf(file)),
          `${name} links to its blob by a relative path`,
        );
      }
      assert.equal(readFileSync(join(root, 'refs', 'main'), 'utf8'), repo.commit);
      assert.deepEqual(
        readdirSync(join(root, 'blobs')).sort(),
        ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']
          .map((n) => etagOf(repo.files[n]!))
          .sort(),
      );
      assert.equal(progress.text.trim().split('\n').length, 4, `one line per downloaded file:\n${progress.text}`);
      assert.match(progress.text, /org\/tiny\/model\.safetensors 300\.0 kB in \d+s \([\d.]+ [kMG]?B\/s\)\n/);
      assert.equal(loadTokenizer(result.tokenizerFolder).eosTokenId, 0);
      const scan = await scanCacheDir(options.cacheDir);
      assert.deepEqual(
        scan.repos.map((r) => ({
          name: r.id.name,
          revisions: r.revisions.map((v) => ({ commit: v.commitOid, refs: v.refs, files: v.files.length })),
        })),
        [{ name: 'org/tiny', revisions: [{ commit: repo.commit, refs: ['main'], files: 4 }] }],
        'the @huggingface/hub cache scanner reads the cache',
      );
    } finally {
      await hub.stop();
    }
  });

  test('reuses the cache: one request when online, none needed when the hub is gone', async () => {
    const repo = tiny();
    const hub = await new FakeHub({ 'org/tiny': repo }).start();
    const options = isolated(hub);
    const first = await resolveModel('org/tiny', options);
    try {
      const before = hub.requests.length;
      assert.deepEqual(await resolveModel('org/tiny', options), first);
      assert.deepEqual(
        hub.requests.slice(before),
        [`GET /api/models/org/tiny/revision/main`],
        'only the commit is checked',
      );
    } finally {
      await hub.stop();
    }

    const progress = collector();
    const offline = await resolveModel('org/tiny', { ...options, progress });
    assert.deepEqual(offline, { ...first, source: 'cache' });
    assert.match(progress.text, /cannot reach .*; using the cached snapshot of org\/tiny/);
    assert.deepEqual(await resolveModel('org/tiny', { ...options, env: { HF_HUB_OFFLINE: '1' } }), offline);
  });

  test('fetches the GPT-NeoX tokenizer for an original-layout repo', async () => {
    const repo = original();
    const tokenizerRepo = neox();
    const hub = await new FakeHub({
      'state-spaces/mamba-tiny': repo,
      'EleutherAI/gpt-neox-20b': tokenizerRepo,
    }).start();
    try {
      const options = isolated(hub);
      const result = await resolveModel('state-spaces/mamba-tiny', options);
      assert.deepEqual(readdirSync(result.folder).sort(), ['config.json', 'pytorch_model.bin']);
      assert.equal(
        result.tokenizerFolder,
        join(options.cacheDir!, 'models--EleutherAI--gpt-neox-20b', 'snapshots', tokenizerRepo.commit),
      );
      assert.deepEqual(readdirSync(result.tokenizerFolder).sort(), ['special_tokens_map.json', 'tokenizer.json']);
      assert.deepEqual(loadTokenizer(result.tokenizerFolder).encode('Hello, world!'), [12092, 13, 1533, 2]);
      await hub.stop();
      assert.deepEqual(await resolveModel('state-spaces/mamba-tiny', options), { ...result, source: 'cache' });
    } finally {
      await hub.stop();
    }
  });

  test('downloads every shard a safetensors index names, and only the preferred format', async () => {
    const repo = sharded();
    const hub = await new FakeHub({ 'org/sharded': repo }).start();
    const options = isolated(hub);
    const result = await resolveModel('org/sharded', options).finally(() => hub.stop());
    assert.deepEqual(readdirSync(result.folder).sort(), [
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'tokenizer.json',
    ]);

    rmSync(
      join(options.cacheDir!, 'models--org--sharded', 'blobs', etagOf(repo.files['model-00002-of-00002.safetensors']!)),
    );
    await assert.rejects(
      resolveModel('org/sharded', options),
      isMambaError(
        /not in the cache .* completely \(.*model-00002-of-00002\.safetensors.*\), and it cannot be downloaded: the machine is offline/,
      ),
    );
  });

  test('follows a tag or a commit, writing a ref only for the tag', async () => {
    const repo = tiny();
    const hub = await new FakeHub({ 'org/tiny': repo }).start();
    try {
      const options = isolated(hub);
      const tagged = await resolveModel('org/tiny@v1.0', options);
      const refs = join(options.cacheDir!, 'models--org--tiny', 'refs');
      assert.deepEqual(readdirSync(refs), ['v1.0']);
      const pinned = await resolveModel('org/tiny', { ...options, revision: repo.commit });
      assert.equal(pinned.folder, tagged.folder);
      assert.deepEqual(readdirSync(refs), ['v1.0']);
      await assert.rejects(
        resolveModel('org/tiny@v1.0', { ...options, revision: 'main' }),
        isMambaError(/give only one/),
      );
    } finally {
      await hub.stop();
    }
  });

  test('reports an unknown repository or revision clearly', async () => {
    const hub = await new FakeHub({ 'org/tiny': tiny() }).start();
    try {
      await assert.rejects(
        resolveModel('org/missing', isolated(hub)),
        isMambaError(/model 'org\/missing' was not found on http:\/\/127\.0\.0\.1:\d+; check the id/),
      );
      await assert.rejects(
        resolveModel('org/tiny@nope', isolated(hub)),
        isMambaError(/revision 'nope' of 'org\/tiny' was not found/),
      );
      await assert.rejects(
        resolveModel('not a model', isolated(hub)),
        isMambaError(/'not a model' is neither a folder \(.* has no not a model\) nor a Hugging Face model id/),
      );
    } finally {
      await hub.stop();
    }
  });

  test('uses an existing folder as it is, without network', async () => {
    const hub = await new FakeHub({}).start();
    try {
      const folder = freshFolder();
      writeFileSync(join(folder, 'config.json'), '{}');
      const result = await resolveModel(folder, isolated(hub));
      assert.deepEqual(result, { folder, tokenizerFolder: folder, source: 'folder' });
      assert.deepEqual(readdirSync(folder), ['config.json']);
      assert.deepEqual(hub.requests, []);
      assert.throws(() => loadTokenizer(result.tokenizerFolder), isMambaError(/no tokenizer\.json/));
      await assert.rejects(resolveModel(join(folder, 'config.json'), isolated(hub)), isMambaError(/is a file/));
    } finally {
      await hub.stop();
    }
  });

  test('a spec that can only be a path, and is not there, is a missing folder', async () => {
    const hub = await new FakeHub({}).start();
    try {
      const folder = freshFolder();
      mkdirSync(join(folder, 'runs'));
      const missing = async (spec: string, pattern: RegExp) => {
        const error = await resolveModel(spec, isolated(hub)).then(
          () => assert.fail(`${spec} resolved`),
          (e: unknown) => e,
        );
        assert.ok(error instanceof ModelFolderNotFoundError, String(error));
        assert.match(error.message, pattern);
        return error;
      };
      const dotted = await missing(
        join(folder, 'runs', 'mbb'),
        new RegExp(`^${join(folder, 'runs', 'mbb')}: no such folder \\(${join(folder, 'runs')} has no mbb\\)$`),
      );
      assert.equal(dotted.path, join(folder, 'runs', 'mbb'));
      await missing(
        join(folder, 'a', 'b', 'c'),
        new RegExp(`${join(folder, 'a', 'b', 'c')} does not exist; the deepest part of it that does is ${folder}\\)$`),
      );
      await missing('./nowhere-here/mb', /^\.\/nowhere-here\/mb: no such folder/);
      await missing('a/b/c', /^'a\/b\/c' is neither a folder .* nor a Hugging Face model id/);
      assert.deepEqual(hub.requests, [], 'a path is never asked of the hub');
    } finally {
      await hub.stop();
    }
  });

  test('owner/name is a hub id, or a missing folder when owner/ is a folder here and the hub has no such model', async () => {
    const repo = tiny();
    const hub = await new FakeHub({ 'runs/tiny': repo }).start();
    const here = process.cwd();
    const folder = freshFolder();
    mkdirSync(join(folder, 'runs'));
    process.chdir(folder);
    try {
      const options = isolated(hub);
      assert.equal((await resolveModel('runs/tiny', options)).commit, repo.commit, 'the hub has it: a hub id');
      await assert.rejects(resolveModel('runs/mbb', options), (e: unknown) => {
        assert.ok(e instanceof ModelFolderNotFoundError, String(e));
        assert.match(
          e.message,
          /^'runs\/mbb' is neither a folder \(.*runs has no mbb\) nor a model on the Hugging Face hub \(model 'runs\/mbb' was not found on http:.*\); an owner\/name is a local folder when one exists, else a hub id$/,
        );
        return true;
      });
      await assert.rejects(
        resolveModel('runs/mbb', { ...options, offline: true }),
        (e: unknown) => e instanceof ModelFolderNotFoundError && /HF_HUB_OFFLINE is set/.test(e.message),
      );
      await assert.rejects(
        resolveModel('org/missing', options),
        (e: unknown) => e instanceof MambaError && !(e instanceof ModelFolderNotFoundError),
        'without a folder org/ here, the hub answer stands',
      );
    } finally {
      process.chdir(here);
      await hub.stop();
    }
  });

  test('points a local folder without tokenizer at the cached GPT-NeoX tokenizer', async () => {
    const hub = await new FakeHub({ 'state-spaces/mamba-tiny': original(), 'EleutherAI/gpt-neox-20b': neox() }).start();
    const options = isolated(hub);
    const downloaded = await resolveModel('state-spaces/mamba-tiny', options).finally(() => hub.stop());
    const folder = freshFolder();
    writeFileSync(join(folder, 'config.json'), '{}');
    assert.equal((await resolveModel(folder, options)).tokenizerFolder, downloaded.tokenizerFolder);
  });

  test('offline and not cached is a clear error', async () => {
    await assert.rejects(
      resolveModel('org/tiny', isolated(await closedPort())),
      isMambaError(
        /model 'org\/tiny' \(revision main\) is not in the cache .*, and it cannot be downloaded: the machine is offline or the hub is unavailable \(cannot reach .*\); connect to the internet/,
      ),
    );
    const hub = await new FakeHub({ 'org/tiny': tiny() }).start();
    try {
      await assert.rejects(
        resolveModel('org/tiny', isolated(hub, { env: { HF_HUB_OFFLINE: 'true' } })),
        isMambaError(/not in the cache .*, and it cannot be downloaded: HF_HUB_OFFLINE is set; unset it/),
      );
      assert.deepEqual(hub.requests, []);
    } finally {
      await hub.stop();
    }
  });

  test('reads HF_HOME, HF_ENDPOINT and HF_TOKEN from the environment', async () => {
    const repo = { ...tiny(), token: 'hf_secret' };
    const hub = await new FakeHub({ 'org/private': repo }).start();
    try {
      const home = freshFolder();
      const env = { HF_HOME: home, HF_ENDPOINT: hub.url };
      await assert.rejects(resolveModel('org/private', { env, progress: null }), isMambaError(/not found.*HF_TOKEN/));
      const result = await resolveModel('org/private', { env: { ...env, HF_TOKEN: 'hf_secret' }, progress: null });
      assert.equal(result.folder, join(home, 'hub', 'models--org--private', 'snapshots', repo.commit));
      assert.ok(
        hub.cdnRequests.length > 0 && hub.cdnRequests.every((r) => r.authorization === undefined),
        'the token is not sent to the CDN',
      );
      writeFileSync(join(home, 'token'), 'hf_secret\n');
      rmSync(join(home, 'hub'), { recursive: true });
      assert.equal(
        (await resolveModel('org/private', { env, progress: null })).folder,
        result.folder,
        'the token file from `hf auth login` is read',
      );
    } finally {
      await hub.stop();
    }
  });

  test('refuses a download whose bytes do not match the checksum, leaving nothing behind', async () => {
    const hub = await new FakeHub({ 'org/tiny': { ...tiny(), corrupt: true } }).start();
    try {
      const options = isolated(hub);
      await assert.rejects(
        resolveModel('org/tiny', options),
        isMambaError(/org\/tiny\/model\.safetensors does not match its checksum/),
      );
      const blobs = readdirSync(join(options.cacheDir!, 'models--org--tiny', 'blobs'));
      assert.ok(
        blobs.every((name) => !name.endsWith('.incomplete')),
        blobs.join(', '),
      );
      assert.ok(
        !existsSync(join(options.cacheDir!, 'models--org--tiny', 'snapshots', tiny().commit, 'model.safetensors')),
      );
    } finally {
      await hub.stop();
    }
  });

  test('a full disk under the cache is said to be one, not a failed download to run again', async (t) => {
    const cacheDir = join(scratch, 'full-disk');
    const unmount = mountTmpfs(cacheDir, 'size=64k');
    if (!unmount) return t.skip(NO_TMPFS);
    const repo = tiny();
    const big = { ...repo, files: { ...repo.files, 'model.safetensors': { data: randomBytes(1 << 18), lfs: true } } };
    const hub = await new FakeHub({ 'org/big': big }).start();
    try {
      await assert.rejects(resolveModel('org/big', isolated(hub, { cacheDir })), (e: unknown) => {
        assert.ok(e instanceof FileSystemError, String(e));
        assert.match(e.message, /^no space left on the device holding .*full-disk\/.*: free some space/);
        return true;
      });
    } finally {
      await hub.stop();
      unmount();
    }
  });

  test('redraws one progress line in place on a terminal', async () => {
    const hub = await new FakeHub({ 'org/tiny': tiny() }).start();
    try {
      const progress = collector(true);
      await resolveModel('org/tiny', isolated(hub, { progress }));
      assert.match(
        progress.text,
        /^\rorg\/tiny\/config\.json \d+ B\/\d+ B \[=+\] [^\n]*\x1b\[K\rorg\/tiny\/config\.json \d+ B in \d+s \([^)\n]*\)\x1b\[K\n\r/,
      );
      assert.equal(progress.text.split('\n').length - 1, 4);
    } finally {
      await hub.stop();
    }
  });
});
