export * from './module.js';
export * from './init.js';
export * from './layers.js';
export * from './conv.js';
export * from './norm.js';
