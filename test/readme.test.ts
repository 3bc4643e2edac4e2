/**
 * The README's "Run it" and "Try it" paths, as a newcomer runs them, with the default
 * authorization (AUTH_MODE=internal: the built-in OAuth server and the fake IdP):
 * `node dist/main.js` (what `npm start` runs) logs the public URL it serves; `scratch/oauth.sh`
 * walks the flow and ends with `export MCP_TOKEN=…`, a token /mcp accepts; `scratch/curl-session.sh`
 * runs a whole session with it; the OAuth limits left at their defaults do not count loopback
 * clients. Then two instances on the run's Redis sharing BASE_URI and REQUEST_STATE_KEY, as the
 * README starts them: a token issued through either works on both (and without the shared
 * BASE_URI it would not).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Request } from 'express';
import { fromLoopback } from '../src/auth/rate-limit/limiters.js';
import { loadConfig } from '../src/config.js';
import type { RunningServer } from '../src/server.js';
import { startInstance } from './support/instances.js';
import { mcpHeaders, openSession, post, sseMessages, toolCall } from './support/raw-mcp.js';
import { freePort } from './support/redis-server.js';

const SCRIPTS = path.resolve('scratch');
const SCRIPT_TIMEOUT_MS = 60_000;

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a bash command line in the repository, as a reader would paste it. The
 * environment is this process's, without any MCP_TOKEN of the developer's, plus `env`.
 */
