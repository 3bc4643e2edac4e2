/** Reading the auth records a test needs to inspect, on either backend, through the runtime's store. */
import { createHash } from 'node:crypto';
import type { RedisClusterClient, RedisNodeClient } from '../../src/store/redis-connections.js';
import type { RunningServer } from '../../src/server.js';

export const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

export async function readRecord(server: RunningServer, key: string): Promise<Record<string, unknown> | undefined> {
  const raw = await server.runtime.backend.kv.get(key);
  return raw === null ? undefined : (JSON.parse(raw) as Record<string, unknown>);
}

export async function writeRecord(server: RunningServer, key: string, value: unknown, ttlMs = 60_000): Promise<void> {
  await server.runtime.backend.kv.set(key, JSON.stringify(value), ttlMs);
}

/** Every key and string value in the store (Redis: SCAN + GET; embedded: the in-memory map). */
export async function dumpStore(server: RunningServer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const backend = server.runtime.backend;
  if (backend.kind === 'redis') {
    // A cluster is scanned master by master: SCAN walks one node's keys.
    const nodes =
      backend.topology === 'cluster'
        ? await Promise.all((backend.redis as RedisClusterClient).masters.map((master) => (backend.redis as RedisClusterClient).nodeClient(master)))
        : [backend.redis as RedisNodeClient];
    for (const redis of nodes as RedisNodeClient[]) {
      for await (const batch of redis.scanIterator({ MATCH: '*', COUNT: 500 })) {
        for (const key of batch) {
          const type = await redis.type(key);
          out.set(key, type === 'string' ? ((await redis.get(key)) ?? '') : `<${type}>`);
        }
      }
    }
  } else {
    const entries = (backend.kv as unknown as { entries: Map<string, { value: string; expiresAt: number }> }).entries;
    for (const [key, entry] of entries) if (entry.expiresAt > Date.now()) out.set(key, entry.value);
  }
  return out;
}
