/**
 * StreamCatchUp over a stand-in event log (an array with the same `after` rule as
 * the stores: events strictly after a position, in order, a page at a time) and a
 * stream that, like the real ones, drops any position not above the last one
 * written, and whose client may stop reading (a byte count with a bound).
 */
import { EVENTS_PER_READ } from '../../store/event-store.js';
import { comparePositions, type StoredEvent } from '../../protocol/event-ids.js';
import { StreamCatchUp } from './stream-catch-up.js';

function event(position: string): StoredEvent {
  return { position, streamKey: 'n:1', delivery: 'd', message: `"${position}"` };
}

function setup(options: { bound?: number } = {}) {
  let log: StoredEvent[] = [];
  let lostForGood = 0;
  const written: string[] = [];
  const warnings: string[] = [];
  let last = '0-0';
  let over = false;
  let failures = 0;
  const reads: string[] = [];
  /** Bytes the client has not read: each message counts 1; the bound is `options.bound` messages. */
  let unread = 0;
  let drainNow: (() => void) | undefined;
  const write = (position: string) => {
    if (comparePositions(position, last) <= 0) return;
    last = position;
    written.push(position);
    unread += 1;
  };
  const catchUp: StreamCatchUp = new StreamCatchUp({
    lastPosition: () => last,
    readAfter: async (position) => {
      reads.push(position);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (failures > 0) {
        failures -= 1;
        throw new Error('The client is closed');
      }
      return log.filter((e) => comparePositions(e.position, position) > 0).slice(0, EVENTS_PER_READ);
    },
    writeStored: (e) => write(e.position),
    isOver: () => over,
    isFull: () => options.bound !== undefined && unread > options.bound,
    drained: () => new Promise<void>((resolve) => (drainNow = resolve)),
    lostForGood: () => void (lostForGood += 1),
    warn: (message) => void warnings.push(message),
  });
  const writeLive = (position: string) => {
    write(position);
    catchUp.wrote();
  };
  /** What the owner publishes: into the log always, to the stream only when `heard`. */
  const publish = (position: string, heard: boolean) => {
    log.push(event(position));
    if (heard && !catchUp.hold(() => writeLive(position), position)) writeLive(position);
  };
  /** A control envelope: never in the log. */
  const control = (name: string) => {
    const deliver = () => void written.push(name);
    if (!catchUp.hold(deliver, undefined)) deliver();
  };
  catchUp.opened();
  return {
    catchUp,
    publish,
    control,
    written,
    reads,
    warnings,
    failNextReads: (n: number) => void (failures = n),
    /** The log keeps only its newest `n` events. */
    trimLog: (n: number) => void (log = log.slice(-n)),
    lostForGood: () => lostForGood,
    end: () => void (over = true),
    /** The client reads everything the socket held. */
    clientReads: () => {
      unread = 0;
      drainNow?.();
      drainNow = undefined;
    },
  };
}

const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

