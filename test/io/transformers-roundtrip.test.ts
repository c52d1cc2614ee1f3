import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as mt from '../../src/index.js';
import { loadMambaLM, saveMambaLM } from '../../src/io/index.js';
import { assertClose } from '../helpers.js';

// The round trip through transformers needs a Python with torch and transformers, which the project
// never installs: MAMBA_TS_PYTHON names one; otherwise python3 is tried, and without them the tests skip.
const source = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const helper = source('test/io/transformers_roundtrip.py');
const example = source('examples/pytorch/continue_training.py');
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const configured = process.env['MAMBA_TS_PYTHON'];
const python = configured || 'python3';
// Nothing may come from the hub during a test (the folders are all local); one thread suits these tiny models.
const pythonEnv = { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', OMP_NUM_THREADS: '1' };
// Finds the packages without importing them (importing torch takes seconds): prints which are there.
const findPackages = `
import importlib.metadata as m, importlib.util as u, json
found = {p: bool(u.find_spec(p)) for p in ('torch', 'transformers', 'accelerate')}
# MambaForCausalLM arrived in transformers 4.39.
found['transformers'] = found['transformers'] and tuple(map(int, m.version('transformers').split('.')[:2])) >= (4, 39)
print(json.dumps(found))`;
const probe = spawnSync(python, ['-c', findPackages], { encoding: 'utf8', env: pythonEnv });
const found = (probe.status === 0 ? JSON.parse(probe.stdout) : {}) as Record<string, boolean>;
const pythonReady = found['torch'] === true && found['transformers'] === true;
if (configured && !pythonReady) {
  const missing = ['torch', 'transformers >= 4.39'].filter((p) => !found[p.split(' ')[0]!]).join(' and ');
  const problem = probe.error ? `cannot be run (${probe.error.message})` : `lacks ${missing}`;
  throw new Error(`MAMBA_TS_PYTHON=${configured} ${problem}: pip install torch transformers there, or unset it`);
}
const skip = pythonReady
  ? false
  : 'needs a Python with torch and transformers: set MAMBA_TS_PYTHON=/path/to/venv/bin/python (python3 here lacks them)';

const scratch = mkdtempSync(join(tmpdir(), 'mamba-ts-transformers-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

type Step =
  | { op: 'logits'; model: string; ids: number[] }
  | { op: 'greedy'; model: string; ids: number[]; new: number }
  | { op: 'save'; model?: string; config?: Record<string, unknown>; noise: number; seed: number; out: string };

/** Runs the steps in one Python process (importing torch takes seconds) and returns their results. */
function transformers(steps: Step[]): unknown[] {
  const r = spawnSync(python, [helper], {
    input: JSON.stringify(steps),
    encoding: 'utf8',
    env: pythonEnv,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `${helper} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown[];
}

/** mamba-ts's logits [ids.length * vocab] for one sequence, from the folder as loadMambaLM reads it. */
async function ourLogits(folder: string, ids: number[]): Promise<Float32Array> {
  const { model } = await loadMambaLM(folder);
  const logits = mt.noGrad(() => model.forward(mt.fromArray(new Int32Array(ids), [1, ids.length], { dtype: 'int32' })));
  const values = logits.toArray() as Float32Array;
  logits.dispose();
  model.dispose();
  return values;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i]! - b[i]!));
  return most;
}

/** A few AdamW steps on random ids, so that the saved weights are trained ones, not the initialisation. */
function trainBriefly(model: mt.MambaLM, seed: number): void {
  const generator = new mt.Generator(seed);
  const optimizer = new mt.AdamW(model.parameters(), { lr: 1e-2 });
  for (let step = 0; step < 3; step++) {
    mt.scope(() => {
      const ids = Array.from({ length: 2 * 12 }, () => Math.floor(generator.uniform() * model.vocabSize));
      const batch = mt.fromArray(new Int32Array(ids), [2, 12], { dtype: 'int32' });
      const logits = model.forward(mt.slice(batch, 1, 0, -1));
      const loss = mt.crossEntropy(logits.reshape([-1, model.vocabSize]), mt.slice(batch, 1, 1).reshape([-1]));
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
    });
  }
}

const ids = [5, 17, 42, 3, 0, 29, 11, 49, 8, 23];

describe('the round trip through transformers (MambaForCausalLM)', () => {
  it(
    'models trained here load in transformers with the same logits (tied head; untied head with biases)',
    { skip },
    async () => {
      const variants = {
        tied: mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 50, dState: 4 }),
        untied: mt.mambaConfig({
          dModel: 16,
          nLayer: 2,
          vocabSize: 56,
          dState: 4,
          dConv: 3,
          dtRank: 3,
          tieEmbeddings: false,
          bias: true,
          convBias: false,
        }),
      };
      const folders: string[] = [];
      for (const [name, config] of Object.entries(variants)) {
        const model = new mt.MambaLM(config, { generator: new mt.Generator(folders.length + 1) });
        trainBriefly(model, 7);
        const folder = join(scratch, `ours-${name}`);
        await saveMambaLM(model, folder);
        model.dispose();
        folders.push(folder);
      }
      const theirs = transformers(folders.map((model) => ({ op: 'logits', model, ids }))) as number[][][];
      for (const [i, folder] of folders.entries()) {
        assertClose(await ourLogits(folder, ids), theirs[i]!.flat(), 1e-4, `${folder} logits`);
      }
    },
  );

  it(
    'models transformers saved load here with the same logits (changed from ours; built with unusual settings)',
    { skip },
    async () => {
      const ours = join(scratch, 'base');
      const model = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 64, dState: 4 }), {
        generator: new mt.Generator(3),
      });
      await saveMambaLM(model, ours);
      model.dispose();
      const changed = join(scratch, 'changed-by-torch');
      const built = join(scratch, 'built-by-torch');
      // A vocabulary that is no multiple of 8, another expand, a head of its own and biases.
      const unusual = {
        vocab_size: 61,
        hidden_size: 16,
        num_hidden_layers: 2,
        state_size: 5,
        conv_kernel: 3,
        expand: 3,
        time_step_rank: 3,
        layer_norm_epsilon: 1e-6,
        use_bias: true,
        use_conv_bias: false,
        tie_word_embeddings: false,
      };
      const [, , base, changedLogits, builtLogits] = transformers([
        { op: 'save', model: ours, noise: 0.05, seed: 1, out: changed },
        { op: 'save', config: unusual, noise: 0.05, seed: 2, out: built },
        { op: 'logits', model: ours, ids },
        { op: 'logits', model: changed, ids },
        { op: 'logits', model: built, ids: ids.map((id) => id % 61) },
      ]) as number[][][];
      const changedHere = await ourLogits(changed, ids);
      assertClose(changedHere, changedLogits!.flat(), 1e-4, 'changed model logits');
      assert.ok(maxDifference(changedHere, base!.flat()) > 1e-2, 'the change made in PyTorch reached mamba-ts');
      const { model: builtHere, config } = await loadMambaLM(built);
      assert.deepEqual(
        [
          config.vocabSize,
          config.dInner,
          config.dState,
          config.dConv,
          config.dtRank,
          config.tieEmbeddings,
          config.bias,
        ],
        [61, 48, 5, 3, 3, false, true],
      );
      builtHere.dispose();
      assertClose(
        await ourLogits(
          built,
          ids.map((id) => id % 61),
        ),
        builtLogits!.flat(),
        1e-4,
        'built model logits',
      );
    },
  );

  it(
    'examples/pytorch continues a `train mambabyte` run (bytes) and a tokenizer model, and both come back to `mamba-ts generate`',
    { skip },
    async () => {
      const text = join(scratch, 'text.txt');
      writeFileSync(text, 'It was the best of times, it was the worst of times. '.repeat(100));
      const bytes = join(scratch, 'mambabyte');
      const tiny = ['--d-model', '16', '--n-layer', '1', '--d-state', '4', '--seq-len', '16', '--batch-size', '2'];
      const trained = spawnSync(
        process.execPath,
        [
          main,
          'train',
          'mambabyte',
          '--out',
          bytes,
          '--data',
          text,
          '--steps',
          '5',
          ...tiny,
          '--threads',
          '1',
          '--json',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(trained.status, 0, trained.stderr);
      // A model with a tokenizer: GPT-NeoX's, as the published Mamba models use, in the folder.
      const tokens = join(scratch, 'with-tokenizer');
      const withTokenizer = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 1, vocabSize: 50277, dState: 4 }), {
        generator: new mt.Generator(4),
      });
      await saveMambaLM(withTokenizer, tokens);
      withTokenizer.dispose();
      writeFileSync(
        join(tokens, 'tokenizer.json'),
        gunzipSync(readFileSync(source('test/fixtures/gpt-neox-20b/tokenizer.json.gz'))),
      );

      // The byte model through accelerate's Accelerator where it is installed, the other through the plain loop.
      const runner = found['accelerate'] ? 'accelerate' : 'a plain loop';
      const withoutAccelerate = `import runpy, sys; sys.modules['accelerate'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')`;
      const runs = [
        { from: bytes, out: join(scratch, 'bytes-torch'), launch: [example], runner },
        {
          from: tokens,
          out: join(scratch, 'tokens-torch'),
          launch: ['-c', withoutAccelerate, example],
          runner: 'a plain loop',
        },
      ];
      for (const run of runs) {
        const flags = [
          '--model',
          run.from,
          '--data',
          text,
          '--out',
          run.out,
          '--steps',
          '4',
          '--batch-size',
          '2',
        ].concat(['--seq-len', '16', '--lr', '5e-3', '--warmup', '1', '--log-every', '2']);
        const r = spawnSync(python, [...run.launch, ...flags], { encoding: 'utf8', env: pythonEnv });
        assert.equal(r.status, 0, `${run.out}: ${r.stderr}`);
        assert.ok(r.stdout.includes(`1 process(es), ${run.runner}`), r.stdout);
        assert.match(r.stdout, /step 4 loss \d/);
      }
      assert.ok(existsSync(join(runs[1]!.out, 'tokenizer.json')), 'the tokenizer is saved beside the weights');

      // mamba-ts generates from each folder; transformers scores the same prompt ids and generates greedily.
      const folders = [bytes, ...runs.map((run) => run.out)];
      const ours = folders.map((folder) => {
        const r = spawnSync(
          process.execPath,
          [
            main,
            'generate',
            '--model',
            folder,
            '--prompt',
            'It was the',
            '--max-new-tokens',
            '8',
            '--greedy',
            '--json',
          ],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as { prompt_ids: number[]; tokens: number[] };
      });
      const theirs = transformers(
        folders.flatMap((model, i) => [
          { op: 'logits', model, ids: ours[i]!.prompt_ids } as const,
          { op: 'greedy', model, ids: ours[i]!.prompt_ids, new: 8 } as const,
        ]),
      );
      for (const [i, folder] of folders.entries()) {
        const here = await ourLogits(folder, ours[i]!.prompt_ids);
        assertClose(here, (theirs[2 * i] as number[][]).flat(), 1e-4, `${folder} logits`);
        assert.deepEqual(ours[i]!.tokens, theirs[2 * i + 1], `${folder}: greedy tokens`);
      }
      assert.ok(
        maxDifference(await ourLogits(bytes, ours[0]!.prompt_ids), await ourLogits(runs[0]!.out, ours[0]!.prompt_ids)) >
          1e-3,
        'PyTorch trained the byte model',
      );
    },
  );
});
