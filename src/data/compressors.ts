import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { gzip } from 'node:zlib';
import { MambaError } from '../util/errors.js';

/**
 * How well classic compressors do on a text, in bits per byte (8 * compressed bytes / input
 * bytes): the baselines that a byte-level language model's validation loss, converted to bits per
 * byte, has to beat. Sizes include each format's headers and checksums, as the files would have.
 */

interface Common {
  /** The compressor and level, e.g. "xz -9e". */
  name: string;
  inputBytes: number;
}

export type CompressorResult =
  | (Common & { available: true; version: string; compressedBytes: number; bitsPerByte: number })
  | (Common & { available: false; reason: string });

/** Paths or names of the command-line tools; the defaults are looked up on PATH. */
export interface CompressorTools {
  xz?: string;
  zstd?: string;
}

interface Outcome {
  ok: boolean;
  stdoutBytes: number;
  stdout: string;
  detail: string;
}

/** Runs a tool with `input` on stdin and counts its output, never rejecting: a failure comes back as ok = false with the reason. */
function runTool(command: string, args: string[], input: Uint8Array | null): Promise<Outcome> {
  return new Promise((resolve) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ ok: false, stdoutBytes: 0, stdout: '', detail: (error as Error).message });
      return;
    }
    let stdoutBytes = 0;
    // Only the version query needs stdout's text; compressed output is merely counted.
    const keep: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (input === null) keep.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString('utf8');
    });
    // A tool that dies early closes its stdin; its exit status tells the story, not the EPIPE.
    child.stdin.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) => {
      const detail = error.code === 'ENOENT' ? `${command} was not found on PATH` : error.message;
      resolve({ ok: false, stdoutBytes, stdout: '', detail });
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ ok: true, stdoutBytes, stdout: Buffer.concat(keep).toString('utf8'), detail: '' });
      else
        resolve({
          ok: false,
          stdoutBytes,
          stdout: '',
          detail: `${command} ${code === null ? `was killed by ${signal}` : `exited with status ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`,
        });
    });
    child.stdin.end(input ?? undefined);
  });
}

const INSTALL_HINT = 'install it with scripts/ensure-compressors.sh (Debian packages xz-utils and zstd)';

async function measureTool(
  name: string,
  command: string,
  args: string[],
  versionPattern: RegExp,
  bytes: Uint8Array,
): Promise<CompressorResult> {
  const version = await runTool(command, ['--version'], null);
  if (!version.ok)
    return { name, inputBytes: bytes.length, available: false, reason: `${version.detail}; ${INSTALL_HINT}` };
  const run = await runTool(command, args, bytes);
  if (!run.ok) return { name, inputBytes: bytes.length, available: false, reason: run.detail };
  return {
    name,
    inputBytes: bytes.length,
    available: true,
    version: versionPattern.exec(version.stdout)?.[1] ?? version.stdout.trim().split('\n')[0]!,
    compressedBytes: run.stdoutBytes,
    bitsPerByte: (8 * run.stdoutBytes) / bytes.length,
  };
}

async function measureGzip(bytes: Uint8Array): Promise<CompressorResult> {
  const compressed = await new Promise<Buffer>((resolve, reject) =>
    gzip(bytes, { level: 9 }, (error, out) => (error ? reject(error) : resolve(out))),
  );
  return {
    name: 'gzip -9',
    inputBytes: bytes.length,
    available: true,
    version: `node:zlib ${process.versions.zlib}`,
    compressedBytes: compressed.length,
    bitsPerByte: (8 * compressed.length) / bytes.length,
  };
}

/**
 * gzip -9 (node:zlib), xz -9e and zstd -19 on the same bytes, run concurrently. xz and zstd are the
 * command-line tools, fed on stdin and held to one thread so that their output does not depend on
 * the machine; a missing or failing tool comes back as unavailable with the reason.
 */
export async function measureCompressors(bytes: Uint8Array, tools: CompressorTools = {}): Promise<CompressorResult[]> {
  if (bytes.length === 0) throw new MambaError('measureCompressors: the input is empty, so it has no bits per byte');
  return Promise.all([
    measureGzip(bytes),
    measureTool(
      'xz -9e',
      tools.xz ?? 'xz',
      ['-9e', '--threads=1', '--stdout', '--quiet'],
      /xz \(XZ Utils\) (\S+)/,
      bytes,
    ),
    measureTool(
      'zstd -19',
      tools.zstd ?? 'zstd',
      ['-19', '--single-thread', '--stdout', '--quiet'],
      /v(\d+\.\d+\.\d+)/,
      bytes,
    ),
  ]);
}

/** "xz -9e 2.31 bits/byte", or "xz -9e unavailable", for tables and plot reference lines. */
export function compressorLabel(r: CompressorResult): string {
  return r.available ? `${r.name} ${r.bitsPerByte.toFixed(2)} bits/byte` : `${r.name} unavailable`;
}
