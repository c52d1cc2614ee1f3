// Entry point of the kernel module: every export here is callable from the JS wrapper.
export { copy, fill, unary, unaryGrad, binary, where } from './elementwise';
export { addRmsNorm, siluMul, siluMulGrad } from './fused';
export { scanForward, scanBackward, scanReducePartials } from './scan';

/** First byte after the module's static data: the JS heap starts above it. */
export function heapBase(): usize {
  return __heap_base;
}
