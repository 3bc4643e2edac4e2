import { z } from 'zod';
import type { Logger } from '../../observability/logger.js';
import { AuthUnavailableError, type TokenLookup, type TokenLookupResult } from '../token-lookup.js';

const INTROSPECTION_TIMEOUT_MS = 5000;
const USER_ID_MAX = 512;

/** RFC 7662 §2.2, the fields we use; anything else is ignored. */
const IntrospectionResponseSchema = z.looseObject({
  active: z.boolean(),
  sub: z.string().optional(),
  username: z.string().optional(),
  client_id: z.string().optional(),
  scope: z.string().optional(),
  exp: z.number().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
});

const DiscoverySchema = z.looseObject({ introspection_endpoint: z.string().url().optional() });

/** RFC 6749 §2.3.1: client_secret_basic credentials are form-urlencoded before base64. */
function basicCredentials(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

const sameResource = (a: string, b: string) => a.replace(/\/$/, '') === b.replace(/\/$/, '');

/**
 * AUTH_MODE=external: asks the authorization server at AUTH_SERVER_URL about
 * each token (RFC 7662), authenticating as the introspection client
 * (client_secret_basic). The endpoint is AUTH_INTROSPECTION_URL, or the
 * `introspection_endpoint` of the server's RFC 8414 (then OpenID) metadata.
 * Anything but a clear answer (network error, timeout, non-200, unreadable
 * body) is AuthUnavailableError: the client gets 503, never a 401 it would
 * act on by discarding its tokens. CachingVerifier caches the answers briefly.
 */
export class IntrospectionLookup implements TokenLookup {
  private endpoint: Promise<string> | undefined;

  constructor(
    private readonly options: {
      authServerUrl: string;
      introspectionUrl: string | undefined;
      clientId: string;
      clientSecret: string;
      /** Our resource indicator: the audience tokens must carry. */
      resource: string;
      logger: Logger;
    },
  ) {}

  async lookup(token: string): Promise<TokenLookupResult> {
    const endpoint = await this.introspectionEndpoint();
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: basicCredentials(this.options.clientId, this.options.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (error) {
      throw new AuthUnavailableError(`introspection request failed: ${(error as Error).message}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      if (response.status === 401 || response.status === 403) {
        this.options.logger.error('the authorization server refused our introspection credentials', { status: response.status });
      }
      throw new AuthUnavailableError(`introspection answered ${response.status}`);
    }
    let parsed: z.infer<typeof IntrospectionResponseSchema>;
    try {
      parsed = IntrospectionResponseSchema.parse(await response.json());
    } catch (error) {
      throw new AuthUnavailableError(`unreadable introspection response: ${(error as Error).message}`);
    }
    if (!parsed.active) return { active: false };
    const userId = parsed.sub ?? parsed.username;
    if (!userId || userId.length > USER_ID_MAX) return { active: false };
    const audiences = parsed.aud === undefined ? [] : Array.isArray(parsed.aud) ? parsed.aud : [parsed.aud];
    const resource = audiences.find((aud) => sameResource(aud, this.options.resource)) ?? audiences[0];
    const now = Math.floor(Date.now() / 1000);
    return {
      active: true,
      userId,
      clientId: (parsed.client_id ?? '').slice(0, 512),
      scopes: (parsed.scope ?? '').split(' ').filter(Boolean).slice(0, 64).map((s) => s.slice(0, 256)),
      // No exp: trust the answer as long as the cache does; the verifier asks again after that.
      expiresAt: parsed.exp ?? now + 60,
      resource,
    };
  }

  private introspectionEndpoint(): Promise<string> {
    if (this.options.introspectionUrl) return Promise.resolve(this.options.introspectionUrl);
    this.endpoint ??= this.discover().catch((error: unknown) => {
      this.endpoint = undefined; // try again on the next request
      throw error;
    });
    return this.endpoint;
  }

  /** RFC 8414 §3 (path inserted after /.well-known/), then OpenID Connect Discovery. */
  private async discover(): Promise<string> {
    const issuer = new URL(this.options.authServerUrl);
    const path = issuer.pathname.replace(/\/$/, '');
    const candidates = [
      `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
      `${issuer.origin}${path}/.well-known/openid-configuration`,
    ];
    for (const url of candidates) {
      let response: Response;
      try {
        response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(INTROSPECTION_TIMEOUT_MS) });
      } catch (error) {
        throw new AuthUnavailableError(`authorization server metadata unreachable: ${(error as Error).message}`);
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        continue;
      }
      const metadata = DiscoverySchema.safeParse(await response.json().catch(() => undefined));
      if (metadata.success && metadata.data.introspection_endpoint) return metadata.data.introspection_endpoint;
    }
    this.options.logger.error('the authorization server advertises no introspection_endpoint; set AUTH_INTROSPECTION_URL', {
      authServerUrl: this.options.authServerUrl,
    });
    throw new AuthUnavailableError('no introspection endpoint');
  }
}
