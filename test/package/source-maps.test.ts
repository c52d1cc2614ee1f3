import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { after, describe, it } from 'node:test';
import { pack, repoRoot } from './packed-package.js';

// A stack trace or a debugger in a user's project maps the package's JavaScript back to its
// TypeScript through the .js.map files, which must then find that TypeScript in the tarball:
// the sources themselves are not shipped, so each map carries them (tsconfig inlineSources).

describe('the source maps of the packed package', () => {
  const { tarball, files } = pack();
  after(() => rmSync(dirname(tarball), { recursive: true, force: true }));
  const text = (path: string) => new TextDecoder().decode(files.get(path));

  it('holds the built library, its scripts and README, and no tests or sources', () => {
    const stray = [...files.keys()].filter(
      (path) => !/^(dist\/src\/|scripts\/)/.test(path) && !['package.json', 'README.md'].includes(path),
    );
    assert.deepEqual(stray, []);
    assert.deepEqual(
      [...files.keys()].filter(
        (path) => path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.startsWith('scripts/'),
      ),
      [],
    );
  });

  it('every .js names a map that is in the tarball', () => {
    const scripts = [...files.keys()].filter((path) => path.endsWith('.js'));
    assert.ok(scripts.length > 50, `${scripts.length} scripts`);
    for (const path of scripts.filter((p) => p.startsWith('dist/'))) {
      const url = /\n\/\/# sourceMappingURL=(\S+)\s*$/.exec(text(path))?.[1];
      assert.ok(url, `${path} names no source map`);
      assert.ok(files.has(posix.join(posix.dirname(path), url)), `${path} names ${url}, which is not in the tarball`);
    }
  });

  it('every map carries the TypeScript it points at, as it is in the repository', () => {
    const maps = [...files.keys()].filter((path) => path.endsWith('.map'));
    assert.ok(maps.length > 50, `${maps.length} maps`);
    for (const path of maps) {
      const map = JSON.parse(text(path)) as { version: number; sources: string[]; sourcesContent?: (string | null)[] };
      assert.equal(map.version, 3, path);
      map.sources.forEach((source, i) => {
        const target = posix.join(posix.dirname(path), source);
        if (files.has(target)) return;
        const content = map.sourcesContent?.[i];
        assert.equal(typeof content, 'string', `${path}: ${source} is neither in the tarball nor inlined`);
        assert.equal(content, readFileSync(join(repoRoot, target), 'utf8'), `${path}: the inlined ${source} is stale`);
      });
    }
  });
});
