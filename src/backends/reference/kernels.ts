// Every reference kernel as a plain function, for the reference backend and for faster backends
// that run the reference code on their own memory.
export { copy, fill, unary, unaryGrad, binary, where } from './elementwise.js';
export { reduce, argReduce, topk } from './reduce.js';
export { matmul } from './matmul.js';
export { indexSelect, indexAdd, gather, scatterAdd } from './indexing.js';
export { softmax, crossEntropy, crossEntropyGrad } from './softmax.js';
export { layerNorm, layerNormGrad, rmsNorm, rmsNormGrad } from './norm.js';
export { causalConv1d, causalConv1dGrad, conv2d, conv2dGradInput, conv2dGradWeight, maxPool2d } from './conv.js';
export { addRmsNorm, siluMul, siluMulGrad } from './fused.js';
export { selectiveScan, selectiveScanGrad } from './scan.js';
export { mambaStep } from './step.js';
