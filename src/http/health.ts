import type { RequestHandler, Response } from 'express';
import type { Runtime } from '../runtime.js';
import { sendLimitExceeded } from './errors.js';

/** GET /health — liveness: the process answers. A load balancer restarts it when this fails. */
export const health: RequestHandler = (_req, res) => {
  res.status(200).json({ status: 'ok' });
};

/**
 * GET /ready — readiness: the store is reachable, the instance is not draining and
 * not shedding load (memory above its threshold). A load balancer sends traffic
 * only while this answers 200.
 */
export function ready(rt: Runtime): RequestHandler {
  return (_req, res) => {
    const redis = rt.backend.isReady();
    const shedding = rt.shedder.refusal;
    const ok = redis && !rt.draining && !shedding;
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ready' : 'unavailable',
      store: redis ? 'up' : 'down',
      draining: rt.draining,
      shedding: shedding ? shedding.message : false,
    });
  };
}

/**
 * New work (a session, a call, a stream) is refused while memory is above its
 * threshold: 503 with Retry-After, naming the setting. Answers and returns true
 * when it refused.
 */
export function refusedForLoad(rt: Runtime, res: Response): boolean {
  const refusal = rt.shedder.refusal;
  if (!refusal) return false;
  sendLimitExceeded(res, refusal);
  return true;
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
