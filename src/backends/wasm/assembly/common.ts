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
