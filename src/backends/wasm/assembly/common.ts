// Shared helpers of the kernels. FMA is a build-time constant (scripts/build-wasm.mjs passes
// --use FMA=0 or 1): with it, a*b+c is one relaxed-SIMD fused multiply-add.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  return FMA ? f32x4.relaxed_madd(a, b, c) : f32x4.add(f32x4.mul(a, b), c);
}

/** First item of thread `tid`'s share of n items split into nthreads nearly equal parts. */
// @ts-ignore: decorator
@inline export function shareStart(n: i32, tid: i32, nthreads: i32): i32 {
  return <i32>((<i64>n * <i64>tid) / <i64>nthreads);
}

// @ts-ignore: decorator
@inline export function f32At(base: usize, index: i32): f32 {
  return load<f32>(base + ((<usize>index) << 2));
}

// @ts-ignore: decorator
@inline export function setF32(base: usize, index: i32, v: f32): void {
  store<f32>(base + ((<usize>index) << 2), v);
}

// @ts-ignore: decorator
@inline export function i32At(base: usize, index: i32): i32 {
  return load<i32>(base + ((<usize>index) << 2));
}

// @ts-ignore: decorator
@inline export function setI32(base: usize, index: i32, v: i32): void {
  store<i32>(base + ((<usize>index) << 2), v);
}

/** Lanes [0, lanes) of base[index], base[index + stride], ... (f32 elements); the others zero. */
// @ts-ignore: decorator
@inline export function gatherLanes(base: usize, index: i32, stride: i32, lanes: i32): v128 {
  let v = f32x4.splat(0);
  const step = (<usize>stride) << 2;
  const p = base + ((<usize>index) << 2);
  if (lanes > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + step));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * step));
  if (lanes > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * step));
  return v;
}

/** Stores lanes [0, lanes) of v at base[index], base[index + stride], ... (f32 elements). */
// @ts-ignore: decorator
@inline export function scatterLanes(base: usize, index: i32, stride: i32, v: v128, lanes: i32): void {
  const step = (<usize>stride) << 2;
  const p = base + ((<usize>index) << 2);
  if (lanes > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(p + step, f32x4.extract_lane(v, 1));
  if (lanes > 2) store<f32>(p + 2 * step, f32x4.extract_lane(v, 2));
  if (lanes > 3) store<f32>(p + 3 * step, f32x4.extract_lane(v, 3));
}

/** The sum of the four lanes, (0 + 2) + (1 + 3): one shuffle and add, then one scalar add. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}
