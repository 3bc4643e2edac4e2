/**
 * The 2026-07-28 era across instances sharing one Redis: list changes reach
 * the listen streams of every instance (one channel, mcp:events); an
 * input_required call moves between instances from round to round (the
 * sealed requestState carries it, sealed with the key every instance
 * shares); simulated resource updates come from the instance holding the
 * stream only, once per period; and a state sealed with another key is
 * refused unless that key is the instance's previous one (key rotation).
 */
import type { RunningServer } from '../src/server.js';
import { startInstance } from './support/instances.js';
import {
  accept,
  callTool,
  errorOf,
  inputRequiredOf,
  isMethod,
  META_KEYS,
  openListen,
  resultOf,
  toolText,
  type Json,
  type ListenStream,
} from './support/modern.js';

const UPDATE_INTERVAL_MS = 200;

const redisUrl = () => process.env.TEST_REDIS_URL!;

const subscriptionOf = (message: Json) => message.params?._meta?.[META_KEYS.subscriptionId];

describe('2026-07-28 on Redis, instances A and B', () => {
  let A: RunningServer;
  let B: RunningServer;
  const streams: ListenStream[] = [];

  /** A listen stream closed after the test, whatever happens. */
  async function listen(server: RunningServer, filter: Parameters<typeof openListen>[1], id: string): Promise<ListenStream> {
    const stream = await openListen(server.url, filter, { id });
    streams.push(stream);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    const [ack] = await stream.waitFor(isMethod('notifications/subscriptions/acknowledged'), `the acknowledgement of ${id}`);
    expect(stream.messages[0]).toBe(ack);
    expect(subscriptionOf(ack!)).toBe(id);
    expect(ack!.params.notifications).toEqual(filter);
    return stream;
  }

  beforeAll(async () => {
    const env = { RESOURCE_UPDATE_INTERVAL_MS: String(UPDATE_INTERVAL_MS) };
    [A, B] = await Promise.all([startInstance(redisUrl(), env), startInstance(redisUrl(), env)]);
  });

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
  });

  afterAll(async () => {
    await Promise.all([A, B].filter(Boolean).map((s) => s.stop()));
  });

  test('a listen stream on A hears a tool list change triggered through B, and B hears a prompt change triggered through A', async () => {
    const onA = await listen(A, { toolsListChanged: true }, 'listen-A-tools');
    const onB = await listen(B, { promptsListChanged: true }, 'listen-B-prompts');

    expect(toolText(resultOf(await callTool(B.url, 'test_trigger_tool_change')))).toBe('Mutation triggered');
    const [tools] = await onA.waitFor(isMethod('notifications/tools/list_changed'), 'tools/list_changed on A');
    expect(subscriptionOf(tools!)).toBe('listen-A-tools');

    expect(toolText(resultOf(await callTool(A.url, 'test_trigger_prompt_change')))).toBe('Mutation triggered');
    const [prompts] = await onB.waitFor(isMethod('notifications/prompts/list_changed'), 'prompts/list_changed on B');
    expect(subscriptionOf(prompts!)).toBe('listen-B-prompts');

    // Each stream gets only what its filter asked for. A later change from the same publisher is a
    // barrier: once it arrived, the earlier one would have too (one Redis connection keeps order).
    const toolsOnA = onA.of('notifications/tools/list_changed').length;
    await callTool(A.url, 'test_trigger_tool_change');
    await onA.waitFor(isMethod('notifications/tools/list_changed'), 'the barrier on A', 5000, toolsOnA + 1);
    expect(onA.of('notifications/prompts/list_changed')).toEqual([]);
    const promptsOnB = onB.of('notifications/prompts/list_changed').length;
    await callTool(B.url, 'test_trigger_prompt_change');
    await onB.waitFor(isMethod('notifications/prompts/list_changed'), 'the barrier on B', 5000, promptsOnB + 1);
    expect(onB.of('notifications/tools/list_changed')).toEqual([]);
    // Every notification names its stream's subscription.
    expect(onA.messages.every((m) => subscriptionOf(m) === 'listen-A-tools')).toBe(true);
    expect(onB.messages.every((m) => subscriptionOf(m) === 'listen-B-prompts')).toBe(true);
  });

  test('an input_required call started on A is completed through B and A (two retries, alternating)', async () => {
    const tool = 'test_input_required_result_multi_round';
    const first = inputRequiredOf(await callTool(A.url, tool, {}, { id: 'round-1' }));
    expect(Object.keys(first.inputRequests)).toEqual(['step1']);
    expect(first.inputRequests.step1).toMatchObject({ method: 'elicitation/create', params: { message: 'Step 1: What is your name?' } });

    const second = inputRequiredOf(
      await callTool(B.url, tool, {}, { id: 'round-2', inputResponses: { step1: accept({ name: 'Ada' }) }, requestState: first.requestState }),
    );
    expect(Object.keys(second.inputRequests)).toEqual(['step2']);
    expect(second.inputRequests.step2).toMatchObject({ method: 'elicitation/create', params: { message: 'Step 2: What is your favorite color?' } });
    expect(second.requestState).not.toBe(first.requestState);

    // The last retry answers step2 only: step1's answer comes back from the state B sealed.
    const done = resultOf(
      await callTool(A.url, tool, {}, { id: 'round-3', inputResponses: { step2: accept({ color: 'blue' }) }, requestState: second.requestState }),
    );
    expect(done.resultType).toBe('complete');
    expect(toolText(done)).toBe('Multi-round complete for Ada who likes blue');
  });

  test('resource updates reach a listen stream once per period, from its own instance only', async () => {
    const uri = 'test://static/resource/1';
    const onA = await listen(A, { resourceSubscriptions: [uri] }, 'listen-A-resource');
    // B follows the same resource: both instances tick, each for its own streams.
    const onB = await listen(B, { resourceSubscriptions: [uri] }, 'listen-B-resource');
    const updated = isMethod('notifications/resources/updated');
    await onA.waitFor(updated, 'a first update on A', 3000);
    await onB.waitFor(updated, 'a first update on B', 3000);

    const windowMs = 2000;
    const startA = onA.of('notifications/resources/updated').length;
    const startB = onB.of('notifications/resources/updated').length;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const countA = onA.of('notifications/resources/updated').length - startA;
    const countB = onB.of('notifications/resources/updated').length - startB;

    // One per period: at most one more than the window holds (a timer never catches up), and not
    // twice as many, which two instances each sending to every stream would give.
    const periods = windowMs / UPDATE_INTERVAL_MS;
    expect(countA).toBeLessThanOrEqual(periods + 1);
    expect(countA).toBeGreaterThanOrEqual(periods / 3);
    expect(countB).toBeLessThanOrEqual(periods + 1);
    expect(countB).toBeGreaterThanOrEqual(periods / 3);
    for (const message of onA.of('notifications/resources/updated')) {
      expect(message.params.uri).toBe(uri);
      expect(subscriptionOf(message)).toBe('listen-A-resource');
    }
  });
});

