import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { Budget } from './limits/budget.js';
import { LoadShedder } from './limits/load-shedder.js';
import type { Backend } from './backend.js';
import { MAX_RECONNECT_DELAY_MS } from './store/redis-connections.js';
import type { Logger } from './observability/logger.js';
import { startModern, type ModernRuntime } from './modern/modern-runtime.js';
import { countingBus } from './observability/counting-bus.js';
import { Metrics } from './observability/metrics.js';
import { TaskRuns } from './tasks/task-runs.js';
import type { InstanceTasks } from './tasks/user-task-store.js';
import { ClientStreamHub } from './sessions/streams/client-stream-hub.js';
import { HeldStreams } from './sessions/edge/held-streams.js';
import { InstanceLease } from './sessions/instance-lease.js';
import { OwnerWatch } from './sessions/edge/owner-watch.js';
import { SessionDirectory } from './sessions/session-directory.js';
import { SessionCensus } from './sessions/console/session-census.js';
import { SessionHost } from './sessions/owner/session-host.js';
import { SessionGateway } from './sessions/edge/session-gateway.js';
import { KeepAlive } from './sessions/streams/keep-alive.js';
import { streamBounds } from './sessions/streams/sse-writer.js';
import { RequestTracker, type StreamContext } from './sessions/streams/stream-context.js';

/** How long the lease on a session's single standalone stream lasts between renewals. */
const STANDALONE_LEASE_MS = 30_000;

/**
 * After Redis comes back (perhaps empty), how long a missing owner key or lease
 * may still belong to an instance that has not reconnected and written its keys
 * again: every instance retries at least every MAX_RECONNECT_DELAY_MS.
 */
const REREGISTER_WINDOW_MS = MAX_RECONNECT_DELAY_MS + 3000;

/** How long a registration the store keeps refusing after a reconnection is tried again. */
const REREGISTER_GIVE_UP_MS = 30_000;

/** Everything the HTTP edge needs to route a session's messages, for one instance. */
export interface Runtime {
  instanceId: string;
  config: Config;
  logger: Logger;
  backend: Backend;
  /** The edge's one door to sessions (HTTP routes and streams reach sessions through it only). */
  gateway: SessionGateway;
  /** What client streams of sessions work with here (the gateway, bounds, deadline, keep-alive). */
  edge: StreamContext;
  directory: SessionDirectory;
  lease: InstanceLease;
  host: SessionHost;
  /** Task records, the bound per user, and the tasks running here. */
  tasks: InstanceTasks;
  hub: ClientStreamHub;
  /** Every instance's view of one user's sessions (the "my sessions" page). */
  census: SessionCensus;
  watch: OwnerWatch;
  held: HeldStreams;
  /** HTTP requests this instance is answering (request streams). */
  requests: RequestTracker;
  /** Open event streams (request, standalone, legacy) per user and in all, on this instance. */
  streams: Budget;
  /** Refuses new work while memory is above its thresholds. */
  shedder: LoadShedder;
  /** The stateless 2026-07-28 era: request state, change events, listen streams. */
  modern: ModernRuntime;
  /** Prometheus metrics of this instance. */
  metrics: Metrics;
  /** Set once the instance stops taking new requests (SIGTERM). */
  draining: boolean;
  /** Drains: waits up to graceMs for requests in flight, then hands every session over to the store. */
  stop(graceMs?: number): Promise<void>;
}

/** On a Redis Cluster, how long a request stream may hear nothing before it reads the event log (see ClientStreamHub). */
const CLUSTER_SILENCE_CHECK_MS = 2000;

/** How often the instance samples Redis's round trip (a PING) for its metrics. */
const REDIS_PING_SAMPLE_MS = 15_000;

