import type { Backend, StorageHandle } from '../backend.js';
import { allocTypedArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import * as conv from './conv.js';
import * as elementwise from './elementwise.js';
import * as indexing from './indexing.js';
import { matmul } from './matmul.js';
import * as norm from './norm.js';
import * as reduce from './reduce.js';
import * as softmax from './softmax.js';

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

  copy = elementwise.copy;
  fill = elementwise.fill;
  unary = elementwise.unary;
  unaryGrad = elementwise.unaryGrad;
  binary = elementwise.binary;
  where = elementwise.where;
  reduce = reduce.reduce;
  argReduce = reduce.argReduce;
  topk = reduce.topk;
  matmul = matmul;
  indexSelect = indexing.indexSelect;
  indexAdd = indexing.indexAdd;
  gather = indexing.gather;
  scatterAdd = indexing.scatterAdd;
  softmax = softmax.softmax;
  crossEntropy = softmax.crossEntropy;
  crossEntropyGrad = softmax.crossEntropyGrad;
  layerNorm = norm.layerNorm;
  layerNormGrad = norm.layerNormGrad;
  rmsNorm = norm.rmsNorm;
  rmsNormGrad = norm.rmsNormGrad;
  causalConv1d = conv.causalConv1d;
  causalConv1dGrad = conv.causalConv1dGrad;
  conv2d = conv.conv2d;
  conv2dGradInput = conv.conv2dGradInput;
  conv2dGradWeight = conv.conv2dGradWeight;
  maxPool2d = conv.maxPool2d;
}
