import express, { type RequestHandler } from 'express';

/** Shaped like body-parser's errors, which errorHandler turns into the MCP answers (400 -32700, 413). */
class BodyError extends Error {
  readonly expose = true;
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
  ) {
    super(message);
  }
}

/**
 * Parses any JSON value into req.body, as express.json({ strict: false }) does.
 * The body every MCP client sends (uncompressed, a Content-Length within the
 * limit, a Content-Type with no charset parameter, so UTF-8) is read here
 * directly; anything else goes to express.json itself. body-parser's generality
 * (charsets, inflation, content negotiation done again) cost about 4 % of a tool
 * call's CPU.
 */
export function jsonBody(limit: number): RequestHandler {
  const general = express.json({ limit, strict: false, type: () => true });
  return (req, res, next) => {
    const length = Number(req.headers['content-length']);
    const plain =
      req.headers['content-encoding'] === undefined &&
      req.headers['transfer-encoding'] === undefined &&
      Number.isInteger(length) &&
      length > 0 &&
      length <= limit &&
      !req.headers['content-type']?.includes(';');
    if (!plain) {
      void general(req, res, next);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('error', () => next(new BodyError('request aborted', 400, 'request.aborted')));
    req.once('end', () => {
      let text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        req.body = JSON.parse(text) as unknown;
      } catch (error) {
        next(new BodyError((error as Error).message, 400, 'entity.parse.failed'));
        return;
      }
      next();
    });
  };
}
