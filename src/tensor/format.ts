import type { DType, TypedArray } from '../backends/dtype.js';
import { formatShape, sizeOf } from './shape.js';

const EDGE = 3;
const SUMMARISE_ABOVE = 1000;

function formatNumber(v: number, dtype: DType): string {
  if (dtype === 'int32') return String(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-4)) return v.toExponential(4);
  return v.toFixed(4);
}

/** PyTorch-like printing, summarising large tensors with '...'. */
export function formatTensor(
  values: TypedArray,
  shape: readonly number[],
  dtype: DType,
  requiresGrad: boolean,
): string {
  const summarise = sizeOf(shape) > SUMMARISE_ABOVE;
  const cells: string[] = Array.from(values, (v) => formatNumber(v, dtype));
  const width = Math.max(0, ...cells.map((c) => c.length));
  const pad = (s: string) => s.padStart(width);
  const render = (dim: number, start: number, indent: string): string => {
    if (dim === shape.length) return pad(cells[start]!);
    const n = shape[dim]!;
    const step = sizeOf(shape.slice(dim + 1));
    const picks: (number | null)[] =
      summarise && n > 2 * EDGE
        ? [...Array.from({ length: EDGE }, (_, i) => i), null, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
        : Array.from({ length: n }, (_, i) => i);
    const parts = picks.map((i) => (i === null ? '...' : render(dim + 1, start + i * step, indent + ' ')));
    const sep =
      dim === shape.length - 1 ? ', ' : ',\n' + '\n'.repeat(Math.max(0, shape.length - dim - 2)) + indent + ' ';
    return `[${parts.join(sep)}]`;
  };
  const body = render(0, 0, '       ');
  const extras = [`shape=${formatShape(shape)}`, `dtype=${dtype}`];
  if (requiresGrad) extras.push('requiresGrad=true');
  return `tensor(${body}, ${extras.join(', ')})`;
}
