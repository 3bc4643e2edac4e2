import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Backend } from '../routing/backend.js';
import type { Logger } from '../observability/logger.js';
import { ClientStreamHub } from './client-stream-hub.js';
import { HeldStreams } from './held-streams.js';
import { InstanceLease } from './instance-lease.js';
import { OwnerWatch } from './owner-watch.js';
import { SessionDirectory } from './session-directory.js';
import { SessionHost } from './session-host.js';

/** How long the lease on a session's single standalone stream lasts between renewals. */
const STANDALONE_LEASE_MS = 30_000;

/** Everything the HTTP edge needs to route a session's messages, for one instance. */
export interface Runtime {
  instanceId: string;
  config: Config;
  logger: Logger;
  backend: Backend;
  directory: SessionDirectory;
  lease: InstanceLease;
  host: SessionHost;
  hub: ClientStreamHub;
  watch: OwnerWatch;
  held: HeldStreams;
  /** A fresh id naming one HTTP request, so that replies reach it and no other. */
  nextDeliveryId(): string;
  stop(): Promise<void>;
}

export async function startRuntime(config: Config, backend: Backend, logger: Logger): Promise<Runtime> {
  const instanceId = randomBytes(6).toString('hex');
  const log = logger.child({ instanceId });
  const directory = new SessionDirectory(backend.kv, backend.events, config.sessionIdleTimeoutMs);
  const lease = new InstanceLease(instanceId, backend.kv, config.instanceLeaseTtlMs, log);
  await lease.start();
  const host = new SessionHost(directory, backend.bus, backend.events, backend.tasks, log, {
    instanceId,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    resourceUpdateIntervalMs: config.resourceUpdateIntervalMs,
  });
  const hub = new ClientStreamHub(backend.bus, config.subscriptionGraceMs, log);
  const watch = new OwnerWatch(lease, log);
  const held = new HeldStreams(directory, backend.kv, STANDALONE_LEASE_MS, config.sessionIdleTimeoutMs, log);
  let deliveries = 0;
  return {
    instanceId,
    config,
    logger: log,
    backend,
    directory,
    lease,
    host,
    hub,
    watch,
    held,
    nextDeliveryId: () => `${instanceId}.${(deliveries++).toString(36)}`,
    async stop() {
      held.stop();
      await host.shutdown('instance stopping');
      await lease.stop();
    },
  };
}
