/**
 * The 2026-07-28 era with real OAuth (AUTH_MODE=internal, distinct users):
 * sealed requestState is only good for the user, method and tool it was
 * sealed for, unaltered and before it expires; /mcp wants a token in this
 * era too; listen streams are bounded per user and give their unit back when
 * closed; and malformed modern requests are each answered with a JSON error,
 * the instance serving on afterwards.
 */
import { jest } from '@jest/globals';
import { startAuthDeployment, type AuthDeployment } from './support/auth-instances.js';
import { freshUser } from './support/auth-flow.js';
import {
  accept,
  callTool,
  errorOf,
  inputRequiredOf,
  isMethod,
  modernMeta,
  modernPost,
  modernRequest,
  MODERN_REVISION,
  openListen,
  resultOf,
  toolText,
  type Json,
  type ListenStream,
  type ModernAnswer,
} from './support/modern.js';
import { waitUntil } from './support/raw-mcp.js';

jest.setTimeout(30_000);

const LISTEN_LIMIT = 2;
const MAX_ID_LENGTH = 256;

/** An answer that is a JSON-RPC -32602 error (a refusal of the params as sent, in-band or 400). */
function expectInvalidParams(answer: ModernAnswer): { code: number; message: string } {
  expect([200, 400]).toContain(answer.status);
  const error = errorOf(answer);
  expect(error.code).toBe(-32602);
  return error;
}

/** The state with one character of its MAC changed (a middle one: all six bits count). */
function withAlteredMac(state: string): string {
  const dot = state.lastIndexOf('.');
  const at = dot + Math.floor((state.length - dot) / 2);
  return state.slice(0, at) + (state[at] === 'A' ? 'Q' : 'A') + state.slice(at + 1);
}

/** The state with answers slipped into its payload (the MAC left as it was). */
function withForgedAnswers(state: string, answers: Json): string {
  const [version, body, mac] = state.split('.');
  const envelope = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Json;
  envelope.p.answers = { ...envelope.p.answers, ...answers };
  return `${version}.${Buffer.from(JSON.stringify(envelope)).toString('base64url')}.${mac}`;
}

