import { IncomingMessage, ServerResponse, type RequestListener } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';

type Method = 'GET' | 'POST' | 'DELETE';

/**
 * Serves a few exact routes (method and path, any query string) straight from
 * the HTTP server: each route's express middleware runs in order, with express's
 * own request and response objects, but without express's router. Written by
 * hand because the router matches every layer's path on every request, and on
 * the MCP hot path that walk cost more CPU than the tool call itself
 * (docs/performance.md). Every other request, including spellings the router
 * would also accept (`/MCP`, `/mcp/`) and other methods, goes to the express
 * app, where the same handlers are mounted, so both ways answer alike.
 */
export class DirectRoutes {
  private readonly routes = new Map<string, RequestHandler[]>();

  constructor(
    private readonly app: Express,
    /** Answers a request whose handlers all passed it on. */
    private readonly notFound: RequestHandler,
    private readonly onError: ErrorRequestHandler,
  ) {}

  add(method: Method, path: string, handlers: RequestHandler[]): void {
    this.routes.set(`${method} ${path}`, handlers);
  }

  /** The HTTP server's request listener: a direct route, else the express app. */
  readonly listener: RequestListener = (req, res) => {
    const handlers = this.routes.get(`${req.method} ${pathOf(req.url)}`);
    if (handlers) this.run(handlers, asExpress(this.app, req, res), res as Response);
    else this.app(req, res);
  };

  /** Calls each handler in turn, as express would: on next(), a thrown error or a rejected promise. */
  private run(handlers: RequestHandler[], req: Request, res: Response): void {
    let index = 0;
    const fail = (error: unknown) => this.onError(error ?? new Error('rejected without a reason'), req, res, () => res.end());
    const next: NextFunction = (error?: unknown) => {
      if (error !== undefined && error !== null) {
        fail(error);
        return;
      }
      const handler = handlers[index++];
      if (!handler) {
        void this.notFound(req, res, fail);
        return;
      }
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.catch(fail);
      } catch (thrown) {
        fail(thrown);
      }
    };
    next();
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * What express's app.handle does to a request before its router sees it (Node
 * itself links res.req). The router would also set originalUrl, baseUrl and
 * params, which no handler of these routes reads: every property added after
 * the prototype changed is slow to add.
 */
function asExpress(app: Express, req: IncomingMessage, res: ServerResponse): Request {
  const request = req as Request;
  const response = res as Response;
  // Built as express objects already (expressClasses): changing an object's prototype gives it a
  // hidden class of its own, which every request then pays for in memory and speed.
  if (!Object.prototype.isPrototypeOf.call(app.request, request)) Object.setPrototypeOf(request, app.request);
  if (!Object.prototype.isPrototypeOf.call(app.response, response)) Object.setPrototypeOf(response, app.response);
  request.res = response;
  // The keys the MCP routes set, declared up front: one shared shape, not a dictionary per response.
  response.locals = { principal: undefined, era: undefined, refusedBy: undefined } as Response['locals'];
  return request;
}

/**
 * The request and response classes the HTTP server builds for this app: Node's
 * own, with express's methods in their prototype chain from birth, so that no
 * request has its prototype changed on the hot path (asExpress).
 */
export function expressClasses(app: Express): { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse } {
  class ExpressIncomingMessage extends IncomingMessage {}
  class ExpressServerResponse extends ServerResponse {}
  // Instance → ExpressX.prototype → app.request (express's methods) → Node's prototype.
  Object.setPrototypeOf(ExpressIncomingMessage.prototype, app.request);
  Object.setPrototypeOf(ExpressServerResponse.prototype, app.response);
  return { IncomingMessage: ExpressIncomingMessage, ServerResponse: ExpressServerResponse as typeof ServerResponse };
}
