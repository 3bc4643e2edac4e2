/**
 * One OAuth parameter from a query or form body. RFC 6749 §3.1: a parameter sent
 * without a value counts as omitted, and none may be sent more than once.
 */
export type Param = { kind: 'missing' } | { kind: 'repeated' } | { kind: 'value'; value: string };

export function readParam(source: unknown, name: string): Param {
  if (source === null || typeof source !== 'object') return { kind: 'missing' };
  const raw = (source as Record<string, unknown>)[name];
  if (raw === undefined || raw === '') return { kind: 'missing' };
  if (typeof raw === 'string') return { kind: 'value', value: raw };
  return { kind: 'repeated' };
}

/** The names of parameters sent more than once (or as nested objects). */
export function repeatedParams(source: unknown): string[] {
  if (source === null || typeof source !== 'object') return [];
  return Object.entries(source as Record<string, unknown>)
    .filter(([, value]) => value !== undefined && typeof value !== 'string')
    .map(([name]) => name);
}

/** The value of a parameter that is present exactly once, else undefined. */
export function single(source: unknown, name: string): string | undefined {
  const param = readParam(source, name);
  return param.kind === 'value' ? param.value : undefined;
}
