import './fluent.js';

export * from './create.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './indexing.js';
export * from './shape-ops.js';
export * from './softmax.js';
export * from './norm.js';
export * from './conv.js';
export * from './dropout.js';
export * from './view.js';
export * from './gradcheck.js';
