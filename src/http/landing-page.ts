import type { RequestHandler } from 'express';
import { escapeHtml, sendPage } from '../auth/pages/html.js';
import { SERVER_INFO } from '../mcp/everything-server.js';
import { LIST_RESULT as PROMPT_LIST } from '../mcp/prompts/index.js';
import { TEMPLATES_RESULT } from '../mcp/resources/index.js';
import { STATIC_RESOURCES } from '../mcp/resources/static-resources.js';
import { LIST_RESULT as TOOL_LIST } from '../mcp/tools/index.js';
import { SUPPORTED_VERSIONS } from '../modern/wire.js';
import type { Runtime } from '../runtime.js';

/** How long the live figures (instances, sessions) are kept before they are read again. */
const STATUS_CACHE_MS = 5_000;

/** What the landing page says, as data: the JSON answer, and what the HTML is built from. */
export interface Landing {
  name: string;
  version: string;
  description: string;
  endpoints: { streamableHttp: string; legacySse: { stream: string; messages: string }; mySessions?: string };
  protocolVersions: readonly string[];
  authorization: { mode: string; protectedResourceMetadata?: string; authorizationServerMetadata?: string };
  features: {
    tools: Array<{ name: string; title?: string; description?: string }>;
    prompts: Array<{ name: string; title?: string; description?: string }>;
    resources: { static: number; templates: string[] };
  };
  status: { instanceId: string; instancesAlive: number; sessionsOnThisInstance: number; backend: string };
}

/** The catalogue, from the registered definitions themselves: no copy to keep in step. */
const FEATURES: Landing['features'] = {
  tools: TOOL_LIST.tools.map(({ name, title, description }) => ({ name, title, description })),
  prompts: PROMPT_LIST.prompts.map(({ name, title, description }) => ({ name, title, description })),
  resources: { static: STATIC_RESOURCES.length, templates: TEMPLATES_RESULT.resourceTemplates.map((t) => t.uriTemplate) },
};

/** Instances alive, from the registry every instance renews with its lease (read at most every STATUS_CACHE_MS). */
function liveStatus(rt: Runtime): () => Promise<Landing['status']> {
  let cached: { at: number; value: Landing['status'] } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < STATUS_CACHE_MS) return cached.value;
    let instancesAlive: number;
    try {
      instancesAlive = await rt.lease.liveInstances();
    } catch {
      instancesAlive = 0; // unknown: Redis did not answer
    }
    const value = { instanceId: rt.instanceId, instancesAlive, sessionsOnThisInstance: rt.host.size, backend: rt.backend.kind };
    cached = { at: Date.now(), value };
    return value;
  };
}

function describe(rt: Runtime, status: Landing['status']): Landing {
  const base = rt.config.baseUri;
  const internal = rt.config.authMode !== 'none';
  return {
    name: SERVER_INFO.title ?? SERVER_INFO.name,
    version: SERVER_INFO.version,
    description:
      'A hosted Model Context Protocol server that exercises every protocol feature, on both protocol eras at one URL, behind OAuth 2.1 with a fake identity provider, scaled out through Redis.',
    endpoints: {
      streamableHttp: `${base}/mcp`,
      legacySse: { stream: `${base}/sse`, messages: `${base}/message` },
      ...(rt.config.authMode === 'internal' && { mySessions: `${base}/my` }),
    },
    protocolVersions: SUPPORTED_VERSIONS,
    authorization: {
      mode: rt.config.authMode,
      ...(internal && {
        protectedResourceMetadata: `${base}/.well-known/oauth-protected-resource/mcp`,
        authorizationServerMetadata: rt.config.authMode === 'internal' ? `${base}/.well-known/oauth-authorization-server` : undefined,
      }),
    },
    features: FEATURES,
    status,
  };
}

const list = (items: Array<{ name: string; title?: string; description?: string }>, kind: string) =>
  items
    .map(
      (item) =>
        `<li data-${kind}="${escapeHtml(item.name)}"><code>${escapeHtml(item.name)}</code>${item.description ? ` — ${escapeHtml(item.description)}` : ''}</li>`,
    )
    .join('\n');

const STYLE = `
main{max-width:60rem}section{margin-top:1.75rem}h2{font-size:1.1rem;margin-bottom:.5rem}
pre{background:#eef0f3;padding:.75rem;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
ul.features{columns:2;column-gap:2rem;padding-left:1.1rem}ul.features li{break-inside:avoid;margin-bottom:.35rem;font-size:.92rem}
table{border-collapse:collapse}td{padding:.15rem .75rem .15rem 0}`;

