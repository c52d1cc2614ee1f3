import { cpus } from 'node:os';
import { createNodeWasmBackend } from '../src/backends/wasm/node.js';
import { benchDecode, benchGenerationMemory } from './decode.js';
import { benchFormats } from './formats.js';
import { benchGemm } from './gemm.js';
import { benchKernels, benchMemory } from './kernels.js';
import { benchMoE } from './moe.js';
import { benchScan } from './scan.js';
import { benchTraining } from './training.js';
import { benchVisionScaling } from './vision.js';

/**
 * `npm run bench [-- section ...]`: prints one JSON object. Every speed is measured beside
 * numpy's (OpenBLAS) figure on the same work in the same run, with the ratio, because absolute
 * numbers on a shared machine mean little. Sections: kernels, gemm, scan, decode (also beside
 * llama.cpp on the same weights, when `npm run peers:llama` installed it), memory, vision
 * (Vim against ViT from 16 to 4096 patches; no numpy twin: the two models are each other's yardstick),
 * moe (MoE-Mamba beside a plain Mamba LM of its active size: each is the other's yardstick),
 * formats (CRC-32 and inflate beside Node's zlib on the same bytes), training (MambaByte's recipe
 * beside a PyTorch peer of the same model, which `npm run peers:torch` installs into
 * .cache/peers/torch-venv or MAMBA_TS_PYTHON names, and as a fraction of numpy's GEMM FLOP limit;
 * Vim's recipe beside its ViT baseline; 1 and 2 threads).
 */
const sections: Record<string, () => unknown> = {
  kernels: benchKernels,
  gemm: benchGemm,
  scan: benchScan,
  decode: benchDecode,
  memory: () => [benchMemory(), benchGenerationMemory()],
  vision: benchVisionScaling,
  moe: benchMoE,
  formats: benchFormats,
  training: benchTraining,
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!sections[name]) {
    process.stderr.write(`bench: unknown section '${name}'; choose from ${Object.keys(sections).join(', ')}\n`);
    process.exit(2);
  }
}

const probe = createNodeWasmBackend({ threads: 1 });
const results: Record<string, unknown> = {};
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  const start = performance.now();
  results[name] = await run();
  process.stderr.write(`bench: ${name} took ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
}
probe.dispose();

process.stdout.write(
  JSON.stringify(
    {
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
      wasm: { relaxedSimd: probe.relaxedSimd },
      results,
    },
    null,
    2,
  ) + '\n',
);
