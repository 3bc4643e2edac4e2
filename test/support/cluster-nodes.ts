/**
 * Looking at a Redis Cluster node by node, for tests that inject faults or count commands:
 * a plain client on one node's port, the masters and their slots, and which master serves a
 * key. Each question goes to a node given by its port (a connection just for it) or by a
 * client already connected to it.
 */
import { createClient } from 'redis';

export type NodeClient = Awaited<ReturnType<typeof nodeClientOf>>;
const nodeClientOf = (port: number) => createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });

/** A client on one node (no reconnection: close it when done). */
export async function nodeClient(port: number): Promise<NodeClient> {
  const client = nodeClientOf(port);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A node to ask: its port, or a client connected to it. */
export type AnyNode = number | { sendCommand(args: string[]): Promise<unknown> };

async function ask(node: AnyNode, args: string[]): Promise<unknown> {
  if (typeof node !== 'number') return node.sendCommand(args);
  const client = await nodeClient(node);
  try {
    return await client.sendCommand(args);
  } finally {
    await client.close();
  }
}

/** The cluster's masters, by port, with the slot ranges each serves. */
export async function masters(anyNode: AnyNode): Promise<Map<number, Array<[number, number]>>> {
  const slots = (await ask(anyNode, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, ...unknown[]]]>;
  const byPort = new Map<number, Array<[number, number]>>();
  for (const [from, to, [, port]] of slots) byPort.set(Number(port), [...(byPort.get(Number(port)) ?? []), [Number(from), Number(to)]]);
  return byPort;
}

export async function keySlot(anyNode: AnyNode, key: string): Promise<number> {
  return Number(await ask(anyNode, ['CLUSTER', 'KEYSLOT', key]));
}

export async function masterOf(anyNode: AnyNode, slot: number): Promise<number> {
  for (const [port, ranges] of await masters(anyNode)) if (ranges.some(([from, to]) => slot >= from && slot <= to)) return port;
  throw new Error(`no master serves slot ${slot}`);
}

/** The port of the master serving a key's slot. */
export async function masterOfKey(anyNode: AnyNode, key: string): Promise<number> {
  return masterOf(anyNode, await keySlot(anyNode, key));
}