describe('2026-07-28 request state across instances with different keys (rotation)', () => {
  const KEY_ONE = 'rotation-test-key-number-one-of-32-bytes-or-more';
  const KEY_TWO = 'rotation-test-key-number-two-of-32-bytes-or-more';
  let oldKey: RunningServer;
  let newKey: RunningServer;
  let rotated: RunningServer;
  const tool = 'test_input_required_result_elicitation';
  const answer = { user_name: accept({ name: 'Alice' }) };

  beforeAll(async () => {
    [oldKey, newKey, rotated] = await Promise.all([
      startInstance(redisUrl(), { REQUEST_STATE_KEY: KEY_ONE }),
      startInstance(redisUrl(), { REQUEST_STATE_KEY: KEY_TWO }),
      startInstance(redisUrl(), { REQUEST_STATE_KEY: KEY_TWO, REQUEST_STATE_KEY_PREVIOUS: KEY_ONE }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([oldKey, newKey, rotated].filter(Boolean).map((s) => s.stop()));
  });

  test('a round started on one instance and retried on an instance with another key is refused with -32602', async () => {
    const { requestState } = inputRequiredOf(await callTool(oldKey.url, tool));
    const refused = await callTool(newKey.url, tool, {}, { inputResponses: answer, requestState });
    const error = errorOf(refused);
    expect(error.code).toBe(-32602);
    expect(error.message).toMatch(/requestState/);
    expect(refused.response?.id).toBe(`call-${tool}`);
    // The same retry on the instance that sealed it succeeds: the state itself was sound.
    expect(toolText(resultOf(await callTool(oldKey.url, tool, {}, { inputResponses: answer, requestState })))).toBe('Hello, Alice!');
  });

  test('with REQUEST_STATE_KEY_PREVIOUS set to the old key, the new instance accepts the old state', async () => {
    const { requestState } = inputRequiredOf(await callTool(oldKey.url, tool));
    expect(toolText(resultOf(await callTool(rotated.url, tool, {}, { inputResponses: answer, requestState })))).toBe('Hello, Alice!');
  });

  test('after the rotation, state sealed with the new key is good on every instance that has it as current key', async () => {
    const { requestState } = inputRequiredOf(await callTool(rotated.url, tool));
    expect(toolText(resultOf(await callTool(newKey.url, tool, {}, { inputResponses: answer, requestState })))).toBe('Hello, Alice!');
    // ... and not on one still running with the old key alone.
    expect(errorOf(await callTool(oldKey.url, tool, {}, { inputResponses: answer, requestState })).code).toBe(-32602);
  });
});
