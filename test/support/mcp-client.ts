import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** Sends each HTTP request to the next instance in turn: the session is driven through all of them. */
export function alternatingFetch(baseUrls: string[]): FetchLike & { hosts: string[] } {
  let next = 0;
  const hosts: string[] = [];
  const fetchLike = ((input: string | URL, init?: RequestInit) => {
    const url = new URL(input.toString());
    const target = new URL(baseUrls[next++ % baseUrls.length]!);
    url.host = target.host;
    hosts.push(target.host);
    return fetch(url, init);
  }) as FetchLike & { hosts: string[] };
  fetchLike.hosts = hosts;
  return fetchLike;
}

export interface TestClientOptions {
  /** Answer to sampling/createMessage; the request's first text is available to build it. */
  samplingReply?: (prompt: string) => string;
  elicitationReply?: Record<string, unknown>;
}

function buildClient(options: TestClientOptions): Client {
  const client = new Client(
    { name: 'test-client', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const first = request.params.messages[0]?.content;
    const prompt = first && 'text' in first && typeof first.text === 'string' ? first.text : '';
    return {
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: (options.samplingReply ?? ((p) => `sampled(${p})`))(prompt) },
    };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => ({
    action: 'accept',
    content: (options.elicitationReply ?? { name: 'Ada', check: true }) as Record<string, string | number | boolean>,
  }));
  return client;
}

/** An SDK client on Streamable HTTP whose requests alternate across the given instances. */
export async function connectStreamable(baseUrls: string[], options: TestClientOptions = {}) {
  const client = buildClient(options);
  const fetchLike = alternatingFetch(baseUrls);
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', baseUrls[0]), { fetch: fetchLike });
  await client.connect(transport);
  return { client, transport, hosts: fetchLike.hosts };
}

/** An SDK client on legacy HTTP+SSE: the stream on the first instance, every POST on the second. */
export async function connectLegacySse(streamUrl: string, postUrl: string, options: TestClientOptions = {}) {
  const client = buildClient(options);
  const postHost = new URL(postUrl).host;
  const fetchLike: FetchLike = (input, init) => {
    const url = new URL(input.toString());
    if ((init?.method ?? 'GET').toUpperCase() === 'POST') url.host = postHost;
    return fetch(url, init);
  };
  const transport = new SSEClientTransport(new URL('/sse', streamUrl), { fetch: fetchLike });
  await client.connect(transport);
  return { client, transport };
}

/** An SDK client on Streamable HTTP with a bearer token (a signed-in user), on one instance; with its session id. */
export async function connectWithToken(url: string, token: string, name = 'test-client', version = '1.0.0') {
  const client = new Client({ name, version }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return { client, transport, sessionId: transport.sessionId! };
}
