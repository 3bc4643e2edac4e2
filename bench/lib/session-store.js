// What the sessions cost in Redis, read from a private Redis over the bench's own
// connection: memory, key counts, per-key sizes, and which sessions are in memory.
import { keys as sessionKeys } from '../../dist/protocol/channels.js';

const INSTANCE_KEYS = 'mcp:session:*:instance';

/** Every key matching `pattern`, by SCAN (never KEYS: it would block Redis). */
export async function scanKeys(client, pattern, count = 2000) {
  const found = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(count)]);
    cursor = String(next);
    found.push(...batch.map(String));
  } while (cursor !== '0');
  return found;
}

async function mget(client, keys, batchSize = 2000) {
  const values = [];
  for (let i = 0; i < keys.length; i += batchSize) {
    values.push(...(await client.sendCommand(['MGET', ...keys.slice(i, i + batchSize)])));
  }
  return values;
}

/**
 * Sessions by the instance running them, from their `mcp:session:{id}:instance`
 * keys ('' = released: evicted from memory, state in Redis only). Reading the
 * keys does not touch the sessions.
 */
export async function sessionsByInstance(client) {
  const keys = await scanKeys(client, INSTANCE_KEYS);
  const counts = {};
  for (const value of await mget(client, keys)) {
    const holder = value === null ? '(expired)' : String(value) || '(released)';
    counts[holder] = (counts[holder] ?? 0) + 1;
  }
  const released = counts['(released)'] ?? 0;
  return { sessions: keys.length, released, resident: keys.length - released - (counts['(expired)'] ?? 0), counts };
}

/** Sessions whose Server is subscribed to its toserver channel somewhere (i.e. in some process's memory). */
export async function subscribedSessions(client) {
  const channels = await client.sendCommand(['PUBSUB', 'CHANNELS', 'mcp:shttp:toserver:*']);
  return channels.length;
}

/** Instance id -> pid, from the instances' lease keys (their value carries the pid). */
export async function instancePids(client) {
  const leases = await scanKeys(client, 'mcp:instance:*:lease');
  const values = leases.length > 0 ? await mget(client, leases) : [];
  const pids = {};
  leases.forEach((key, i) => {
    const id = key.split(':')[2];
    try {
      pids[id] = JSON.parse(String(values[i])).pid;
    } catch {
      pids[id] = null;
    }
  });
  return pids;
}

function parseInfo(text) {
  return Object.fromEntries(
    String(text)
      .split('\r\n')
      .filter((line) => line.includes(':') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

/** INFO memory figures and DBSIZE. */
export async function redisMemory(client) {
  const info = parseInfo(await client.sendCommand(['INFO', 'memory']));
  return {
    usedMemory: Number(info.used_memory),
    usedMemoryPeak: Number(info.used_memory_peak),
    usedMemoryRss: Number(info.used_memory_rss),
    usedMemoryOverhead: Number(info.used_memory_overhead),
    usedMemoryDataset: Number(info.used_memory_dataset),
    keys: Number(await client.sendCommand(['DBSIZE'])),
  };
}

/** The keys a Streamable HTTP session has in Redis (src/protocol/channels.ts `keys`). */
export const SESSION_KEY_KINDS = {
  owner: (id) => `session:${id}:owner`,
  meta: (id) => `mcp:session:${id}:meta`,
  instance: (id) => `mcp:session:${id}:instance`,
  state: (id) => `mcp:session:${id}:state`,
  events: (id) => `mcp:session:${id}:events`,
  standalone: (id) => `mcp:session:${id}:standalone`,
};

/**
 * MEMORY USAGE (SAMPLES 0: exact, every element counted) of each key kind over
 * `sessionIds`: how many of them have the key, and the mean/min/max bytes.
 */
export async function keyUsage(client, sessionIds) {
  const usage = {};
  for (const [kind, keyOf] of Object.entries(SESSION_KEY_KINDS)) {
    const sizes = [];
    for (const id of sessionIds) {
      const bytes = await client.sendCommand(['MEMORY', 'USAGE', keyOf(id), 'SAMPLES', '0']);
      if (bytes !== null) sizes.push(Number(bytes));
    }
    usage[kind] = {
      present: sizes.length,
      sampled: sessionIds.length,
      meanBytes: sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0,
      minBytes: sizes.length ? Math.min(...sizes) : null,
      maxBytes: sizes.length ? Math.max(...sizes) : null,
    };
  }
  return usage;
}
