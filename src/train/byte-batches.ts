import { Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';

/**
 * Training batches of a byte sequence: random windows of seqLen + 1 bytes (inputs, and targets
 * shifted by one). The windows of micro-batch (step, micro) depend on the seed and that position
 * alone, so a resumed run sees exactly the batches an uninterrupted one would.
 */
export class ByteBatches {
  constructor(
    readonly bytes: Uint8Array,
    readonly seqLen: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (bytes.length < seqLen + 2) {
      throw new MambaError(
        `the training text has ${bytes.length} bytes, fewer than one window of ${seqLen + 1}; use more text or a smaller --seq-len`,
      );
    }
  }

  batch(step: number, micro: number): { input: Int32Array; target: Int32Array } {
    const g = new Generator(this.seed);
    // Mix the position into the seed; two different positions never share a generator stream.
    g.manualSeed((this.seed * 0x9e3779b1 + step * 4099 + micro * 65537) % 4294967296);
    const input = new Int32Array(this.batchSize * this.seqLen);
    const target = new Int32Array(this.batchSize * this.seqLen);
    for (let b = 0; b < this.batchSize; b++) {
      const start = g.int(this.bytes.length - this.seqLen - 1);
      for (let t = 0; t < this.seqLen; t++) {
        input[b * this.seqLen + t] = this.bytes[start + t]!;
        target[b * this.seqLen + t] = this.bytes[start + t + 1]!;
      }
    }
    return { input, target };
  }
}
