import { workerData } from 'node:worker_threads';
import { workerLoop, type WorkerInit } from './protocol.js';

workerLoop(workerData as WorkerInit);
