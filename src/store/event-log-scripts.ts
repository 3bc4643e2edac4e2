import { defineScript } from 'redis';
import type { EventLogBounds } from './event-store.js';

/**
 * The event log's two Lua scripts, registered on the command connection (node-redis
 * sends them with EVALSHA, loading them once). Each element of the list is
 * `position \n delivery \n streamKey \n total \n message`, where `total` counts the
 * bytes appended to the log since it was created, this element included: the bytes
 * held from an element to the end of the list are the last element's total minus
 * the total before that element, so trimming by bytes needs no second key and no
 * walk over the list. An event's size is its element without the total field.
 */

/** Lua: the running total of an element, and the total before it (0 for an element without one). */
const TOTALS = `
local function totalOf(e) return tonumber(string.match(e, '^[^\\n]*\\n[^\\n]*\\n[^\\n]*\\n(%d+)\\n')) end
local function totalBefore(e)
  local t = totalOf(e)
  if not t then return 0 end
  return t - (#e - #string.format('%d', t) - 1)
end`;

/**
 * Appends one event (creating the list with its TTL) and, when the log is past a
 * bound, trims its oldest events in one LTRIM, down to the kept levels (the newest
 * always stays): the first kept element is found by binary search on the totals.
 * Returns the events held, the bytes held and the running total, which the owner's
 * writer then keeps, appending with a plain RPUSHX until the next bound.
 * KEYS: log. ARGV: head (position \n delivery \n streamKey), message, ttl ms,
 * max events, max bytes, kept events, kept bytes.
 */
export const APPEND_EVENT = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `${TOTALS}
local key = KEYS[1]
local size = #ARGV[1] + #ARGV[2] + 1
local last = redis.call('LINDEX', key, -1)
local total = size + ((last and totalOf(last)) or 0)
local n = redis.call('RPUSH', key, ARGV[1] .. '\\n' .. string.format('%d', total) .. '\\n' .. ARGV[2])
if n == 1 then redis.call('PEXPIRE', key, ARGV[3]) end
local maxEvents, maxBytes, keepEvents, keepBytes = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local held = total - totalBefore(redis.call('LINDEX', key, 0))
if n > maxEvents or held > maxBytes then
  local low, high = math.max(0, n - keepEvents), n - 1
  while low < high do
    local mid = math.floor((low + high) / 2)
    if total - totalBefore(redis.call('LINDEX', key, mid)) <= keepBytes then high = mid else low = mid + 1 end
  end
  if low > 0 then
    redis.call('LTRIM', key, low, -1)
    n = n - low
    held = total - totalBefore(redis.call('LINDEX', key, 0))
  end
end
return { n, held, total }`,
  parseCommand(parser, key: string, head: string, message: string, ttlMs: number, bounds: EventLogBounds, kept: EventLogBounds) {
    parser.pushKey(key);
    parser.push(head, message, String(ttlMs), String(bounds.maxEvents), String(bounds.maxBytes), String(kept.maxEvents), String(kept.maxBytes));
  },
  transformReply: undefined as unknown as () => [number, number, number],
});

/**
 * The events of one delivery strictly after a position, at most `limit`: a binary
 * search by position (LINDEX), then a forward scan of what follows, in chunks.
 * KEYS: log. ARGV: position ms, position seq, delivery, limit.
 */
export const EVENTS_AFTER = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `
local key = KEYS[1]
local ms, seq, delivery, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local function isAfter(e)
  local a, b = string.match(e, '^(%d+)%-(%d+)\\n')
  a, b = tonumber(a) or 0, tonumber(b) or 0
  return a > ms or (a == ms and b > seq)
end
local n = redis.call('LLEN', key)
local low, high = 0, n
while low < high do
  local mid = math.floor((low + high) / 2)
  if isAfter(redis.call('LINDEX', key, mid)) then high = mid else low = mid + 1 end
end
local found = {}
local i = low
while i < n and #found < limit do
  for _, e in ipairs(redis.call('LRANGE', key, i, i + 63)) do
    -- Positions are checked again: were two instances to write the log for a moment (a handover), it may be out of order.
    if string.match(e, '^[^\\n]*\\n([^\\n]*)\\n') == delivery and isAfter(e) then
      found[#found + 1] = e
      if #found >= limit then break end
    end
  end
  i = i + 64
end
return found`,
  parseCommand(parser, key: string, position: string, delivery: string, limit: number) {
    const [ms = '0', seq = '0'] = position.split('-');
    parser.pushKey(key);
    parser.push(ms, seq, delivery, String(limit));
  },
  transformReply: undefined as unknown as () => string[],
});

export const eventLogScripts = { appendEvent: APPEND_EVENT, eventsAfter: EVENTS_AFTER };
