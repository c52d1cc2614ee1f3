// Entry point of the kernel module: every export here is callable from the JS wrapper.
export { copy, fill, unary, unaryGrad, binary, where } from './elementwise';
export { gemm, gemv } from './gemm';
export {
  causalConv1dTaps,
  causalConv1d,
  causalConv1dGrad,
  im2col,
  col2im,
  convAddBias,
  convSumBatch,
  maxPool2d,
} from './conv';
export { addRmsNorm, siluMul, siluMulGrad } from './fused';
export { scanForward, scanBackward, scanReducePartials } from './scan';
export { mambaStep } from './step';
export { reduceRows, reduceCols, argReduce } from './reduce';
export { softmax, crossEntropy, crossEntropyGrad } from './softmax';
export { layerNorm, layerNormGrad, rmsNorm, rmsNormGrad, normParamsSum } from './norm';
export { indexSelect, indexAdd, countOutOfRange, gather, scatterAdd } from './indexing';

/** First byte after the module's static data: the JS heap starts above it. */
export function heapBase(): usize {
  return __heap_base;
}
