import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

describe('command line', () => {
  it('prints help and the version', () => {
    const help = cli('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: mamba-ts <command>/);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    assert.equal(cli('--version').stdout.trim(), pkg.version);
    assert.match(cli('demo', '--help').stdout, /usage: mamba-ts demo/);
  });

  it('rejects bad use with one clear line, the usage and no stack trace', () => {
    for (const args of [
      ['frobnicate'],
      ['demo', '--epochs', 'zero'],
      ['demo', '--nope'],
      ['data', 'install', 'nothing-here'],
      ['data', 'install', 'digits', 'nothing-here'],
      ['data'],
      ['train', 'constructor'],
    ]) {
      const r = cli(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stdout, '', 'nothing is done before the usage is checked');
      assert.match(r.stderr, /^mamba-ts: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('suggests the command, option or name meant', () => {
    const cases: [string[], string][] = [
      [['generat'], "unknown command 'generat'; did you mean 'generate'?"],
      [['help', 'clasify'], "unknown command 'clasify'; did you mean 'classify'?"],
      [['--verison'], "unknown option '--verison'; did you mean '--version'?"],
      [['generate', '--temprature', '0.7'], "unknown option '--temprature'; did you mean '--temperature'?"],
      [['eval', '--ids-flie=ids.txt'], "unknown option '--ids-flie'; did you mean '--ids-file'?"],
      [
        ['train', 'mambabite'],
        "unknown model 'mambabite' to train; available: mambabyte, moe-mamba, vim, vit, umamba, unet; did you mean 'mambabyte'?",
      ],
      [
        ['train', 'vim', '--out', 'x', '--preset', 'vim-mnst'],
        "--preset must be vim-ti, vim-s, vim-b, vim-mnist or vim-digits, got 'vim-mnst'; did you mean 'vim-mnist'?",
      ],
      [
        ['train', 'umamba', '--out', 'x', '--dataset', 'mricron', '--variant', 'enk'],
        "--variant must be bot or enc, got 'enk'; did you mean 'enc'?",
      ],
      [
        ['data', 'install', 'mnsit'],
        "unknown data set 'mnsit'; available: digits, mnist, sotu, moby-dick, brown, mricron (or all); did you mean 'mnist'?",
      ],
      [['data', 'instal', 'mnist'], "unknown data action 'instal'; did you mean 'install'?"],
      [
        ['generate', '--model', 'x', '--prompt-ids', '1', '--backend', 'wsam'],
        "--backend must be wasm or reference, got 'wsam'; did you mean 'wasm'?",
      ],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr.split('\n')[0], `mamba-ts: ${message}`);
    }
    assert.equal(cli('frobnicate').stderr.split('\n')[0], "mamba-ts: unknown command 'frobnicate'");
  });

  it('demo --json trains and reports', () => {
    const r = cli('demo', '--epochs', '3', '--json');
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.ok(result.testAccuracy > 0.9);
  });

  it('an error of the environment that no command explained is still one line with the path, not an internal error', () => {
    // A stub of node:fs in the CLI's process: reading package.json (for --version) fails as a disk would.
    const stub = (code: string) =>
      [
        "import fs from 'node:fs';",
        "import { syncBuiltinESMExports } from 'node:module';",
        'const read = fs.readFileSync;',
        'fs.readFileSync = (path, ...rest) => {',
        "  if (!String(path).endsWith('package.json')) return read(path, ...rest);",
        `  throw Object.assign(new Error('${code}: stub, open ' + path), { code: '${code}', syscall: 'open', path: String(path) });`,
        '};',
        'syncBuiltinESMExports();',
      ].join('\n');
    const run = (code: string) =>
      spawnSync(
        process.execPath,
        ['--import', `data:text/javascript,${encodeURIComponent(stub(code))}`, main, '--version'],
        {
          encoding: 'utf8',
        },
      );
    for (const [code, message] of [
      [
        'EACCES',
        /^mamba-ts: permission denied for .*package\.json: change its permissions or owner, or use another path\n$/,
      ],
      [
        'EIO',
        /^mamba-ts: open on .*package\.json failed: EIO: stub, open .*; check the path, the device and the permissions, or use another path\n$/,
      ],
    ] as const) {
      const r = run(code);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
    }
  });

  it('a folder where an IDX file belongs is one line naming it', () => {
    const root = mkdtempSync(join(tmpdir(), 'mamba-ts-idx-folders-'));
    try {
      const names = [
        'train-images-idx3-ubyte',
        'train-labels-idx1-ubyte',
        't10k-images-idx3-ubyte',
        't10k-labels-idx1-ubyte',
      ];
      for (const name of names) mkdirSync(join(root, name));
      const r = cli(
        'train',
        'vim',
        '--out',
        join(root, 'run'),
        '--dataset',
        `idx:${root}`,
        '--epochs',
        '1',
        '--threads',
        '1',
      );
      assert.equal(r.status, 1, r.stderr);
      assert.equal(
        r.stderr,
        `mamba-ts: ${join(root, names[0]!)} is a folder where a file is expected: give the path of a file, or move the folder away\n`,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
