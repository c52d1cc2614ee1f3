import type { Kernels, KernelName, ScanGrads, ScanInputs, View } from './backend.js';

/**
 * What a kernel does with each argument: a view it reads, writes, or reads and writes (the
 * in-place accumulation of indexAdd and scatterAdd); the optional variants may be null; the
 * scan's structs hold views it reads (ScanInputs) or writes (ScanGrads), any of them nullable
 * where the struct says so; anything else is a plain value.
 */
export type ArgRole =
  'read' | 'write' | 'readWrite' | 'readOptional' | 'writeOptional' | 'scanInputs' | 'scanGrads' | 'value';

/** The roles a parameter of type P may have, so that the table below cannot mistype one. */
type RoleOf<P> = [P] extends [View]
  ? 'read' | 'write' | 'readWrite'
  : [P] extends [View | null]
    ? 'readOptional' | 'writeOptional'
    : [P] extends [ScanInputs]
      ? 'scanInputs'
      : [P] extends [ScanGrads]
        ? 'scanGrads'
        : 'value';

type RolesOf<Params extends readonly unknown[]> = { readonly [I in keyof Params]: RoleOf<Params[I]> };

export type KernelArgs<K extends KernelName> = Parameters<Kernels[K]>;

/**
 * The role of every argument of every kernel (the order of Kernels' parameters). The compiler
 * holds it to one entry per kernel, one role per parameter, and a role that fits the type.
 */
export const KERNEL_SIGNATURES = {
  copy: ['write', 'read'],
  fill: ['write', 'value'],
  unary: ['value', 'write', 'read', 'value'],
  unaryGrad: ['value', 'write', 'read', 'read', 'value'],
  binary: ['value', 'write', 'read', 'read'],
  where: ['write', 'read', 'read', 'read'],
  reduce: ['value', 'write', 'read', 'value'],
  argReduce: ['value', 'write', 'read', 'value'],
  matmul: ['write', 'read', 'read'],
  indexSelect: ['write', 'read', 'value', 'read'],
  indexAdd: ['readWrite', 'value', 'read', 'read'],
  gather: ['write', 'read', 'value', 'read'],
  scatterAdd: ['readWrite', 'value', 'read', 'read'],
  softmax: ['write', 'read', 'value'],
  crossEntropy: ['write', 'write', 'read', 'read', 'value'],
  crossEntropyGrad: ['write', 'read', 'read', 'read', 'read', 'value'],
  layerNorm: ['write', 'write', 'write', 'read', 'readOptional', 'readOptional', 'value'],
  layerNormGrad: ['write', 'writeOptional', 'writeOptional', 'read', 'read', 'read', 'read', 'readOptional'],
  rmsNorm: ['write', 'write', 'read', 'readOptional', 'value'],
  rmsNormGrad: ['write', 'writeOptional', 'read', 'read', 'read', 'readOptional'],
  addRmsNorm: ['write', 'write', 'write', 'read', 'read', 'readOptional', 'value'],
  siluMul: ['write', 'read', 'read'],
  siluMulGrad: ['write', 'write', 'read', 'read', 'read'],
  causalConv1d: ['write', 'read', 'read', 'readOptional'],
  causalConv1dGrad: ['write', 'write', 'writeOptional', 'read', 'read', 'read'],
  conv2d: ['write', 'read', 'read', 'readOptional', 'value'],
  conv2dGradInput: ['write', 'read', 'read', 'value'],
  conv2dGradWeight: ['write', 'read', 'read', 'value'],
  selectiveScan: ['write', 'write', 'writeOptional', 'scanInputs', 'value', 'value'],
  selectiveScanGrad: ['scanGrads', 'read', 'readOptional', 'scanInputs', 'read', 'value', 'value'],
  mambaStep: [
    'write',
    'readWrite',
    'readWrite',
    'read',
    'read',
    'read',
    'readOptional',
    'read',
    'read',
    'readOptional',
    'read',
    'readOptional',
  ],
  maxPool2d: ['write', 'write', 'read', 'value'],
  topk: ['write', 'write', 'read', 'value', 'value'],
} as const satisfies { readonly [K in KernelName]: RolesOf<KernelArgs<K>> };

export const KERNEL_NAMES = Object.keys(KERNEL_SIGNATURES) as KernelName[];

/** How a kernel touches one view. */
export type Access = 'read' | 'write' | 'readWrite';

const ACCESS: Record<Exclude<ArgRole, 'value'>, Access> = {
  read: 'read',
  write: 'write',
  readWrite: 'readWrite',
  readOptional: 'read',
  writeOptional: 'write',
  scanInputs: 'read',
  scanGrads: 'write',
};

function mapStruct<S extends object>(struct: S, access: Access, fn: (view: View, access: Access) => View): S {
  const mapped: Record<string, View | null> = {};
  for (const [key, view] of Object.entries(struct) as [string, View | null][]) mapped[key] = view && fn(view, access);
  return mapped as S;
}

/**
 * The arguments of a call to kernel `name` with every view (inside the scan's structs too)
 * replaced by fn(view, access); null views stay null and plain values pass through.
 */
export function mapKernelViews<K extends KernelName>(
  name: K,
  args: KernelArgs<K>,
  fn: (view: View, access: Access) => View,
): KernelArgs<K> {
  const roles: readonly ArgRole[] = KERNEL_SIGNATURES[name];
  return roles.map((role, i) => {
    const arg = args[i] as unknown;
    if (role === 'value' || arg === null) return arg;
    const access = ACCESS[role];
    if (role === 'scanInputs' || role === 'scanGrads') return mapStruct(arg as object, access, fn);
    return fn(arg as View, access);
  }) as KernelArgs<K>;
}

/**
 * Calls visit(view, access) for every view among the arguments of a call to kernel `name` (inside
 * the scan's structs too), skipping nulls and plain values; builds nothing, so it is cheap enough
 * to run on every call.
 */
export function forEachKernelView<K extends KernelName>(
  name: K,
  args: KernelArgs<K>,
  visit: (view: View, access: Access) => void,
): void {
  const roles: readonly ArgRole[] = KERNEL_SIGNATURES[name];
  for (let i = 0; i < roles.length; i++) {
    const role = roles[i]!;
    const arg = args[i] as unknown;
    if (role === 'value' || arg === null) continue;
    const access = ACCESS[role];
    if (role !== 'scanInputs' && role !== 'scanGrads') {
      visit(arg as View, access);
      continue;
    }
    const struct = arg as Record<string, View | null>;
    for (const key in struct) {
      const view = struct[key];
      if (view) visit(view, access);
    }
  }
}
