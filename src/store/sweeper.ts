/**
 * The in-memory stores' expiry: what Redis drops by TTL, they purge on a timer
 * that does not keep the process alive. Returns what stops it.
 */
export function sweepEvery(intervalMs: number, purge: () => void): () => void {
  const timer = setInterval(purge, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
