// Preloaded (node --expose-gc --import) into a server whose memory we measure.
// On an IPC request it runs full GCs and answers with process.memoryUsage(), so
// the heap figure is the live heap of the server alone, not of the load client.
// On request it also writes a heap snapshot (for bench/heap-diff.js).
import path from 'node:path';
import v8 from 'node:v8';

const settle = () => new Promise((resolve) => setImmediate(resolve));

process.on('message', async (message) => {
  if (message?.type === 'bench:heap-snapshot') {
    const file = v8.writeHeapSnapshot(path.join(message.dir, `${message.name}-${process.pid}.heapsnapshot`));
    process.send({ type: 'bench:heap-snapshot', id: message.id, file });
    return;
  }
  if (message?.type !== 'bench:memory') return;
  for (let i = 0; i < 4; i += 1) {
    globalThis.gc();
    await settle();
  }
  process.send({ type: 'bench:memory', id: message.id, usage: process.memoryUsage() });
});
