import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';

type HeaderEdit = [name: string, value: string | undefined];

/**
 * helmet's headers (its defaults), on every response. With static options they
 * are the same on every response, so they are recorded once from helmet itself
 * and replayed: running helmet's thirteen middlewares per request cost about 3 %
 * of a tool call's CPU.
 */
export function securityHeaders(): RequestHandler {
  const edits = recordHelmet();
  return (_req, res, next) => {
    for (const [name, value] of edits) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

function recordHelmet(): HeaderEdit[] {
  const edits: HeaderEdit[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => void edits.push([name, String(value)]),
    removeHeader: (name: string) => void edits.push([name, undefined]),
  } as unknown as Response;
  let passedOn = false;
  helmet()({} as never, recorder, () => (passedOn = true));
  // helmet's defaults never wait or vary by request; if that ever changes, fail at start-up.
  if (!passedOn) throw new Error('helmet did not finish synchronously: its headers cannot be recorded');
  return edits;
}