function html(landing: Landing): string {
  const e = escapeHtml;
  const mcp = e(landing.endpoints.streamableHttp);
  const { authorization: auth, status } = landing;
  const signIn =
    auth.mode === 'internal'
      ? `<p>Clients sign in with OAuth 2.1 against this server's own authorization server, which sends you to a <strong>fake identity provider</strong>: pick any user id there (it is remembered in your browser), approve, and your client gets a token for that user. Every session and task belongs to the user who made it.</p>
<p>To watch your own sessions, live on every instance, and tap one session's messages as they cross: <a id="my-sessions" href="${e(landing.endpoints.mySessions ?? '')}">my sessions</a> (the same sign-in).</p>
<p class="note">Protected resource metadata: <code id="resource-metadata">${e(auth.protectedResourceMetadata ?? '')}</code></p>`
      : auth.mode === 'external'
        ? `<p>Clients sign in with the identity provider named in the <a href="${e(auth.protectedResourceMetadata ?? '')}">protected resource metadata</a>.</p>`
        : `<p>This deployment runs without authorization (<code>AUTH_MODE=none</code>): every client is the same anonymous user.</p>`;
  const token = auth.mode === 'none' ? '' : ' --header "Authorization: Bearer $MCP_TOKEN"';
  return `<h1>${e(landing.name)}</h1>
<p>${e(landing.description)}</p>

<section id="endpoints"><h2>Give your client this URL</h2>
<p><code id="mcp-url">${mcp}</code> — Streamable HTTP. It speaks protocol <strong>2026-07-28</strong> (stateless: no session) and the sessionful <strong>${e(landing.protocolVersions.slice(1).join(', '))}</strong>, chosen per request.</p>
<p>Legacy HTTP+SSE (2024-11-05): <code id="sse-url">${e(landing.endpoints.legacySse.stream)}</code></p>
</section>

<section id="sign-in"><h2>Signing in</h2>${signIn}</section>

<section id="connect"><h2>Connect</h2>
<p><strong>MCP Inspector</strong> (web): run <code>npx @modelcontextprotocol/inspector</code>, choose transport "Streamable HTTP", URL <code>${mcp}</code>, Connect${auth.mode === 'internal' ? ' (it runs the sign-in above)' : ''}.</p>
<p><strong>MCP Inspector</strong> (CLI)${auth.mode === 'none' ? '' : ', with a token you already hold'}:</p>
<pre id="inspector-cli">npx @modelcontextprotocol/inspector --cli ${mcp} --transport http${token} --method tools/list</pre>
<p><strong>Desktop and IDE clients</strong> (a remote server entry):</p>
<pre id="client-config">${e(JSON.stringify({ mcpServers: { everything: { type: 'http', url: landing.endpoints.streamableHttp } } }, null, 2))}</pre>
<p><strong>curl</strong>, one stateless request (2026-07-28):</p>
<pre id="curl">curl -s ${mcp}${auth.mode === 'none' ? '' : ' -H "Authorization: Bearer $MCP_TOKEN"'} \\
  -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
  -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' \\
  -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'</pre>
<p><strong>TypeScript SDK</strong>:</p>
<pre id="sdk">import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const client = new Client({ name: 'my-client', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL('${mcp}')${
    auth.mode === 'none' ? '' : `, {
  requestInit: { headers: { Authorization: \`Bearer \${process.env.MCP_TOKEN}\` } },
}`
  }));
console.log(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }));</pre>
${auth.mode === 'none' ? '' : `<p class="note">A token without a browser: the OAuth walk-through script of the repository (<code>scratch/oauth.sh ${e(landing.endpoints.streamableHttp.replace(/\/mcp$/, ''))}</code>) registers a client, signs in at the fake identity provider as a user id of your choice and prints a token.</p>`}
</section>

<section id="features"><h2>Features</h2>
<p>${landing.features.tools.length} tools, ${landing.features.prompts.length} prompts, ${landing.features.resources.static} resources and the templates ${landing.features.resources.templates.map((t) => `<code>${e(t)}</code>`).join(', ')}, under the same names in both protocol eras.</p>
<h3>Tools</h3><ul class="features" id="tools">${list(landing.features.tools, 'tool')}</ul>
<h3>Prompts</h3><ul class="features" id="prompts">${list(landing.features.prompts, 'prompt')}</ul>
</section>

<section id="status"><h2>Status</h2>
<table><tr><td>Version</td><td id="version">${e(landing.version)}</td></tr>
<tr><td>Instances alive</td><td id="instances">${status.instancesAlive}</td></tr>
<tr><td>This instance</td><td><code id="instance-id">${e(status.instanceId)}</code>, ${status.sessionsOnThisInstance} sessions, ${e(status.backend)} backend</td></tr></table>
<p class="note">The same as JSON: <code>curl -H 'Accept: application/json' ${e(landing.endpoints.streamableHttp.replace(/\/mcp$/, ''))}/</code></p>
</section>`;
}

/**
 * GET /: what this server is and how to connect to it; a JSON description to
 * `Accept: application/json`, a page (the pages' strict CSP: no script at all) to a browser.
 */
export function landingPage(rt: Runtime): RequestHandler {
  const status = liveStatus(rt);
  return async (req, res) => {
    const landing = describe(rt, await status());
    if (req.accepts(['text/html', 'application/json']) === 'application/json') {
      res.setHeader('Cache-Control', 'no-store');
      res.json(landing);
      return;
    }
    sendPage(res, { status: 200, title: landing.name, body: html(landing), style: STYLE, secure: rt.config.baseUri.startsWith('https:') });
  };
}
