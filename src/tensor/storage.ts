import type { Backend, StorageHandle } from '../backends/backend.js';
import type { DType } from '../backends/dtype.js';

/**
 * Backend memory shared by a tensor and its views. Reference-counted so that a view, or a
 * tensor saved for the backward pass, keeps the memory alive after the tensor that made it is
 * disposed; the last release frees it at once.
 */
export class Storage {
  private refs = 1;

  constructor(
    readonly backend: Backend,
    readonly handle: StorageHandle,
    readonly dtype: DType,
    readonly length: number,
  ) {}

  get shared(): boolean {
    return this.refs > 1;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) this.backend.free(this.handle);
  }
}
