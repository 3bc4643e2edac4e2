import os from 'node:os';
import { createClient, createCluster } from 'redis';
import type { Logger } from 'winston';
import { eventLogScripts } from './event-log-scripts.js';

/** The longest pause between two reconnection attempts: every instance is back this soon after Redis. */
export const MAX_RECONNECT_DELAY_MS = 2000;

/** What `CLIENT LIST` shows for each connection: which process holds it, and for what. */
export function connectionName(role: 'commands' | 'subscriber'): string {
  return `mcp:${os.hostname().replace(/[^\w.-]/g, '_')}:${process.pid}:${role}`;
}

function createCommandClient(url: string, name: string) {
  return createClient({
    url,
    name,
    socket: {
      // Keep retrying with a capped backoff: a Redis restart must not end the process.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
      connectTimeout: 5000,
    },
    // Fail commands at once while disconnected rather than queueing them forever.
    disableOfflineQueue: true,
    scripts: eventLogScripts,
  });
}

function createClusterClient(rootNodes: string[], name: string) {
  return createCluster({
    rootNodes: rootNodes.map((url) => ({ url })),
    // Settings of every node connection (rootNodes only discover the topology).
    defaults: {
      name,
      socket: {
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
        connectTimeout: 5000,
      },
      disableOfflineQueue: true,
    },
    // Masters only: a replica may lag, and a session's reads follow its writes.
    useReplicas: false,
    // A node that stays unreachable for a second makes the client read the topology again (from
    // the other nodes): once the cluster has promoted a replica, commands go there (default: 5 s).
    topologyRefreshOnReconnectionAttemptStrategy: 1000,
    scripts: eventLogScripts,
  });
}

export type RedisNodeClient = ReturnType<typeof createCommandClient>;
export type RedisClusterClient = ReturnType<typeof createClusterClient>;
/** A single node's client or a cluster's: the commands the stores use have the same shape on both. */
export type RedisClient = RedisNodeClient | RedisClusterClient;

/** Where Redis is: one node (REDIS_URL), or a cluster's seed nodes (REDIS_CLUSTER_NODES). */
export type RedisTarget = { url: string } | { clusterNodes: string[] };

/**
 * The process's only Redis connections: one for commands, one shared subscriber.
 * Nothing opens a connection per request or per session.
 */
export interface RedisConnections {
  kind: 'node' | 'cluster';
  commands: RedisClient;
  /**
   * The same command connection without node-redis's per-command timer, for the
   * commands of every tool call (PUBLISH, RPUSHX): arming an AbortSignal timer per
   * command cost about 4 % of a call's CPU. Nothing waits on them unbounded: the
   * HTTP request that caused them has its own deadline from arrival.
   */
  untimed: RedisClient;
  subscriber: RedisClient;
  /** Calls back each time the subscriber connection (on a cluster: any node's) is lost, and once it is back. */
  onConnectionEvents(events: { lost(): void; restored(): void }): void;
  /** Calls back each time the command connection (on a cluster: a node's) is ready again after a loss. */
  onReconnect(callback: () => void): void;
  isReady(): boolean;
  close(): Promise<void>;
}

export async function connectRedis(target: RedisTarget | string, logger: Logger): Promise<RedisConnections> {
  if (typeof target === 'string') return connectNode(target, logger);
  return 'url' in target ? connectNode(target.url, logger) : connectCluster(target.clusterNodes, logger);
}

/**
 * A Redis Cluster through node-redis's cluster client: one command connection per
 * master, and its pub/sub connections (one for the classic channels, one per shard
 * holding sharded subscriptions). It routes each command by its key's slot and
 * follows MOVED and ASK redirections (slot migrations, failovers) itself.
 */
async function connectCluster(rootNodes: string[], logger: Logger): Promise<RedisConnections> {
  const cluster = createClusterClient(rootNodes, connectionName('commands'));
  cluster.on('error', (error: Error) => logger.warn('redis cluster error', { error: error.message }));
  cluster.on('node-error', (error: Error, node: { host?: string; port?: number }) =>
    logger.warn('redis cluster node error', { node: `${node?.host}:${node?.port}`, error: error.message }),
  );
  // node-redis opens node connections as it needs them (a shard's first sharded subscription, a
  // new master after a failover), each announced with 'node-ready'. One counts as a return only
  // while some node is lost: that node coming back, or its replacement (a promoted replica).
  const reconnecting = new Set<string>();
  const back: Array<() => void> = [];
  const address = (node: { host?: string; port?: number } | undefined) => `${node?.host}:${node?.port}`;
  // Node connections up now (each node client has its own frozen info object). The cluster
  // client's own isReady stays true once it connected, whatever happens to its nodes: the store
  // counts as unreachable when no node connection is up (a whole cluster down or restarting), not
  // while one shard fails over (its other shards still serve their sessions).
  const up = new Set<object>();
  cluster.on('node-reconnecting', (node: { host?: string; port?: number }) => {
    up.delete(node);
    reconnecting.add(address(node));
  });
  cluster.on('node-disconnect', (node: object) => void up.delete(node));
  cluster.on('node-ready', (node: object) => {
    up.add(node);
    if (reconnecting.size === 0) return;
    reconnecting.clear();
    for (const callback of back) callback();
  });
  // After the listeners: connect() waits for every master's connection, announcing each ready.
  await cluster.connect();
  return {
    kind: 'cluster',
    commands: cluster,
    untimed: cluster.withCommandOptions({ timeout: 0 }),
    subscriber: cluster,
    onConnectionEvents(events) {
      // Per node: a node's connection lost is messages possibly missed; its return, a catch-up.
      cluster.on('node-reconnecting', () => events.lost());
      back.push(() => events.restored());
    },
    onReconnect: (callback) => void back.push(callback),
    isReady: () => cluster.isReady && up.size > 0,
    async close() {
      await cluster.close().catch(() => undefined);
    },
  };
}

async function connectNode(url: string, logger: Logger): Promise<RedisConnections> {
  const commands = createCommandClient(url, connectionName('commands'));
  const subscriber = commands.duplicate({ name: connectionName('subscriber') });
  for (const [role, client] of [['commands', commands], ['subscriber', subscriber]] as const) {
    client.on('error', (error: Error) => logger.warn('redis connection error', { role, error: error.message }));
    client.on('reconnecting', () => logger.info('redis reconnecting', { role }));
    client.on('ready', () => logger.debug('redis ready', { role }));
  }
  await Promise.all([commands.connect(), subscriber.connect()]);
  return {
    kind: 'node',
    commands,
    untimed: commands.withCommandOptions({ timeout: 0 }),
    subscriber,
    onConnectionEvents(events) {
      // node-redis emits 'reconnecting' as soon as a live connection fails (no message arrives
      // after it); the first 'ready' came before this, and it emits the later ones only after
      // Redis answered the resubscriptions it sends on reconnecting.
      subscriber.on('reconnecting', () => events.lost());
      subscriber.on('ready', () => events.restored());
    },
    // Registered after the first connection: every later 'ready' is a reconnection.
    onReconnect: (callback) => void commands.on('ready', callback),
    isReady: () => commands.isReady && subscriber.isReady,
    async close() {
      await Promise.allSettled([commands.close(), subscriber.close()]);
    },
  };
}
