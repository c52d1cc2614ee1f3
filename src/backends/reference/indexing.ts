import type { View } from '../backend.js';
import { MambaError } from '../../util/errors.js';
import { data, offsets } from './strided.js';
import { aroundAxis } from '../strides.js';

function checkIndex(op: string, i: number, size: number, axis: number): void {
  if (!(i >= 0 && i < size)) {
    throw new MambaError(`${op}: index ${i} is out of range for axis ${axis} of size ${size}`);
  }
}

export function indexSelect(out: View, x: View, axis: number, index: View): void {
  const [outer, size, inner] = aroundAxis(x.shape, axis);
  const xs = data(x);
  const o = data(out);
  const idx = data(index);
  const count = index.shape[0] ?? 1;
  for (let j = 0; j < count; j++) {
    const src = idx[index.offset + j]!;
    checkIndex('indexSelect', src, size, axis);
    for (let i = 0; i < outer; i++) {
      const from = x.offset + (i * size + src) * inner;
      const to = out.offset + (i * count + j) * inner;
      for (let t = 0; t < inner; t++) o[to + t] = xs[from + t]!;
    }
  }
}

export function indexAdd(out: View, axis: number, index: View, src: View): void {
  const [outer, size, inner] = aroundAxis(out.shape, axis);
  const o = data(out);
  const ss = data(src);
  const idx = data(index);
  const count = index.shape[0] ?? 1;
  for (let j = 0; j < count; j++) {
    const dst = idx[index.offset + j]!;
    checkIndex('indexAdd', dst, size, axis);
    for (let i = 0; i < outer; i++) {
      const from = src.offset + (i * count + j) * inner;
      const to = out.offset + (i * size + dst) * inner;
      for (let t = 0; t < inner; t++) o[to + t] += ss[from + t]!;
    }
  }
}

/** Storage offsets in `target` that the elements of `index` address along `axis`. */
function addressed(op: string, target: View, axis: number, index: View): Int32Array {
  const rank = index.shape.length;
  const idx = data(index);
  const io = offsets(index);
  const result = new Int32Array(io.length);
  const pos = new Array<number>(rank).fill(0);
  for (let e = 0; e < io.length; e++) {
    const i = idx[io[e]!]!;
    checkIndex(op, i, target.shape[axis]!, axis);
    let off = target.offset;
    for (let a = 0; a < rank; a++) off += (a === axis ? i : pos[a]!) * target.strides[a]!;
    result[e] = off;
    for (let a = rank - 1; a >= 0; a--) {
      if (++pos[a]! < index.shape[a]!) break;
      pos[a] = 0;
    }
  }
  return result;
}

export function gather(out: View, x: View, axis: number, index: View): void {
  const xs = data(x);
  const o = data(out);
  const from = addressed('gather', x, axis, index);
  for (let e = 0; e < from.length; e++) o[out.offset + e] = xs[from[e]!]!;
}

export function scatterAdd(out: View, axis: number, index: View, src: View): void {
  const o = data(out);
  const ss = data(src);
  const so = offsets(src);
  const to = addressed('scatterAdd', out, axis, index);
  for (let e = 0; e < to.length; e++) o[to[e]!] += ss[so[e]!]!;
}
