import type { RequestHandler } from 'express';
import type { Runtime } from '../session/runtime.js';

/** GET /health — liveness: the process answers. A load balancer restarts it when this fails. */
export const health: RequestHandler = (_req, res) => {
  res.status(200).json({ status: 'ok' });
};

/**
 * GET /ready — readiness: the store is reachable and the instance is not draining.
 * A load balancer sends traffic only while this answers 200.
 */
export function ready(rt: Runtime): RequestHandler {
  return (_req, res) => {
    const redis = rt.backend.isReady();
    const ok = redis && !rt.draining;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', store: redis ? 'up' : 'down', draining: rt.draining });
  };
}

/**
 * While draining, new requests are turned away (the client retries elsewhere);
 * requests already here finish. The refusal closes the connection, so it waits
 * for the request's body (read and dropped): closing a connection while the
 * client still sends makes the kernel reset it, and a reset can destroy the 503
 * before the client reads it.
 */
export function refuseWhileDraining(rt: Runtime): RequestHandler {
  return (req, res, next) => {
    if (!rt.draining) {
      next();
      return;
    }
    const refuse = () => {
      res.setHeader('Retry-After', '1');
      res.setHeader('Connection', 'close');
      res.status(503).json({ jsonrpc: '2.0', error: { code: -32000, message: 'This server is shutting down; retry the request' }, id: null });
    };
    if (req.complete) refuse();
    else {
      req.once('end', refuse);
      req.resume();
    }
  };
}
