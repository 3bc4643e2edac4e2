import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Which protocol era a request or call belongs to (a route that is neither says "none"). */
export type Era = 'session' | 'modern' | 'none';

/** How a tool call ended. */
export type CallOutcome = 'ok' | 'tool_error' | 'protocol_error' | 'input_required' | 'task';

/** Counts a tool call: the one interface the features' dispatchers report through. */
export interface CallObserver {
  toolCall(tool: string, era: Era, outcome: CallOutcome, seconds: number): void;
}

/** Counts session lifecycle events on the owner. */
export interface SessionObserver {
  created(): void;
  tookOver(): void;
  evicted(): void;
}

/** What the gauges read when Prometheus scrapes: the instance's state at that moment. */
export interface GaugeSources {
  sessionsResident(): number;
  openStreams(): number;
  listenStreams(): number;
  tasksRunning(): number;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The instance's Prometheus metrics (prom-client), in a registry of its own:
 * several instances may share one process (tests, the benchmark), and each
 * reports only itself. Counters are bumped where things happen; gauges are read
 * from the instance when scraped, so nothing is counted twice.
 */
export class Metrics implements CallObserver, SessionObserver {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'route' | 'status' | 'era'>;
  private readonly httpDuration: Histogram<'route' | 'era'>;
  private readonly toolCalls: Counter<'tool' | 'era' | 'outcome'>;
  private readonly toolDuration: Histogram<'tool' | 'era'>;
  private readonly sessionEvents: Counter<'event'>;
  private readonly refusals: Counter<'setting'>;
  private readonly busMessages: Counter<'direction'>;
  private readonly redisErrors: Counter<'role'>;
  private readonly redisPing: Histogram;

  constructor(instanceId: string, sources: GaugeSources) {
    this.registry.setDefaultLabels({ instance_id: instanceId });
    // Process figures, the event loop's lag among them.
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'mcp_http_requests_total',
      help: 'HTTP requests answered, by route, status and protocol era',
      labelNames: ['route', 'status', 'era'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'mcp_http_request_duration_seconds',
      help: 'Time from a request to the end of its response (streams included), by route and era',
      labelNames: ['route', 'era'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.toolCalls = new Counter({
      name: 'mcp_tool_calls_total',
      help: 'tools/call requests, by tool, era and outcome',
      labelNames: ['tool', 'era', 'outcome'],
      registers,
    });
    this.toolDuration = new Histogram({
      name: 'mcp_tool_call_duration_seconds',
      help: 'Time a tool call ran (until its result, its input_required round or its task was answered)',
      labelNames: ['tool', 'era'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sessionEvents = new Counter({
      name: 'mcp_session_events_total',
      help: 'Sessions created, taken over from another instance, and evicted from memory, on this instance',
      labelNames: ['event'],
      registers,
    });
    this.refusals = new Counter({
      name: 'mcp_refusals_total',
      help: 'Requests refused by a rate limit, a budget or load shedding, by the setting that refused them',
      labelNames: ['setting'],
      registers,
    });
    this.busMessages = new Counter({
      name: 'mcp_bus_messages_total',
      help: 'Messages this instance published on the bus, and received from it',
      labelNames: ['direction'],
      registers,
    });
    this.redisErrors = new Counter({
      name: 'mcp_redis_errors_total',
      help: 'Errors of the Redis connections (commands, subscriber), by connection',
      labelNames: ['role'],
      registers,
    });
    this.redisPing = new Histogram({
      name: 'mcp_redis_ping_duration_seconds',
      help: "Round trips of a PING on the command connection, sampled: Redis's latency as this instance sees it",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('mcp_sessions_resident', 'Sessions this instance runs now (owner)', sources.sessionsResident);
    gauge('mcp_open_streams', 'Open event streams and 2026-07-28 requests being answered on this instance', sources.openStreams);
    gauge('mcp_listen_streams', 'Open subscriptions/listen streams (2026-07-28) on this instance', sources.listenStreams);
    gauge('mcp_tasks_running', 'Tasks running on this instance', sources.tasksRunning);
  }

  http(route: string, status: number, era: Era, seconds: number): void {
    this.httpRequests.inc({ route, status: String(status), era });
    this.httpDuration.observe({ route, era }, seconds);
  }

  toolCall(tool: string, era: Era, outcome: CallOutcome, seconds: number): void {
    this.toolCalls.inc({ tool, era, outcome });
    this.toolDuration.observe({ tool, era }, seconds);
  }

  created(): void {
    this.sessionEvents.inc({ event: 'created' });
  }

  tookOver(): void {
    this.sessionEvents.inc({ event: 'taken_over' });
  }

  evicted(): void {
    this.sessionEvents.inc({ event: 'evicted' });
  }

  refused(setting: string): void {
    this.refusals.inc({ setting });
  }

  bus(direction: 'published' | 'received', count = 1): void {
    this.busMessages.inc({ direction }, count);
  }

  redisError(role: string): void {
    this.redisErrors.inc({ role });
  }

  redisPingSeconds(seconds: number): void {
    this.redisPing.observe(seconds);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
