// Preloaded (node --expose-gc --import) into a server whose memory we measure.
// On an IPC request it runs full GCs and answers with process.memoryUsage(), so
// the heap figure is the live heap of the server alone, not of the load client.
const settle = () => new Promise((resolve) => setImmediate(resolve));

process.on('message', async (message) => {
  if (message?.type !== 'bench:memory') return;
  for (let i = 0; i < 4; i += 1) {
    globalThis.gc();
    await settle();
  }
  process.send({ type: 'bench:memory', id: message.id, usage: process.memoryUsage() });
});