function shell(commandLine: string, env: Record<string, string> = {}): Promise<ScriptRun> {
  const { MCP_TOKEN: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', commandLine],
      { cwd: path.dirname(SCRIPTS), env: { ...inherited, ...env }, timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `scratch/<name> args…`, the arguments quoted for the shell. */
function script(name: string, args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  const quoted = args.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  return shell(`scratch/${name} ${quoted}`, env);
}

function describeRun(run: ScriptRun): string {
  return `exit ${run.code}\n--- stdout (end)\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-2000)}`;
}

/** The token of the line oauth.sh ends with, `export MCP_TOKEN=…`. */
function tokenOf(run: ScriptRun): string {
  const last = run.stdout.trimEnd().split('\n').at(-1) ?? '';
  const match = /^export MCP_TOKEN=(mcp_at_[A-Za-z0-9_-]+)$/.exec(last);
  if (run.code !== 0 || !match) throw new Error(`oauth.sh did not end with a token:\n${describeRun(run)}`);
  return match[1]!;
}

/** A session on `base` with `token`: the tool names its tools/list answers; the session is deleted. */
async function toolNames(base: string, token: string): Promise<string[]> {
  const sessionId = await openSession(base, token);
  const response = await post(base, sessionId, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, undefined, token);
  expect(response.status).toBe(200);
  const [answer] = sseMessages(await response.text());
  const deleted = await fetch(`${base}/mcp`, { method: 'DELETE', headers: mcpHeaders(token, sessionId) });
  await deleted.text();
  expect(deleted.status).toBe(200);
  return (answer?.result?.tools as Array<{ name: string }>).map((tool) => tool.name);
}

/** What curl-session.sh prints for a whole session: the echo, the progress call, the DELETE, then 404. */
function expectWholeSession(run: ScriptRun): void {
  expect({ code: run.code, out: run.code === 0 ? 'ok' : describeRun(run) }).toEqual({ code: 0, out: 'ok' });
  expect(run.stdout).toContain('Echo: hello from curl');
  expect(run.stdout).toContain('"name":"echo"'); // tools/list
  expect(run.stdout).toContain('notifications/progress');
  expect(run.stdout).toContain('Long running operation completed');
  expect(run.stdout).toMatch(/=== DELETE \(expect 200\)\n> DELETE [^\n]+\n< HTTP 200\n/);
  expect(run.stdout).toMatch(/=== the deleted session is gone \(expect 404\)\n[\s\S]*< HTTP\/1\.1 404 Not Found\n\s*$/);
}

interface NodeServer {
  /** The fields of its "listening" log line. */
  listening: Record<string, unknown>;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `node dist/main.js` (what `npm start` runs after building) with nothing set but `env`. */
async function startNode(env: Record<string, string>): Promise<NodeServer> {
  const child = spawn(process.execPath, [path.resolve('dist/main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.message !== 'listening') continue;
          clearTimeout(timer);
          resolve(entry);
          return;
        } catch {
          // the line is not all there yet
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${output}`));
    });
  });
  return {
    listening,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('README, one instance: node dist/main.js, scratch/oauth.sh, scratch/curl-session.sh', () => {
  let server: NodeServer;
  let port: number;
  /** The README's http://localhost:3232, on a port of the test's own. */
  let base: string;

  beforeAll(async () => {
    port = await freePort();
    // Defaults but for the port, and the bind address kept to loopback (HOST) in a test.
    server = await startNode({ PORT: String(port), HOST: '127.0.0.1' });
    base = `http://localhost:${port}`;
  });

  afterAll(async () => {
    await server?.stop();
  });

  test('the start-up log names BASE_URI (default http://localhost:<PORT>) as its url, and the socket it bound apart', async () => {
    expect(server.listening).toMatchObject({
      url: base,
      mcp: `${base}/mcp`,
      address: `127.0.0.1:${port}`,
      authMode: 'internal',
      backend: 'memory',
    });
    // The URL logged is the resource the server's metadata names, which OAuth clients compare with.
    const metadata = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata.resource).toBe(server.listening.mcp);
    expect(metadata.authorization_servers).toEqual([server.listening.url]);
  });

  test('scratch/oauth.sh demonstrates replay, rotation, revocation and reuse, then ends with a token /mcp accepts', async () => {
    const run = await script('oauth.sh', [base]);
    const token = tokenOf(run);
    expect(run.stdout).toContain('/mcp with the revoked token: 401'); // a replayed code revoked its grant
    expect(run.stdout).toContain('Echo: same session, new token'); // after the refresh (rotation)
    expect(run.stdout).toMatch(/=== 13\. POST \/revoke[\s\S]*HTTP\/1\.1 401 Unauthorized/);
    expect(run.stdout).toContain('The refresh token was already used; every token of this grant is revoked');
    expect(run.stdout).toContain('Echo: same session, another grant');
    expect(run.stdout).toContain('DELETE the session: 200');
    expect(await toolNames(base, token)).toContain('echo');
    // A token, once issued, works at any address of the server.
    expect(await toolNames(`http://127.0.0.1:${port}`, token)).toContain('longRunningOperation');
  });

  test('the README\'s commands in one shell: eval the token line of oauth.sh, then curl-session.sh reads MCP_TOKEN', async () => {
    const run = await shell(`set -e; eval "$(scratch/oauth.sh "$BASE" | grep '^export MCP_TOKEN=')"; scratch/curl-session.sh "$BASE"`, {
      BASE: base,
    });
    expectWholeSession(run);
    expect(run.stdout).toMatch(/^token: mcp_at_/);
  });

  test('scratch/curl-session.sh takes the token as its second argument too', async () => {
    const token = tokenOf(await script('oauth.sh', [base]));
    expectWholeSession(await script('curl-session.sh', [base, token]));
  });

  test('scratch/curl-session.sh without a token, or with one the server refuses, says how to get one', async () => {
    const none = await script('curl-session.sh', [base]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('401 Unauthorized');
    expect(none.stderr).toContain('run scratch/oauth.sh');

    const refused = await script('curl-session.sh', [base], { MCP_TOKEN: 'mcp_at_not-a-token' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the token was refused');
  });

  test('OAuth limits left at their defaults do not count this machine: 30 registrations; a forwarded client is counted (20)', async () => {
    const register = (headers: Record<string, string> = {}) =>
      fetch(`${base}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ client_name: 'many', redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }),
      });
    const local: number[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await register();
      await response.text();
      local.push(response.status);
    }
    expect(new Set(local)).toEqual(new Set([201]));

    // Forwarded (a proxy on this host): counted against the socket's address, as before.
    const forwarded: number[] = [];
    let refusal = '';
    for (let i = 0; i < 21; i++) {
      const response = await register({ 'x-forwarded-for': '203.0.113.7' });
      const text = await response.text();
      forwarded.push(response.status);
      if (response.status === 429) refusal = text;
    }
    expect(forwarded).toEqual([...Array(20).fill(201), 429]);
    expect(JSON.parse(refusal)).toMatchObject({ error: 'too_many_requests' });
    expect(JSON.parse(refusal).error_description).toContain('RATE_LIMIT_REGISTER: 20 per 900 s per address');
  });
});

describe('the loopback rule of the OAuth limits', () => {
  test('each limit left unset, with TRUST_PROXY unset, skips loopback clients; a value set, or TRUST_PROXY, counts them', () => {
    const defaults = loadConfig({});
    expect(defaults.rateLimits).toMatchObject({ register: 20, authorize: 100, token: 50, revoke: 50, idp: 100 });
    expect(defaults.oauthLimitsSkipLoopback).toEqual({ register: true, authorize: true, token: true, revoke: true, idp: true });
    const oneSet = loadConfig({ RATE_LIMIT_REGISTER: '20' });
    expect(oneSet.rateLimits.register).toBe(20);
    expect(oneSet.oauthLimitsSkipLoopback).toEqual({ register: false, authorize: true, token: true, revoke: true, idp: true });
    expect(loadConfig({ RATE_LIMIT_TOKEN: '' }).oauthLimitsSkipLoopback.token).toBe(true); // empty counts as unset
    expect(Object.values(loadConfig({ TRUST_PROXY: '1' }).oauthLimitsSkipLoopback)).toEqual([false, false, false, false, false]);
    // A public deployment counts everyone: a local proxy that names no client cannot switch its limits off.
    expect(Object.values(loadConfig({ BASE_URI: 'https://mcp.example.com' }).oauthLimitsSkipLoopback)).toEqual([false, false, false, false, false]);
  });

  const request = (remoteAddress: string | undefined, headers: Record<string, string> = {}) =>
    ({ socket: { remoteAddress }, headers }) as unknown as Request;

  test.each([
    ['127.0.0.1', {}, true],
    ['127.8.9.10', {}, true],
    ['::1', {}, true],
    ['::ffff:127.0.0.1', {}, true],
    ['127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }, false],
    ['::1', { forwarded: 'for=203.0.113.7' }, false],
    ['127.0.0.1', { 'x-real-ip': '203.0.113.7' }, false],
    ['10.0.0.1', {}, false],
    ['192.168.1.127', {}, false],
    ['::ffff:10.0.0.1', {}, false],
    ['2001:db8::1', {}, false],
    [undefined, {}, false],
  ] as const)('peer %s with headers %j: from this machine = %s', (peer, headers, expected) => {
    expect(fromLoopback(request(peer, headers))).toBe(expected);
  });
});

describe('README, several instances on Redis: the same BASE_URI and REQUEST_STATE_KEY', () => {
  const REDIS_URL = process.env.TEST_REDIS_URL!;
  const REQUEST_STATE_KEY = 'readme-request-state-key-of-32-bytes-or-more';
  // The run's Redis is shared with suites running meanwhile from this address: their /mcp
  // reservations count on the same per-address counter, so this one limit is raised here.
  const SHARED_REDIS = { RATE_LIMIT_MCP_PER_MINUTE: '100000' };
  const servers: RunningServer[] = [];
  let baseA: string;
  let baseB: string;
  let token: string;

  beforeAll(async () => {
    const [portA, portB] = await Promise.all([freePort(), freePort()]);
    baseA = `http://localhost:${portA}`;
    baseB = `http://localhost:${portB}`;
    // export BASE_URI=http://localhost:3232 and REQUEST_STATE_KEY, then PORT=3232 and PORT=3233.
    for (const port of [portA, portB]) {
      servers.push(
        await startInstance(REDIS_URL, { AUTH_MODE: 'internal', BASE_URI: baseA, REQUEST_STATE_KEY, PORT: String(port), ...SHARED_REDIS }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  test('a token issued through one instance works on the other, both ways; a session made on one is used on the other', async () => {
    token = tokenOf(await script('oauth.sh', [baseA]));
    expectWholeSession(await script('curl-session.sh', [baseB], { MCP_TOKEN: token }));

    const fromB = tokenOf(await script('oauth.sh', [baseB])); // oauth.sh reads the resource from B's metadata: BASE_URI's
    expect(await toolNames(baseA, fromB)).toContain('echo');

    const sessionId = await openSession(baseA, token);
    const answer = await post(baseB, sessionId, toolCall(1, 'echo', { message: 'made on A, used on B' }), undefined, token);
    expect(answer.status).toBe(200);
    expect(sseMessages(await answer.text())[0]?.result?.content?.[0]?.text).toBe('Echo: made on A, used on B');
    const deleted = await fetch(`${baseB}/mcp`, { method: 'DELETE', headers: mcpHeaders(token, sessionId) });
    await deleted.text();
    expect(deleted.status).toBe(200);
  });

  test('an instance left with its own BASE_URI (http://localhost:<its PORT>) refuses those tokens: 401 "Token was not issued for this resource"', async () => {
    const port = await freePort();
    const alone = await startInstance(REDIS_URL, { AUTH_MODE: 'internal', REQUEST_STATE_KEY, PORT: String(port), ...SHARED_REDIS });
    servers.push(alone);
    const response = await fetch(`http://localhost:${port}/mcp`, {
      method: 'POST',
      headers: mcpHeaders(token),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'readme', version: '1' } } }),
    });
    await response.text();
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Token was not issued for this resource');
  });
});
