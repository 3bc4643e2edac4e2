/**
 * Helpers of the "sessions that survive" suites (test/survival.*.test.ts): an SDK
 * client whose HTTP requests the test routes and records, a Redis admin client
 * (one node or a cluster), and small waits around child instances.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createClient } from 'redis';
import { keys } from '../../src/protocol/channels.js';
import type { RedisTarget } from '../../src/store/redis-connections.js';
import { masterOfKey } from './cluster-nodes.js';
import type { ChildInstance } from './instances.js';

/** One HTTP request the SDK client made, as the routing fetch saw it. */
export interface SentRequest {
  at: number;
  httpMethod: string;
  /** JSON-RPC method of a POST (undefined for responses and for GET/DELETE). */
  rpcMethod: string | undefined;
  target: string;
  status?: number;
  error?: string;
}

export interface RouteInfo {
  httpMethod: string;
  rpcMethod: string | undefined;
}

export type RoutingFetch = FetchLike & { sent: SentRequest[] };

/**
 * A fetch for the SDK transport that sends each request to the base URL `route`
 * picks, and records every request with its outcome. With `noStandalone` a GET
 * (the standalone stream) is answered 405 without reaching any server, which the
 * SDK takes as "this server offers no standalone stream".
 */
export function routingFetch(route: (info: RouteInfo) => string, options: { noStandalone?: boolean } = {}): RoutingFetch {
  const sent: SentRequest[] = [];
  const fetchLike = (async (input: string | URL, init?: RequestInit) => {
    const httpMethod = (init?.method ?? 'GET').toUpperCase();
    let rpcMethod: string | undefined;
    if (httpMethod === 'POST' && typeof init?.body === 'string') {
      const body = JSON.parse(init.body) as { method?: unknown } | Array<{ method?: unknown }>;
      const first = Array.isArray(body) ? body[0] : body;
      rpcMethod = typeof first?.method === 'string' ? first.method : undefined;
    }
    const target = route({ httpMethod, rpcMethod });
    const record: SentRequest = { at: Date.now(), httpMethod, rpcMethod, target };
    sent.push(record);
    if (httpMethod === 'GET' && options.noStandalone) {
      record.status = 405;
      return new Response(null, { status: 405 });
    }
    const url = new URL(input.toString());
    const base = new URL(target);
    url.protocol = base.protocol;
    url.host = base.host;
    try {
      const response = await fetch(url, init);
      record.status = response.status;
      return response;
    } catch (error) {
      record.error = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw error;
    }
  }) as RoutingFetch;
  fetchLike.sent = sent;
  return fetchLike;
}

/** A server notification the client received, with when. */
export interface ReceivedNotification {
  at: number;
  method: string;
  params: Record<string, unknown> | undefined;
}

/** An SDK client on Streamable HTTP through the given fetch; records every notification it receives. */
export async function connectRouted(mcpUrl: string, fetchLike: RoutingFetch) {
  const client = new Client({ name: 'survival-client', version: '1.0.0' }, { capabilities: {} });
  const notifications: ReceivedNotification[] = [];
  const transportErrors: string[] = [];
  client.fallbackNotificationHandler = async (notification) => {
    notifications.push({ at: Date.now(), method: notification.method, params: notification.params as Record<string, unknown> | undefined });
  };
  client.onerror = (error) => transportErrors.push(error.message);
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', mcpUrl), { fetch: fetchLike });
  await client.connect(transport);
  return { client, transport, notifications, transportErrors, sent: fetchLike.sent };
}

/** The text of a tool result's first content block. */
export function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  const first = content[0];
  if (!first || first.type !== 'text') throw new Error(`no text content in ${JSON.stringify(result)}`);
  return first.text;
}

function createAdmin(url: string) {
  return createClient({ url, socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) } });
}

/** A plain client on one Redis node (the server itself, or one node of a cluster). */
export type NodeAdmin = ReturnType<typeof createAdmin>;

/**
 * A client for inspecting the store, on one node or on a cluster alike: key reads go to the
 * node serving the key, whole-store views (keys, subscriptions) gather every node's. It
 * reconnects quietly if Redis restarts.
 */
