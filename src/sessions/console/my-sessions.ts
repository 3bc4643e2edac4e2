import { isTerminal, type TaskRecords } from '../../tasks/task-records.js';
import { parseSession } from '../owner/persisted-session.js';
import type { SessionCensus } from './session-census.js';
import type { SessionDirectory, TransportKind } from '../session-directory.js';

/** Sessions a page lists at most (a user's live sessions are bounded by MAX_SESSIONS_PER_USER anyway). */
const MAX_LISTED = 200;
/** Task records read to count running tasks (a user's records are bounded by MAX_TASKS_PER_USER). */
const MAX_TASKS_READ = 200;

/** One session as its user sees it on the "my sessions" page. */
export interface SessionView {
  sessionId: string;
  createdAt: number;
  lastActivity: number;
  transport: TransportKind;
  /** Sessions exist only in the sessionful era (the 2026-07-28 era has none). */
  era: 'sessionful';
  protocolVersion: string | null;
  client: { name: string; version: string } | null;
  /** The instance running it ('' while none does: evicted or handed over, rebuilt at its next request). */
  instanceId: string;
  subscriptions: string[];
  streams: { request: number; standalone: number; legacy: number };
  inFlight: number;
  runningTasks: number;
}

export interface MySessions {
  sessions: SessionView[];
  /** Instances that answered, of those that heard the ask. */
  instances: { answered: number; heard: number };
}

/**
 * The signed-in user's sessions on every instance: what the store keeps of
 * each (created, protocol version, client, owning instance, subscriptions,
 * last activity), what every instance holds of it right now (streams,
 * requests in flight), and the user's tasks still running per session.
 */
export async function mySessions(
  deps: { directory: SessionDirectory; census: SessionCensus; tasks: TaskRecords },
  userId: string,
): Promise<MySessions> {
  const ids = await deps.directory.sessionsOf(userId, MAX_LISTED);
  const [stored, census, running] = await Promise.all([
    Promise.all(ids.map((id) => deps.directory.peek(id))),
    deps.census.ask(userId, ids),
    runningTasksBySession(deps.tasks, userId),
  ]);
  const sessions: SessionView[] = [];
  for (const record of stored) {
    // The user's set may still name a session that just ended; the owner key decides.
    if (!record || record.userId !== userId) continue;
    const state = parseSession(record.state);
    const holdings = [...(census.holdings.get(record.sessionId)?.entries() ?? [])];
    const owner = holdings.find(([, holding]) => holding.owned)?.[1].owned;
    const streams = { request: 0, standalone: 0, legacy: 0 };
    for (const [, holding] of holdings) {
      streams.request += holding.streams.request;
      streams.standalone += holding.streams.standalone;
      streams.legacy += holding.streams.legacy;
    }
    sessions.push({
      sessionId: record.sessionId,
      createdAt: record.meta.createdAt,
      lastActivity: Math.max(record.lastActivity, owner?.lastActivity ?? 0),
      transport: record.meta.transport,
      era: 'sessionful',
      protocolVersion: state?.init?.protocolVersion ?? null,
      client: state?.init ? { name: state.init.clientInfo.name, version: state.init.clientInfo.version } : null,
      instanceId: record.meta.instanceId,
      subscriptions: [...(state?.features.subscriptions ?? [])],
      streams,
      inFlight: owner?.inFlight ?? 0,
      runningTasks: running.get(record.sessionId) ?? 0,
    });
  }
  sessions.sort((a, b) => b.createdAt - a.createdAt);
  return { sessions, instances: { answered: census.answered, heard: census.heard } };
}

async function runningTasksBySession(tasks: TaskRecords, userId: string): Promise<Map<string, number>> {
  const ids = await tasks.listForUser(userId, 0, MAX_TASKS_READ);
  const records = await Promise.all(ids.map((id) => tasks.get(id)));
  const counts = new Map<string, number>();
  for (const record of records) {
    if (!record || record.userId !== userId || isTerminal(record.task.status)) continue;
    counts.set(record.sessionId, (counts.get(record.sessionId) ?? 0) + 1);
  }
  return counts;
}
