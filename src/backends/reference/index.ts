import type { Backend, StorageHandle } from '../backend.js';
import { allocTypedArray, type DType, type TypedArray } from '../dtype.js';
import * as k from './kernels.js';

/**
 * Plain TypeScript kernels over typed arrays, accumulating in float64: slow, obviously correct,
 * and the oracle every faster backend is tested against. Also the only backend with float64.
 */
export class ReferenceBackend implements Backend {
  readonly name = 'reference';
  readonly dtypes: readonly DType[] = ['float32', 'float64', 'int32'];
  private bytes = 0;

  alloc(dtype: DType, length: number): StorageHandle {
    const array = allocTypedArray(dtype, length);
    this.bytes += array.byteLength;
    return array;
  }

  free(handle: StorageHandle): void {
    this.bytes -= (handle as TypedArray).byteLength;
  }

  bytesInUse(): number {
    return this.bytes;
  }

  write(handle: StorageHandle, _dtype: DType, offset: number, values: ArrayLike<number>): void {
    (handle as TypedArray).set(values, offset);
  }

  read(handle: StorageHandle, _dtype: DType, offset: number, length: number): TypedArray {
    return (handle as TypedArray).slice(offset, offset + length);
  }

  readAsync(handle: StorageHandle, dtype: DType, offset: number, length: number): Promise<TypedArray> {
    return Promise.resolve(this.read(handle, dtype, offset, length));
  }

  copy = k.copy;
  fill = k.fill;
  unary = k.unary;
  unaryGrad = k.unaryGrad;
  binary = k.binary;
  where = k.where;
  reduce = k.reduce;
  argReduce = k.argReduce;
  topk = k.topk;
  matmul = k.matmul;
  indexSelect = k.indexSelect;
  indexAdd = k.indexAdd;
  gather = k.gather;
  scatterAdd = k.scatterAdd;
  softmax = k.softmax;
  crossEntropy = k.crossEntropy;
  crossEntropyGrad = k.crossEntropyGrad;
  layerNorm = k.layerNorm;
  layerNormGrad = k.layerNormGrad;
  rmsNorm = k.rmsNorm;
  rmsNormGrad = k.rmsNormGrad;
  addRmsNorm = k.addRmsNorm;
  siluMul = k.siluMul;
  siluMulGrad = k.siluMulGrad;
  causalConv1d = k.causalConv1d;
  causalConv1dGrad = k.causalConv1dGrad;
  conv2d = k.conv2d;
  conv2dGradInput = k.conv2dGradInput;
  conv2dGradWeight = k.conv2dGradWeight;
  maxPool2d = k.maxPool2d;
  selectiveScan = k.selectiveScan;
  selectiveScanGrad = k.selectiveScanGrad;
  mambaStep = k.mambaStep;
}
