import {
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { connectInMemory, sentRequests, type InMemorySession } from '../../test/support/in-memory-session.js';
import { ROOTS_LOGGER_NAME } from './roots.js';

let session: InMemorySession;
afterEach(async () => session?.close());

async function rootsLogs(session: InMemorySession, count: number): Promise<LoggingMessageNotification['params'][]> {
  const logs: LoggingMessageNotification['params'][] = [];
  session.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    if (n.params.logger === ROOTS_LOGGER_NAME) logs.push(n.params);
  });
  await session.client.sendRootsListChanged();
  const deadline = Date.now() + 2000;
  while (logs.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return logs;
}

describe('notifications/roots/list_changed', () => {
  it('re-reads the roots on the standalone stream and reports them in a log message', async () => {
    session = await connectInMemory({ capabilities: { roots: { listChanged: true } }, listenerOpen: true });
    session.client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: 'file:///work', name: 'Work' }] }));
    const logs = await rootsLogs(session, 1);
    expect(logs).toEqual([
      { level: 'info', logger: ROOTS_LOGGER_NAME, data: 'Roots changed. The client has 1 root(s):\n1. file:///work (Work)' },
    ]);
    const [request] = sentRequests(session.sent, 'roots/list');
    expect(request?.relatedRequestId).toBeUndefined();
  });

  it('only logs (asks nothing) while nobody listens on the standalone stream', async () => {
    session = await connectInMemory({ capabilities: { roots: { listChanged: true } }, listenerOpen: false });
    const logs = await rootsLogs(session, 1);
    expect(logs[0]?.data).toContain('call get-roots-list');
    expect(sentRequests(session.sent, 'roots/list')).toHaveLength(0);
  });

  it('reports a failed refresh as a warning', async () => {
    session = await connectInMemory({ capabilities: { roots: { listChanged: true } }, listenerOpen: true });
    session.client.setRequestHandler(ListRootsRequestSchema, () => {
      throw new Error('no roots today');
    });
    const logs = await rootsLogs(session, 1);
    expect(logs[0]).toMatchObject({ level: 'warning' });
    expect(String(logs[0]?.data)).toContain('no roots today');
  });
});
