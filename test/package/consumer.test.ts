import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Generator, MambaLM, mambaConfig } from '../../src/index.js';
import { saveMambaLM } from '../../src/io/index.js';
import { packAndInstall, repoRoot } from './packed-package.js';

// The README's TypeScript, as a user of the published package meets it: every ```ts block of
// README.md becomes a file of a fresh project with the packed tarball installed
// (packed-package.ts); `tsc` checks them under a strict NodeNext config, and again with the
// "browser" export condition (the browser build's types); then node runs each block in that
// project's folder, where runs/start holds a tiny MambaByte (the folder `npm start` makes).
//
// A block that cannot run in Node (it needs a page, or the network) is still type-checked; mark
// it with this comment on the line before its opening fence:
//
//   <!-- test: typecheck-only -->

const TYPECHECK_ONLY = 'typecheck-only';
const MARKER = /^<!--\s*test:\s*(\S+)\s*-->$/;

interface ReadmeBlock {
  /** README.md line of the opening fence. */
  line: number;
  file: string;
  code: string;
  run: boolean;
}

function readmeBlocks(): ReadmeBlock[] {
  const lines = readFileSync(join(repoRoot, 'README.md'), 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `README.md line ${i + 1}: the ts block has no closing fence`);
    // The marker is the nearest line above the fence that is not blank (Prettier keeps a blank line between).
    const above = lines
      .slice(0, i)
      .reverse()
      .find((l) => l.trim() !== '');
    const marker = MARKER.exec(above?.trim() ?? '')?.[1];
    assert.ok(
      marker === undefined || marker === TYPECHECK_ONLY,
      `README.md line ${i}: unknown marker 'test: ${marker}'; the one known is '<!-- test: ${TYPECHECK_ONLY} -->'`,
    );
    const n = String(blocks.length + 1).padStart(2, '0');
    blocks.push({
      line: i + 1,
      file: `readme-${n}.ts`,
      code: lines.slice(i + 1, end).join('\n') + '\n',
      run: marker === undefined,
    });
    i = end;
  }
  return blocks;
}

// Each subpath entry alone, in a program of its own (so that no other entry's declarations help
// it): a model loaded through mamba-ts/io computes with the fluent methods on the wasm backend.
const ENTRIES_CHECK = `import { loadMambaLM } from 'mamba-ts/io';
import { bitsPerByte } from 'mamba-ts/train';
import { TEXT_CORPORA } from 'mamba-ts/data';
import { encodePng } from 'mamba-ts/formats';

const { model } = await loadMambaLM('runs/start');
const weight = model.parameters()[0]!;
const bpb = bitsPerByte(model, new TextEncoder().encode('hello'));
const png = encodePng({ width: 1, height: 1, data: new Uint8Array(4) });
console.log(JSON.stringify({ sum: weight.mul(0).sum().item(), backend: weight.backend.name, bpb, corpora: TEXT_CORPORA.length, png: png.length }));
`;

const COMPILER = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  types: ['node'],
  strict: true,
  skipLibCheck: false,
  outDir: 'out',
};

function tsc(consumer: string, config: string): void {
  const result = spawnSync(
    process.execPath,
    [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', join(consumer, config)],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, `tsc -p ${config}:\n${result.stdout}${result.stderr}`);
}

function runNode(consumer: string, script: string): string {
  const env = { ...process.env };
  delete env['MAMBA_TS_BACKEND'];
  const result = spawnSync(process.execPath, [join(consumer, script)], {
    cwd: consumer,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `node ${script} exited with ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

describe('the packed package in a TypeScript project', () => {
  const blocks = readmeBlocks();
  const legend = blocks.map((b) => `${b.file}: README.md line ${b.line}`).join('\n');
  let consumer = '';

  before(async () => {
    consumer = packAndInstall().consumer;
    for (const b of blocks) writeFileSync(join(consumer, b.file), b.code);
    writeFileSync(join(consumer, 'entries.ts'), ENTRIES_CHECK);
    const config = (include: string[], options: Record<string, unknown> = {}) =>
      JSON.stringify({ compilerOptions: { ...COMPILER, ...options }, include });
    writeFileSync(join(consumer, 'tsconfig.json'), config(['readme-*.ts']));
    writeFileSync(join(consumer, 'tsconfig.entries.json'), config(['entries.ts']));
    writeFileSync(
      join(consumer, 'tsconfig.browser.json'),
      // The libraries' declarations were checked by the first config already.
      config(['readme-*.ts'], { customConditions: ['browser'], noEmit: true, skipLibCheck: true }),
    );
    const model = new MambaLM(mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 256 }), {
      generator: new Generator(0),
    });
    await saveMambaLM(model, join(consumer, 'runs', 'start'));
    model.dispose();
  });
  after(() => rmSync(dirname(consumer), { recursive: true, force: true }));

  it('README.md has TypeScript blocks to check', () => assert.ok(blocks.length > 0));

  it("README's blocks type-check against the Node entries (strict, NodeNext)", () => {
    try {
      tsc(consumer, 'tsconfig.json');
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${legend}`);
    }
  });

  it("README's blocks type-check against the browser entry (customConditions: browser)", () => {
    try {
      tsc(consumer, 'tsconfig.browser.json');
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${legend}`);
    }
  });

  for (const block of blocks.filter((b) => b.run)) {
    it(`README.md line ${block.line}: the block runs in Node`, () => {
      runNode(consumer, join('out', block.file.replace(/\.ts$/, '.js')));
    });
  }

  it('each subpath entry type-checks and runs on its own, with the fluent methods and the wasm backend', () => {
    tsc(consumer, 'tsconfig.entries.json');
    const report = JSON.parse(runNode(consumer, join('out', 'entries.js'))) as Record<string, unknown>;
    assert.equal(report['sum'], 0);
    assert.equal(report['backend'], 'wasm');
    assert.ok(Number.isFinite(report['bpb']) && (report['bpb'] as number) > 0, `bits per byte ${report['bpb']}`);
    assert.equal(report['corpora'], 3);
    assert.ok((report['png'] as number) > 8);
  });
});
