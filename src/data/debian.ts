import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MambaError } from '../util/errors.js';

function run(command: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (r.error) return { ok: false, output: r.error.message };
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * Downloads a Debian package with apt (no install, no root needed once the package lists exist;
 * as root it refreshes missing lists), unpacks it in a temporary folder and hands back the
 * bytes of the files asked for. The folder is removed afterwards.
 */
export function extractFromDebianPackage(pkg: string, version: string, files: string[]): Map<string, Uint8Array> {
  const work = mkdtempSync(join(tmpdir(), 'mamba-ts-deb-'));
  try {
    const attempt = () => run('apt-get', ['download', `${pkg}=${version}`], work);
    let r = attempt();
    if (
      !r.ok &&
      /Unable to locate|Can't select|Version .* was not found|No such file/i.test(r.output) &&
      process.getuid?.() === 0
    ) {
      process.stderr.write(`apt-get download ${pkg} failed; refreshing the package lists (apt-get update)\n`);
      run('apt-get', ['update'], work);
      r = attempt();
    }
    if (!r.ok) {
      throw new MambaError(
        `could not download the Debian package ${pkg}=${version} with apt-get (${r.output.split('\n').pop()}); ` +
          "this data set comes from Debian's archive, so it needs apt-get and access to a Debian mirror",
      );
    }
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new MambaError(`apt-get download ${pkg} produced no .deb file`);
    const x = run('dpkg-deb', ['-x', deb, 'root'], work);
    if (!x.ok) throw new MambaError(`could not unpack ${deb} with dpkg-deb: ${x.output}`);
    const out = new Map<string, Uint8Array>();
    for (const f of files) {
      try {
        out.set(f, readFileSync(join(work, 'root', f)));
      } catch {
        throw new MambaError(`the Debian package ${pkg}=${version} has no file ${f}`);
      }
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