describe('across a lost subscriber connection', () => {
  test('messages lost in the gap are written from the log, in order, before what arrived after it', async () => {
    const s = setup();
    s.publish('1-0', true);
    s.catchUp.lost();
    s.publish('2-0', false);
    s.publish('3-0', false);
    // Heard right after the resubscription, before restored(): it must not hide 2 and 3.
    s.publish('4-0', true);
    s.catchUp.restored();
    s.publish('5-0', true);
    await settle();
    expect(s.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    expect(s.reads).toEqual(['1-0']);
  });

  test('restored() without lost(): the gap starts at the last message written', async () => {
    const s = setup();
    s.publish('1-0', true);
    s.publish('2-0', false);
    s.catchUp.restored();
    await settle();
    expect(s.written).toEqual(['1-0', '2-0']);
  });

  test('a failed read is retried; nothing waiting is let through before it succeeds', async () => {
    const s = setup();
    s.publish('1-0', true);
    s.catchUp.lost();
    s.publish('2-0', false);
    s.failNextReads(2);
    s.catchUp.restored();
    s.publish('3-0', true);
    await settle(50);
    expect(s.written).toEqual(['1-0']);
    // Two failures: two pauses of 250 ms before the third read.
    await settle(800);
    expect(s.written).toEqual(['1-0', '2-0', '3-0']);
    expect(s.reads).toEqual(['1-0', '1-0', '1-0']);
    expect(s.warnings).toHaveLength(2);
  });

  test('a second loss during the read: the whole gap is read again once back', async () => {
    const s = setup();
    s.publish('1-0', true);
    s.catchUp.lost();
    s.publish('2-0', false);
    s.catchUp.restored();
    s.publish('3-0', true);
    s.catchUp.lost();
    s.publish('4-0', false);
    await settle(20);
    // The first read came back meanwhile: it covered only part of the gap, so nothing was written.
    expect(s.written).toEqual(['1-0']);
    s.catchUp.restored();
    s.publish('5-0', true);
    await settle();
    expect(s.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
  });

  test('a stream that ends during the gap writes nothing more', async () => {
    const s = setup();
    s.publish('1-0', true);
    s.catchUp.lost();
    s.publish('2-0', false);
    s.catchUp.restored();
    s.end();
    s.publish('3-0', true);
    await settle();
    expect(s.written).toEqual(['1-0']);
  });

  test('a gap that closes before the stream opens is read once it opens', async () => {
    const written: string[] = [];
    const log = [event('1-0'), event('2-0')];
    let last = '0-0';
    const catchUp = new StreamCatchUp({
      lastPosition: () => last,
      readAfter: async (position) => log.filter((e) => comparePositions(e.position, position) > 0),
      writeStored: (e) => {
        if (comparePositions(e.position, last) <= 0) return;
        last = e.position;
        written.push(e.position);
      },
      isOver: () => false,
      isFull: () => false,
      drained: async () => {},
      lostForGood: () => {},
      warn: () => {},
    });
    catchUp.restored();
    // Held by the stream until it opened, then handed over: it waits for the read.
    expect(catchUp.hold(() => void written.push('3-0 (live)'), '3-0')).toBe(true);
    await settle();
    expect(written).toEqual([]);
    catchUp.opened();
    await settle();
    expect(written).toEqual(['1-0', '2-0', '3-0 (live)']);
  });
});

describe('backpressure: a client that stops reading', () => {
  test('messages in the log are dropped, not held, until the client reads; then they come from the log, in order', async () => {
    const s = setup({ bound: 2 });
    s.publish('1-0', true);
    s.publish('2-0', true);
    s.publish('3-0', true); // the third unread message: over the bound
    for (let i = 4; i <= 50; i++) s.publish(`${i}-0`, true);
    await settle();
    expect(s.written).toEqual(['1-0', '2-0', '3-0']);
    expect(s.reads).toEqual([]);
    s.clientReads();
    await settle();
    // The catch-up wrote up to the bound again, then waits for the next read.
    expect(s.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0', '6-0']);
    expect(s.reads).toEqual(['3-0']);
    for (let round = 0; round < 20; round++) {
      s.clientReads();
      await settle(20);
    }
    expect(s.written).toEqual(Array.from({ length: 50 }, (_, i) => `${i + 1}-0`));
    // Live again: the next message is written at once.
    s.publish('51-0', true);
    expect(s.written.at(-1)).toBe('51-0');
  });

  test('control messages (not in the log) are never dropped: they follow what the log held, in order', async () => {
    const s = setup({ bound: 1 });
    s.publish('1-0', true);
    s.publish('2-0', true); // over the bound
    s.publish('3-0', true);
    s.control('end');
    await settle();
    expect(s.written).toEqual(['1-0', '2-0']);
    s.clientReads();
    await settle();
    expect(s.written).toEqual(['1-0', '2-0', '3-0', 'end']);
  });

  test('more missed than one page: the log is read page after page', async () => {
    const s = setup({ bound: 10_000 });
    s.publish('1-0', true);
    s.catchUp.lost();
    for (let i = 2; i <= EVENTS_PER_READ * 2 + 10; i++) s.publish(`${i}-0`, false);
    s.catchUp.restored();
    await settle(200);
    expect(s.written).toHaveLength(EVENTS_PER_READ * 2 + 10);
    expect(s.reads).toEqual(['1-0', `${EVENTS_PER_READ + 1}-0`, `${EVENTS_PER_READ * 2 + 1}-0`]);
  });

  test('messages dropped while behind that the log no longer holds: the stream is told, and writes nothing more', async () => {
    const s = setup({ bound: 2 });
    for (let i = 1; i <= 20; i++) s.publish(`${i}-0`, true);
    expect(s.written).toEqual(['1-0', '2-0', '3-0']);
    // The log was trimmed while the client did not read: 4-0 to 10-0 are gone.
    s.trimLog(10);
    s.clientReads();
    await settle();
    expect(s.lostForGood()).toBe(1);
    expect(s.written).toEqual(['1-0', '2-0', '3-0']);
  });

  test('a second fall-behind whose drops the log lost is told too (the first one left nothing behind)', async () => {
    const s = setup({ bound: 2 });
    for (let i = 1; i <= 4; i++) s.publish(`${i}-0`, true); // 4-0 dropped
    s.clientReads();
    await settle();
    expect(s.written).toEqual(['1-0', '2-0', '3-0', '4-0']);
    s.clientReads();
    for (let i = 5; i <= 10; i++) s.publish(`${i}-0`, true); // behind again after 7-0
    s.trimLog(2); // 8-0 on are dropped and then trimmed: only 9-0 and 10-0 are left
    s.clientReads();
    await settle();
    expect(s.lostForGood()).toBe(1);
    expect(s.written).not.toContain('9-0');
  });

  test('trimmed, but only what was written already: nothing is lost', async () => {
    const s = setup({ bound: 2 });
    for (let i = 1; i <= 20; i++) s.publish(`${i}-0`, true);
    s.trimLog(17); // keeps 4-0 on: the first message dropped is still there
    for (let round = 0; round < 10; round++) {
      s.clientReads();
      await settle(20);
    }
    expect(s.lostForGood()).toBe(0);
    expect(s.written).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 1}-0`));
  });

  test('a stream that ends while behind reads nothing more', async () => {
    const s = setup({ bound: 1 });
    s.publish('1-0', true);
    s.publish('2-0', true);
    s.publish('3-0', true);
    s.end();
    s.clientReads();
    await settle();
    expect(s.written).toEqual(['1-0', '2-0']);
    expect(s.reads).toEqual([]);
  });
});