export async function startRuntime(config: Config, store: Backend, logger: Logger): Promise<Runtime> {
  const instanceId = randomBytes(6).toString('hex');
  const log = logger.child({ instanceId });
  // Gauges read the runtime when scraped; it exists by then.
  const metrics = new Metrics(instanceId, {
    sessionsResident: () => runtime.host.size,
    openStreams: () => runtime.streams.held(),
    listenStreams: () => runtime.modern.listens.size,
    tasksRunning: () => runtime.tasks.runs.size,
  });
  const backend: Backend = { ...store, bus: countingBus(store.bus, (direction) => metrics.bus(direction)) };
  const stopRedisSampling = sampleRedis(backend, metrics);
  const directory = new SessionDirectory(backend.kv, backend.events, config.sessionIdleTimeoutMs);
  const lease = new InstanceLease(instanceId, backend.kv, backend.bus, config.instanceLeaseTtlMs, config.instanceHeartbeatMs, log);
  await lease.start();
  const tasks: InstanceTasks = { records: backend.tasks, perUser: config.limits.tasksPerUser, runs: new TaskRuns(backend.bus, backend.tasks, log, config.limits.runningTasksPerInstance) };
  const host = new SessionHost(directory, backend.bus, backend.events, tasks, lease, log, {
    instanceId,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    evictAfterMs: Math.min(config.sessionEvictAfterMs, config.sessionIdleTimeoutMs),
    resourceUpdateIntervalMs: config.resourceUpdateIntervalMs,
    limits: config.limits,
    observer: metrics,
  });
  const hub = new ClientStreamHub(backend.bus, config.subscriptionGraceMs, log, backend.topology === 'cluster' ? CLUSTER_SILENCE_CHECK_MS : 0);
  const census = new SessionCensus(instanceId, backend.bus, host, hub, () => lease.liveInstances(), log);
  await census.start();
  const watch = new OwnerWatch(lease, log);
  const held = new HeldStreams(directory, backend.kv, STANDALONE_LEASE_MS, config.sessionIdleTimeoutMs, log);
  let deliveries = 0;
  const requests = new RequestTracker();
  const gateway = new SessionGateway({
    bus: backend.bus,
    kv: backend.kv,
    events: backend.events,
    directory,
    lease,
    host,
    hub,
    watch,
    held,
    logger: log,
    isReady: () => backend.isReady(),
  });
  const edge: StreamContext = {
    gateway,
    logger: log,
    bounds: streamBounds(config),
    requestTimeoutMs: config.requestTimeoutMs,
    requests,
    keepAlive: new KeepAlive(),
    nextDeliveryId: () => `${instanceId}.${(deliveries++).toString(36)}`,
  };
  const shedder = new LoadShedder({ heapPercent: config.limits.shedHeapPercent, rssBytes: config.limits.shedRssBytes });
  shedder.start();
  const streams = new Budget(
    { limit: config.limits.streamsPerUser, setting: 'MAX_STREAMS_PER_USER', scope: 'user', what: 'open streams for this user on this instance' },
    { limit: config.limits.streamsPerInstance, setting: 'MAX_STREAMS_PER_INSTANCE', scope: 'instance', what: 'open streams on this instance' },
  );
  const modern = await startModern(config, backend.bus, tasks, lease, metrics, log);
  const runtime: Runtime = {
    instanceId,
    config,
    logger: log,
    backend,
    gateway,
    edge,
    directory,
    lease,
    host,
    tasks,
    hub,
    census,
    watch,
    held,
    requests,
    streams,
    shedder,
    modern,
    metrics,
    draining: false,
    async stop(graceMs = 0) {
      runtime.draining = true;
      // Every session is handed over at once (other instances take new messages),
      // while requests already here — run here, or streamed from here — finish.
      const deadline = Date.now() + graceMs;
      held.stop();
      shedder.stop();
      stopRedisSampling();
      await modern.stop();
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
      const streamsDone = Promise.race([requests.idle(), graceOver]).finally(() => clearTimeout(graceTimer));
      await Promise.all([host.releaseAll('instance stopping', deadline), streamsDone]);
      await tasks.runs.stop();
      await census.stop();
      await lease.stop();
    },
  };
  // After Redis came back (it may have lost everything), write our lease and our sessions' keys
  // again, and give the other instances as long to write theirs.
  // A connection may come back before the store can take writes (a cluster whose other nodes are
  // still starting): the registration is tried again until it holds, a newer return takes over,
  // or REREGISTER_GIVE_UP_MS passed. Only while it is retried does a missing key prove nothing
  // (afterReconnect): a store that keeps refusing must not hide dead owners and ended sessions.
  let reconnections = 0;
  backend.onReconnect?.(() => {
    const mine = ++reconnections;
    const since = Date.now();
    log.info('redis reconnected: registering running sessions again');
    void (async () => {
      for (let pauseMs = 250; mine === reconnections && !runtime.draining; pauseMs = Math.min(2 * pauseMs, MAX_RECONNECT_DELAY_MS)) {
        // Both settle before the next attempt: attempts never overlap.
        const [renewed, registered] = await Promise.allSettled([lease.afterReconnect(REREGISTER_WINDOW_MS), host.reregister()]);
        if (renewed.status === 'fulfilled' && registered.status === 'fulfilled') return;
        const error = (renewed.status === 'rejected' ? renewed.reason : (registered as PromiseRejectedResult).reason) as Error;
        if (Date.now() - since >= REREGISTER_GIVE_UP_MS) {
          log.error('re-registering after a reconnection failed for good; sessions whose keys are missing are lost', { error: error.message });
          return;
        }
        log.warn('re-registering after a reconnection failed; trying again', { error: error.message, inMs: pauseMs });
        await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
      }
    })();
  });
  return runtime;
}

/** Redis's latency as this instance sees it, and the command connection's errors, for the metrics. */
function sampleRedis(backend: Backend, metrics: Metrics): () => void {
  const client = backend.redis;
  if (!client) return () => undefined;
  client.on('error', () => metrics.redisError('commands'));
  const timer = setInterval(() => {
    const started = process.hrtime.bigint();
    client.ping().then(
      () => metrics.redisPingSeconds(Number(process.hrtime.bigint() - started) / 1e9),
      () => metrics.redisError('commands'),
    );
  }, REDIS_PING_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}