describe('2026-07-28 security with OAuth: Redis, two instances', () => {
  let deployment: AuthDeployment;
  let A: string;
  let B: string;
  const streams: ListenStream[] = [];

  beforeAll(async () => {
    deployment = await startAuthDeployment(process.env.TEST_REDIS_URL!, 2, { MAX_LISTEN_STREAMS_PER_USER: String(LISTEN_LIMIT) });
    [A, B] = deployment.urls as [string, string];
  });

  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  async function listen(url: string, token: string, id?: string): Promise<ListenStream> {
    const stream = await openListen(url, { toolsListChanged: true }, { token, id });
    streams.push(stream);
    return stream;
  }

  async function expectOpen(stream: ListenStream): Promise<void> {
    expect(stream.status).toBe(200);
    expect(stream.refusal).toBeUndefined();
    await stream.waitFor(isMethod('notifications/subscriptions/acknowledged'), 'the acknowledgement');
  }

  describe('requestState', () => {
    test('an unaltered state completes the round; a tampered one (payload or MAC) is -32602', async () => {
      const token = await freshUser(deployment.baseUri, 'tamper');
      const tool = 'test_input_required_result_tampered_state';
      const { requestState } = inputRequiredOf(await callTool(A, tool, {}, { token }));

      const forged = await callTool(B, tool, {}, { token, requestState: withForgedAnswers(requestState, { confirm: accept({ ok: 'forged' }) }) });
      expect(expectInvalidParams(forged).message).toMatch(/requestState/);
      expect(forged.text).not.toContain('forged');
      const altered = await callTool(B, tool, {}, { token, requestState: withAlteredMac(requestState), inputResponses: { confirm: accept({ ok: true }) } });
      expect(expectInvalidParams(altered).message).toMatch(/requestState/);
      const truncated = await callTool(B, tool, {}, { token, requestState: requestState.slice(0, -10), inputResponses: { confirm: accept({ ok: true }) } });
      expectInvalidParams(truncated);

      // The genuine state, on either instance, still works.
      const done = await callTool(B, tool, {}, { token, requestState, inputResponses: { confirm: accept({ ok: true }) } });
      expect(toolText(resultOf(done))).toBe('Confirmed: true');
    });

    test("user B replaying user A's requestState is -32602; user A's own retry succeeds", async () => {
      const [alice, bob] = await Promise.all([freshUser(deployment.baseUri, 'alice'), freshUser(deployment.baseUri, 'bob')]);
      const tool = 'test_input_required_result_elicitation';
      const answer = { user_name: accept({ name: 'Alice' }) };
      const { requestState } = inputRequiredOf(await callTool(A, tool, {}, { token: alice }));

      const replayed = await callTool(B, tool, {}, { token: bob, requestState, inputResponses: answer });
      expect(expectInvalidParams(replayed).message).toMatch(/requestState/);
      expect(replayed.text).not.toContain('Hello');
      const sameInstance = await callTool(A, tool, {}, { token: bob, requestState, inputResponses: answer });
      expectInvalidParams(sameInstance);

      expect(toolText(resultOf(await callTool(B, tool, {}, { token: alice, requestState, inputResponses: answer })))).toBe('Hello, Alice!');
    });

    test('a state sealed for one tool is -32602 on another tool asking the same question', async () => {
      const token = await freshUser(deployment.baseUri, 'othertool');
      // Both fixtures ask the same confirmation under the same key: only the binding tells them apart.
      const { requestState } = inputRequiredOf(await callTool(A, 'test_input_required_result_request_state', {}, { token }));
      const answer = { confirm: accept({ ok: true }) };
      const elsewhere = await callTool(A, 'test_input_required_result_tampered_state', {}, { token, requestState, inputResponses: answer });
      expect(expectInvalidParams(elsewhere).message).toMatch(/requestState/);
      // A prompt of the same user does not take it either.
      const asPrompt = await modernPost(
        A,
        modernRequest('prompt-with-tool-state', 'prompts/get', { name: 'test_input_required_result_prompt', requestState, inputResponses: { user_context: accept({ context: 'x' }) } }),
        { token },
      );
      expectInvalidParams(asPrompt);

      const own = await callTool(A, 'test_input_required_result_request_state', {}, { token, requestState, inputResponses: answer });
      expect(toolText(resultOf(own))).toBe('state-ok: requestState validated (confirmed: true)');
    });

    test('a call that keeps asking is stopped after 10 input rounds (-32600)', async () => {
      const token = await freshUser(deployment.baseUri, 'rounds');
      const tool = 'test_input_required_result_elicitation';
      let requestState: string | undefined;
      let rounds = 0;
      let last: ModernAnswer | undefined;
      // The client answers nothing: every retry is another round, until the server stops the call.
      for (let request = 0; request < 12; request++) {
        last = await callTool(request % 2 === 0 ? A : B, tool, {}, { token, requestState, inputResponses: {} });
        if (last.response?.result?.resultType !== 'input_required') break;
        requestState = last.response.result.requestState as string;
        rounds += 1;
      }
      const error = errorOf(last!);
      expect(error.code).toBe(-32600);
      expect(error.message).toMatch(/10/);
      // Ten input_required results, then the refusal.
      expect(rounds).toBe(10);
    });
  });

  test('a modern request without a token is 401 with a Bearer challenge; with a bogus token too', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const answer = await callTool(A, 'echo', { message: 'hi' }, { token });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      expect(answer.text).not.toContain('Echo');
    }
    const listen = await openListen(B, { toolsListChanged: true });
    streams.push(listen);
    expect(listen.status).toBe(401);
    expect(listen.messages).toEqual([]);
  });

  describe('listen streams per user (MAX_LISTEN_STREAMS_PER_USER=2)', () => {
    test("a user's third listen stream is 429 naming the setting; another user is still served", async () => {
      const [first, second] = await Promise.all([freshUser(deployment.baseUri, 'listener'), freshUser(deployment.baseUri, 'neighbour')]);
      for (let i = 0; i < LISTEN_LIMIT; i++) await expectOpen(await listen(A, first));

      const refused = await listen(A, first, 'one-too-many');
      expect(refused.status).toBe(429);
      expect(refused.contentType).toMatch(/^application\/json/);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.refusal?.error?.message).toContain('MAX_LISTEN_STREAMS_PER_USER');
      expect(refused.refusal?.error?.data).toMatchObject({ limit: 'MAX_LISTEN_STREAMS_PER_USER', max: LISTEN_LIMIT, scope: 'user' });

      await expectOpen(await listen(A, second));
      // The bound is per user and per instance: the first user still listens on B.
      await expectOpen(await listen(B, first));
    });

    test('closing listen streams gives their units back', async () => {
      const token = await freshUser(deployment.baseUri, 'reopener');
      const open = [await listen(A, token), await listen(A, token)];
      for (const stream of open) await expectOpen(stream);
      expect((await listen(A, token)).status).toBe(429);

      open[0]!.close();
      // The unit comes back once the instance saw the stream close.
      let reopened: ListenStream | undefined;
      await waitUntil(
        async () => {
          const attempt = await listen(A, token);
          if (attempt.status === 200) reopened = attempt;
          return reopened !== undefined;
        },
        5000,
        'a listen stream opened again after one was closed',
      );
      await expectOpen(reopened!);

      for (const stream of [open[1]!, reopened!]) stream.close();
      let again: ListenStream[] = [];
      await waitUntil(
        async () => {
          again.forEach((s) => s.close());
          again = [await listen(A, token), await listen(A, token)];
          return again.every((s) => s.status === 200);
        },
        5000,
        'both units back after closing both streams',
      );
      for (const stream of again) await expectOpen(stream);
    });
  });

  describe('malformed 2026-07-28 requests', () => {
    let token: string;

    beforeAll(async () => {
      token = await freshUser(deployment.baseUri, 'malformed');
    });

    const echo = (overrides: Json = {}) => modernRequest('bad', 'tools/call', { name: 'echo', arguments: { message: 'hi' }, ...overrides });

    test('_meta not an object: 400 with a JSON-RPC error', async () => {
      for (const meta of ['not an object', [modernMeta()], 42]) {
        const body = { jsonrpc: '2.0', id: 'bad', method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' }, _meta: meta } };
        const answer = await modernPost(A, body, { token });
        expect(answer.status).toBe(400);
        expect([-32600, -32602]).toContain(errorOf(answer).code);
      }
    });

    test('clientCapabilities an array: 400, -32602', async () => {
      const answer = await modernPost(A, modernRequest('bad', 'tools/call', { name: 'echo', arguments: { message: 'hi' } }, { capabilities: [] }), { token });
      expect(answer.status).toBe(400);
      expect(errorOf(answer).code).toBe(-32602);
    });

    test('inputResponses null, requestState a number: -32602', async () => {
      expectInvalidParams(await modernPost(A, echo({ inputResponses: null }), { token }));
      expectInvalidParams(await modernPost(A, echo({ requestState: 42 }), { token }));
      expectInvalidParams(await modernPost(A, echo({ inputResponses: ['user_name'] }), { token }));
    });

    test('a 1 MB requestState is -32602, answered promptly', async () => {
      const started = Date.now();
      for (const requestState of [`v1.${'A'.repeat(1024 * 1024)}`, `v1.${'A'.repeat(512 * 1024)}.${'B'.repeat(512 * 1024)}`, 'x'.repeat(1024 * 1024)]) {
        const answer = await modernPost(B, modernRequest('bad', 'tools/call', { name: 'test_input_required_result_elicitation', arguments: {}, requestState }), { token });
        expectInvalidParams(answer);
        expect(answer.text.length).toBeLessThan(2048);
      }
      expect(Date.now() - started).toBeLessThan(5000);
    });

    test('Mcp-Name or Mcp-Method not matching the body: 400, -32020', async () => {
      const wrongName = await modernPost(A, echo(), { token, headers: { 'mcp-name': 'add' } });
      expect(wrongName.status).toBe(400);
      expect(errorOf(wrongName).code).toBe(-32020);
      const wrongMethod = await modernPost(A, echo(), { token, headers: { 'mcp-method': 'tools/list' } });
      expect(wrongMethod.status).toBe(400);
      expect(errorOf(wrongMethod).code).toBe(-32020);
    });

    test('a batch holding a modern request: 400', async () => {
      const batch = [modernRequest(1, 'tools/list'), modernRequest(2, 'tools/call', { name: 'echo', arguments: { message: 'hi' } })];
      const answer = await modernPost(A, batch, { token, omit: ['mcp-method', 'mcp-name'] });
      expect(answer.status).toBe(400);
      expect(errorOf(answer).code).toBe(-32600);
      expect(answer.text).not.toContain('Echo');
    });

    test('an unsupported version (v999): 400, -32022 naming both eras\' versions', async () => {
      const answer = await modernPost(A, modernRequest('v999', 'tools/list', {}, { version: 'v999' }), { token, headers: { 'mcp-protocol-version': 'v999' } });
      expect(answer.status).toBe(400);
      const error = errorOf(answer);
      expect(error.code).toBe(-32022);
      expect(error.data?.requested).toBe('v999');
      expect(error.data?.supported).toEqual(expect.arrayContaining([MODERN_REVISION, '2025-11-25']));
    });

    test('a listen stream following more than 100 resources: 400, -32602, nothing opened', async () => {
      const uris = Array.from({ length: 101 }, (_, i) => `test://static/resource/${i + 1}`);
      const answer = await modernPost(A, modernRequest('too-many', 'subscriptions/listen', { notifications: { resourceSubscriptions: uris } }), { token });
      expect(answer.status).toBe(400);
      expect(errorOf(answer).code).toBe(-32602);
    });

    test(`a request id longer than MAX_ID_LENGTH (${MAX_ID_LENGTH}) is refused (400, -32600), as in a session`, async () => {
      const longId = 'i'.repeat(100_000);
      const answer = await modernPost(A, modernRequest(longId, 'tools/call', { name: 'echo', arguments: { message: 'hi' } }), { token });
      expect(answer.status).toBe(400);
      expect(errorOf(answer).code).toBe(-32600);
      expect(answer.text.length).toBeLessThan(2048);
    });

    test(`a listen stream whose id is longer than MAX_ID_LENGTH is not opened (its id would travel in every notification)`, async () => {
      const stream = await openListen(A, { toolsListChanged: true }, { token, id: 's'.repeat(100_000) });
      streams.push(stream);
      expect(stream.status).toBe(400);
      expect(stream.refusal?.error?.code).toBe(-32600);
    });

    test(`a progress token longer than MAX_ID_LENGTH is refused (400, -32602), as in a session`, async () => {
      const answer = await modernPost(
        A,
        modernRequest('long-token', 'tools/call', { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p'.repeat(100_000) } }),
        { token },
      );
      expect(answer.status).toBe(400);
      expect(errorOf(answer).code).toBe(-32602);
      expect(answer.text.length).toBeLessThan(2048);
    });

    // Declared last: jest runs a describe's tests in order.
    test('after every malformed request above, both instances still answer a normal modern call', async () => {
      for (const url of [A, B]) {
        const answer = await callTool(url, 'echo', { message: 'still here' }, { token });
        expect(toolText(resultOf(answer))).toBe('Echo: still here');
        expect(answer.response?.result?.resultType).toBe('complete');
      }
    });
  });
});

describe('2026-07-28 security with OAuth: expired requestState (REQUEST_STATE_TTL_S=1)', () => {
  let deployment: AuthDeployment;

  beforeAll(async () => {
    deployment = await startAuthDeployment(undefined, 1, { REQUEST_STATE_TTL_S: '1' });
  });

  afterAll(async () => {
    await deployment?.stop();
  });

  test('a state retried within its TTL works; retried after it, -32602', async () => {
    const token = await freshUser(deployment.baseUri, 'expiry');
    const url = deployment.urls[0]!;
    const tool = 'test_input_required_result_elicitation';
    const answer = { user_name: accept({ name: 'Alice' }) };

    const fresh = inputRequiredOf(await callTool(url, tool, {}, { token }));
    expect(toolText(resultOf(await callTool(url, tool, {}, { token, requestState: fresh.requestState, inputResponses: answer })))).toBe('Hello, Alice!');

    const stale = inputRequiredOf(await callTool(url, tool, {}, { token }));
    const sealedAt = Math.floor(Date.now() / 1000);
    // Expiry is counted in whole seconds: wait until a TTL of 1 s is over whatever the second it began in.
    await waitUntil(() => Math.floor(Date.now() / 1000) >= sealedAt + 2, 4000, 'the state expired');
    const expired = await callTool(url, tool, {}, { token, requestState: stale.requestState, inputResponses: answer });
    expect(expectInvalidParams(expired).message).toMatch(/requestState/);
    expect(expired.text).not.toContain('Hello');
  });
});
