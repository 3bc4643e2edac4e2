import cookieParser from 'cookie-parser';
import express, { type CookieOptions, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { BrowserAuth } from '../../auth/index.js';
import { BrowserSessionSeal } from '../../auth/browser/browser-session.js';
import { escapeHtml, sendPage } from '../../auth/pages/html.js';
import { FIRST_PARTY_CLIENT_ID, SignInFailed } from '../../auth/server/first-party-sign-in.js';
import { principalOf } from '../../auth/principal.js';
import { AuthUnavailableError } from '../../auth/token-lookup.js';
import { mySessions, type MySessions } from '../../sessions/console/my-sessions.js';
import type { Runtime } from '../../runtime.js';
import { holdWhileOpen, serviceUnavailable } from '../errors.js';
import { tapStream } from './tap-stream.js';
import { pageBody, SCRIPT, STYLE } from './my-sessions-page.js';

const SESSION_COOKIE = 'mcp_my_session';
const SIGN_IN_COOKIE = 'mcp_my_sign_in';
/** A user's list is asked of every instance at most this often from one instance (others share the answer). */
const LIST_REUSE_MS = 1000;
const MAX_CACHED_USERS = 10_000;

/**
 * The "my sessions" pages: a browser signs in through this server's own
 * authorization server and fake IdP (as the built-in client), gets a sealed
 * cookie naming its user, and sees that user's sessions on every instance and
 * a live tap of one of them. Another user's session is a 404, like on /mcp.
 *
 * GET /my (the page), /my/login and /my/callback (the sign-in), POST /my/logout,
 * GET /my/sessions (the list, JSON), GET /my/sessions/:id/tap (SSE).
 */
export function mySessionsRoutes(rt: Runtime, browser: BrowserAuth): Router {
  const router = express.Router();
  const secure = rt.config.baseUri.startsWith('https:');
  const cookie = (maxAgeS: number): CookieOptions => ({ httpOnly: true, sameSite: 'lax', secure, path: '/my', maxAge: maxAgeS * 1000 });
  const list = listCache(rt);
  router.use(cookieParser());

  /**
   * Who the cookie names, as the request's principal (the rate limits per user read it); or the
   * `otherwise` answer. The data routes answer 401, the page sends the browser to sign in.
   */
  const signedIn =
    (otherwise: (res: Response) => void): RequestHandler =>
    async (req, res, next) => {
      const userId = await browser.seal.userOf(cookieOf(req, SESSION_COOKIE));
      if (!userId) {
        otherwise(res);
        return;
      }
      res.locals.principal = { userId, clientId: FIRST_PARTY_CLIENT_ID, scopes: [] };
      next();
    };
  const dataGate: RequestHandler[] = [browser.perAddress, signedIn(notSignedIn), browser.perUser];

  router.get('/', browser.perAddress, signedIn((res) => res.redirect(302, '/my/login')), (_req, res) => {
    const { userId } = principalOf(res);
    sendPage(res, { status: 200, title: 'My sessions', body: pageBody(userId), script: SCRIPT, style: STYLE, secure, connectSelf: true });
  });

  router.get('/login', browser.limiter, async (_req, res) => {
    const { location, state, verifier } = browser.signIn.begin();
    res.cookie(SIGN_IN_COOKIE, await browser.seal.sealSignIn({ state, verifier }), cookie(BrowserSessionSeal.signInTtlS));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, location);
  });

  router.get('/callback', browser.limiter, async (req, res) => {
    const pending = await browser.seal.openSignIn(cookieOf(req, SIGN_IN_COOKIE));
    res.clearCookie(SIGN_IN_COOKIE, { path: '/my' });
    if (!pending) {
      signInProblem(res, 400, 'This sign-in expired or was started in another browser.', secure);
      return;
    }
    try {
      const userId = await browser.signIn.complete(queryStrings(req), pending);
      res.cookie(SESSION_COOKIE, await browser.seal.sealSession(userId), cookie(browser.seal.ttlS));
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(302, '/my');
    } catch (error) {
      if (error instanceof SignInFailed) signInProblem(res, 400, error.message, secure);
      else if (error instanceof AuthUnavailableError) signInProblem(res, 503, 'The authorization server is temporarily unavailable.', secure);
      else throw error;
    }
  });

  router.post('/logout', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/my' });
    res.redirect(303, '/');
  });

  router.get('/sessions', ...dataGate, async (_req, res) => {
    const { userId } = principalOf(res);
    res.setHeader('Cache-Control', 'no-store');
    try {
      res.json(await list(userId));
    } catch (error) {
      rt.logger.warn('my sessions list failed', { error: (error as Error).message });
      serviceUnavailable(res);
    }
  });

  router.get('/sessions/:sessionId/tap', ...dataGate, async (req, res) => {
    const sealed = cookieOf(req, SESSION_COOKIE);
    const { userId } = principalOf(res);
    const sessionId = String(req.params.sessionId);
    // Unknown, ended or another user's: one answer for all, as on /mcp.
    const stored = await rt.gateway.peek(sessionId);
    if (!stored || stored.userId !== userId) {
      res.status(404).json({ error: 'not_found', error_description: 'No such session' });
      return;
    }
    if (!holdWhileOpen(res, () => rt.streams.acquire(userId))) return;
    await tapStream(rt, res, {
      sessionId,
      // A session that expires unused, or a sign-in that lapses, is announced by nobody: checked now and then.
      stillAllowed: async () => (await browser.seal.userOf(sealed)) === userId && (await rt.gateway.peek(sessionId))?.userId === userId,
    });
  });

  return router;
}

/**
 * The user's list, shared by the requests that ask for it within LIST_REUSE_MS
 * of each other: a page refreshing (or a client hammering) makes at most one
 * ask of every instance per second per user here.
 */
function listCache(rt: Runtime): (userId: string) => Promise<MySessions> {
  const recent = new Map<string, { at: number; answer: Promise<MySessions> }>();
  return (userId) => {
    const now = Date.now();
    const hit = recent.get(userId);
    if (hit && now - hit.at < LIST_REUSE_MS) return hit.answer;
    // Entries are inserted in time order: the stale ones are at the front.
    for (const [user, entry] of recent) {
      if (now - entry.at < LIST_REUSE_MS && recent.size < MAX_CACHED_USERS) break;
      recent.delete(user);
    }
    const answer = mySessions({ directory: rt.directory, census: rt.census, tasks: rt.tasks.records }, userId);
    recent.delete(userId);
    recent.set(userId, { at: now, answer });
    answer.catch(() => {
      if (recent.get(userId)?.answer === answer) recent.delete(userId);
    });
    return answer;
  };
}

function cookieOf(req: Request, name: string): string | undefined {
  const value = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The callback's parameters, each once (a repeated one is dropped, so it cannot be smuggled past the checks). */
function queryStrings(req: Request): Record<string, string | undefined> {
  const params: Record<string, string | undefined> = {};
  for (const name of ['code', 'state', 'iss', 'error']) {
    const value = req.query[name];
    params[name] = typeof value === 'string' ? value : undefined;
  }
  return params;
}

function notSignedIn(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.status(401).json({ error: 'not_signed_in', error_description: 'Sign in at /my/login first' });
}

function signInProblem(res: Response, status: number, message: string, secure: boolean): void {
  sendPage(res, {
    status,
    title: 'Sign-in failed',
    body: `<h1>Sign-in failed</h1><p class="error">${escapeHtml(message)}</p><p><a href="/my/login">Sign in again</a></p>`,
    secure,
  });
}
