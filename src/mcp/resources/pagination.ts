import { invalidParams } from '../errors.js';

/**
 * Opaque list cursors: base64url of the next page's offset. Only cursors this
 * server could have produced are accepted, so a tampered or stale cursor is an
 * error instead of a silently wrong page.
 */

export function encodeCursor(offset: number): string {
  return Buffer.from(String(offset)).toString('base64url');
}

/** Offset a cursor points to; throws InvalidParams unless it is one of ours for this list. */
export function decodeCursor(cursor: string, pageSize: number, total: number): number {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const offset = /^[1-9][0-9]{0,8}$/.test(decoded) ? Number(decoded) : NaN;
  const valid =
    Number.isInteger(offset) && offset < total && offset % pageSize === 0 && encodeCursor(offset) === cursor;
  if (!valid) throw invalidParams('Invalid cursor');
  return offset;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** One page of `all`. An absent or empty cursor means the first page. */
export function paginate<T>(all: readonly T[], cursor: string | undefined, pageSize: number): Page<T> {
  const start = cursor ? decodeCursor(cursor, pageSize, all.length) : 0;
  const end = Math.min(start + pageSize, all.length);
  const page: Page<T> = { items: all.slice(start, end) };
  if (end < all.length) page.nextCursor = encodeCursor(end);
  return page;
}
