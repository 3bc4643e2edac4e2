// Redis-side cost, read with INFO over a separate connection of our own.
import { createClient } from 'redis';

/** A connection used only for INFO; opened before any window so it adds no connection to one. */
export async function openStatsClient(url) {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** key:value lines of INFO into an object (numbers where they are numbers). */
function parseInfo(text) {
  const fields = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) continue;
    fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/**
 * One INFO command (several sections at once, Redis ≥ 7) so that a snapshot
 * costs exactly one command. Redis counts a command in commandstats after it
 * ran, so the INFO of the first snapshot of a window is counted inside the
 * window: that is the one command of ours that `delta` subtracts.
 */
export async function snapshot(client) {
  const info = parseInfo(await client.sendCommand(['INFO', 'commandstats', 'stats', 'memory', 'cpu', 'clients']));
  const calls = {};
  for (const [key, value] of Object.entries(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    calls[key.slice('cmdstat_'.length)] = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
  }
  return {
    calls,
    connectionsReceived: Number(info.total_connections_received),
    connectedClients: Number(info.connected_clients),
    usedMemory: Number(info.used_memory),
    cpuSeconds: Number(info.used_cpu_user) + Number(info.used_cpu_sys),
  };
}

const OWN_COMMANDS_PER_WINDOW = { info: 1 };

/** What happened in Redis between two snapshots, minus our own INFO. */
export function delta(before, after) {
  const byCommand = {};
  const own = { ...OWN_COMMANDS_PER_WINDOW, info: before.ownInfoCalls ?? OWN_COMMANDS_PER_WINDOW.info };
  for (const [name, calls] of Object.entries(after.calls)) {
    const n = calls - (before.calls[name] ?? 0) - (own[name] ?? 0);
    if (n !== 0) byCommand[name] = n;
  }
  return {
    commands: Object.values(byCommand).reduce((sum, n) => sum + n, 0),
    byCommand,
    newConnections: after.connectionsReceived - before.connectionsReceived,
    usedMemory: after.usedMemory - before.usedMemory,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
  };
}

export async function redisVersion(client) {
  return parseInfo(await client.sendCommand(['INFO', 'server'])).redis_version;
}

/** The same snapshot over several nodes (a cluster's masters), summed. */
export async function snapshotAll(clients) {
  const snapshots = await Promise.all(clients.map((client) => snapshot(client)));
  const calls = {};
  for (const one of snapshots) for (const [name, n] of Object.entries(one.calls)) calls[name] = (calls[name] ?? 0) + n;
  const sum = (field) => snapshots.reduce((total, one) => total + one[field], 0);
  return {
    calls,
    connectionsReceived: sum('connectionsReceived'),
    connectedClients: sum('connectedClients'),
    usedMemory: sum('usedMemory'),
    cpuSeconds: sum('cpuSeconds'),
    // Our one INFO per node counts once per node: `delta` takes the first one off, the rest here.
    ownInfoCalls: clients.length,
  };
}

/** The ports of a cluster's masters, from CLUSTER SLOTS on one of its nodes. */
export async function clusterMasters(anyPort) {
  const client = await openStatsClient(`redis://127.0.0.1:${anyPort}`);
  try {
    const slots = await client.sendCommand(['CLUSTER', 'SLOTS']);
    return [...new Set(slots.map((range) => Number(range[2][1])))];
  } finally {
    await client.close();
  }
}
