import type { RequestHandler } from 'express';
import type { Logger } from './logger.js';

/**
 * One structured line per HTTP request (level 'http'), with the session it
 * concerned, so that a session can be followed across instances in the logs.
 * Installed only when that level is enabled: the hot path pays nothing otherwise.
 */
export function accessLog(logger: Logger): RequestHandler | undefined {
  if (!logger.isLevelEnabled('http')) return undefined;
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('close', () => {
      logger.http('request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        sessionId: req.headers['mcp-session-id'] ?? res.getHeader('mcp-session-id') ?? req.query.sessionId,
        aborted: !res.writableFinished,
      });
    });
    next();
  };
}
