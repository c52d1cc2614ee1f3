// Compiles the AssemblyScript kernels into two WebAssembly modules beside the compiled backend:
// kernels-simd.wasm (SIMD128, runs everywhere WebAssembly SIMD does) and kernels-relaxed.wasm
// (adds relaxed-SIMD fused multiply-add, picked at run time where the engine validates it).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src/backends/wasm/assembly/index.ts');
const outDir = join(root, 'dist/src/backends/wasm');
mkdirSync(outDir, { recursive: true });
const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');

const common = [
  entry,
  '--runtime',
  'stub',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory',
  '32',
  '--maximumMemory',
  '65536',
  '-O3',
  '--noAssert',
];
const variants = [
  { name: 'kernels-simd.wasm', features: 'simd,threads', fma: '0' },
  { name: 'kernels-relaxed.wasm', features: 'simd,threads,relaxed-simd', fma: '1' },
];
for (const v of variants) {
  const args = [asc, ...common, '--enable', v.features, '--use', `FMA=${v.fma}`, '-o', join(outDir, v.name)];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build-wasm: asc failed for ${v.name}`);
    process.exit(r.status ?? 1);
  }
}