export interface RedisAdmin {
  get(key: string): Promise<string | null>;
  exists(key: string): Promise<number>;
  /** Keys matching a pattern, on every node. */
  keys(pattern: string): Promise<string[]>;
  /** Classic channels subscribed anywhere. */
  pubSubChannels(): Promise<string[]>;
  /** Sharded channels subscribed anywhere. */
  pubSubShardChannels(): Promise<string[]>;
  pubSubNumPat(): Promise<number>;
  /** Subscribers of each sharded channel. */
  pubSubShardNumSub(channels: string[]): Promise<Record<string, number>>;
  /** The node serving a key (on one node, that node): for node-level commands (CLIENT LIST, CONFIG SET). */
  nodeOf(key: string): Promise<NodeAdmin>;
  close(): Promise<void>;
}

async function connectNodeAdmin(url: string): Promise<NodeAdmin> {
  const admin = createAdmin(url);
  admin.on('error', () => undefined);
  await admin.connect();
  return admin;
}

const union = (lists: string[][]) => [...new Set(lists.flat())];

/** A Redis admin on one node (`url`) or on a cluster (`clusterNodes`: every node of it, as the tests' clusters list them). */
export async function connectAdmin(target: RedisTarget): Promise<RedisAdmin> {
  if ('url' in target) {
    const node = await connectNodeAdmin(target.url);
    return {
      get: (key) => node.get(key),
      exists: (key) => node.exists(key),
      keys: (pattern) => node.keys(pattern),
      pubSubChannels: () => node.pubSubChannels(),
      pubSubShardChannels: () => node.pubSubShardChannels(),
      pubSubNumPat: async () => Number(await node.pubSubNumPat()),
      pubSubShardNumSub: async (names) =>
        Object.fromEntries(Object.entries(await node.pubSubShardNumSub(names)).map(([name, count]) => [name, Number(count)])),
      nodeOf: async () => node,
      close: () => node.close(),
    };
  }
  const ports = target.clusterNodes.map((url) => Number(new URL(url).port));
  const nodes = new Map(await Promise.all(target.clusterNodes.map(async (url, i) => [ports[i]!, await connectNodeAdmin(url)] as const)));
  const everyNode = <T>(f: (node: NodeAdmin) => Promise<T>) => Promise.all([...nodes.values()].map(f));
  /** The master serving the key's slot, asked of the first node that answers (on its open connection: it opens none). */
  const nodeOf = async (key: string) => {
    let failure: unknown;
    for (const node of nodes.values()) {
      try {
        return nodes.get(await masterOfKey(node, key))!;
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  };
  return {
    get: async (key) => (await nodeOf(key)).get(key),
    exists: async (key) => (await nodeOf(key)).exists(key),
    keys: async (pattern) => union(await everyNode((node) => node.keys(pattern))),
    pubSubChannels: async () => union(await everyNode((node) => node.pubSubChannels())),
    pubSubShardChannels: async () => union(await everyNode((node) => node.pubSubShardChannels())),
    pubSubNumPat: async () => (await everyNode((node) => node.pubSubNumPat())).reduce((sum: number, count) => sum + Number(count), 0),
    pubSubShardNumSub: async (names) => {
      const counts: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]));
      for (const perNode of await everyNode((node) => node.pubSubShardNumSub(names))) {
        for (const [name, count] of Object.entries(perNode)) counts[name] = (counts[name] ?? 0) + Number(count);
      }
      return counts;
    },
    nodeOf,
    close: async () => {
      await Promise.allSettled([...nodes.values()].map((node) => node.close()));
    },
  };
}

/** The instance id a child process runs under, read from its lease (the lease value names its pid). */
export async function instanceIdOfChild(admin: RedisAdmin, child: ChildInstance, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const key of await admin.keys(keys.instanceLease('*'))) {
      const value = await admin.get(key);
      if (value && (JSON.parse(value) as { pid?: number }).pid === child.process.pid) {
        return key.slice('mcp:instance:'.length, -':lease'.length);
      }
    }
    if (Date.now() > deadline) throw new Error(`no lease names pid ${child.process.pid}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The persisted state of a session (`mcp:session:{id}:state`), parsed. */
export async function storedState(admin: RedisAdmin, sessionId: string): Promise<{ features: Record<string, unknown> } | null> {
  const raw = await admin.get(keys.sessionState(sessionId));
  return raw ? (JSON.parse(raw) as { features: Record<string, unknown> }) : null;
}

/** Resolves with the exit code once the child exits; rejects if it does not within timeoutMs. */
export function exitOf(child: ChildInstance, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  const { process: proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode, at: Date.now() });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${proc.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, at: Date.now() });
    });
  });
}

/** Collects a child's log lines (JSON) from now on, for assertions and for diagnosing failures. */
export function captureLogs(child: ChildInstance): string[] {
  const lines: string[] = [];
  let partial = '';
  child.process.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  return lines;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
