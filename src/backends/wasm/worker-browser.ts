import { workerLoop, type WorkerInit } from './protocol.js';

// browser.ts posts one message, this worker's WorkerInit; workerLoop then keeps the thread for good.
addEventListener('message', (event: MessageEvent<WorkerInit>) => workerLoop(event.data), { once: true });
