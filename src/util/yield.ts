/**
 * Resolves after the event loop has run what is waiting (I/O callbacks, timers, a page's input and
 * painting). Long computations await it between steps so that a server keeps answering and a page
 * stays responsive. Node's setImmediate where there is one; otherwise a message to itself, because
 * browsers delay nested setTimeout(0) calls by 4 ms each.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
