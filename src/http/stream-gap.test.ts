/**
 * StreamGap over a stand-in event log (an array with the same `after` rule as the
 * stores: events strictly after a position, in order) and a stream that, like the
 * real ones, drops any position not above the last one written.
 */
import { comparePositions, type StoredEvent } from '../routing/event-store.js';
import { StreamGap } from './stream-gap.js';

function event(position: string): StoredEvent {
  return { position, streamKey: 'n:1', delivery: 'd', message: `"${position}"` };
}

function setup() {
  const log: StoredEvent[] = [];
  const written: string[] = [];
  const warnings: string[] = [];
  let last = '0-0';
  let over = false;
  let failures = 0;
  const reads: string[] = [];
  const write = (position: string) => {
    if (comparePositions(position, last) <= 0) return;
    last = position;
    written.push(position);
  };
  const gap = new StreamGap({
    lastPosition: () => last,
    readAfter: async (position) => {
      reads.push(position);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (failures > 0) {
        failures -= 1;
        throw new Error('The client is closed');
      }
      return log.filter((e) => comparePositions(e.position, position) > 0);
    },
    writeStored: (e) => write(e.position),
    isOver: () => over,
    warn: (message) => void warnings.push(message),
  });
  /** What the owner publishes: into the log always, to the stream only when `heard`. */
  const publish = (position: string, heard: boolean) => {
    log.push(event(position));
    if (heard && !gap.hold(() => write(position))) write(position);
  };
  gap.opened();
  return {
    gap,
    publish,
    written,
    reads,
    warnings,
    failNextReads: (n: number) => void (failures = n),
    end: () => void (over = true),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

test('messages lost in the gap are written from the log, in order, before what arrived after it', async () => {
  const s = setup();
  s.publish('1-0', true);
  s.gap.lost();
  s.publish('2-0', false);
  s.publish('3-0', false);
  // Heard right after the resubscription, before restored(): it must not hide 2 and 3.
  s.publish('4-0', true);
  s.gap.restored();
  s.publish('5-0', true);
  await settle();
  expect(s.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
  expect(s.reads).toEqual(['1-0']);
});

test('restored() without lost(): the gap starts at the last message written', async () => {
  const s = setup();
  s.publish('1-0', true);
  s.publish('2-0', false);
  s.gap.restored();
  await settle();
  expect(s.written).toEqual(['1-0', '2-0']);
});

test('a failed read is retried; nothing waiting is let through before it succeeds', async () => {
  const s = setup();
  s.publish('1-0', true);
  s.gap.lost();
  s.publish('2-0', false);
  s.failNextReads(2);
  s.gap.restored();
  s.publish('3-0', true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(s.written).toEqual(['1-0']);
  // Two failures: two pauses of 250 ms before the third read.
  await new Promise((resolve) => setTimeout(resolve, 800));
  expect(s.written).toEqual(['1-0', '2-0', '3-0']);
  expect(s.reads).toEqual(['1-0', '1-0', '1-0']);
  expect(s.warnings).toHaveLength(2);
});

test('a second loss during the read: the whole gap is read again once back', async () => {
  const s = setup();
  s.publish('1-0', true);
  s.gap.lost();
  s.publish('2-0', false);
  s.gap.restored();
  s.publish('3-0', true);
  s.gap.lost();
  s.publish('4-0', false);
  await new Promise((resolve) => setTimeout(resolve, 20));
  // The first read came back meanwhile: it covered only part of the gap, so nothing was written.
  expect(s.written).toEqual(['1-0']);
  s.gap.restored();
  s.publish('5-0', true);
  await settle();
  expect(s.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
});

test('a stream that ends during the gap writes nothing more', async () => {
  const s = setup();
  s.publish('1-0', true);
  s.gap.lost();
  s.publish('2-0', false);
  s.gap.restored();
  s.end();
  s.publish('3-0', true);
  await settle();
  expect(s.written).toEqual(['1-0']);
});

test('a gap that closes before the stream opens is read once it opens', async () => {
  const written: string[] = [];
  const log = [event('1-0'), event('2-0')];
  let last = '0-0';
  const gap = new StreamGap({
    lastPosition: () => last,
    readAfter: async (position) => log.filter((e) => comparePositions(e.position, position) > 0),
    writeStored: (e) => {
      if (comparePositions(e.position, last) <= 0) return;
      last = e.position;
      written.push(e.position);
    },
    isOver: () => false,
    warn: () => {},
  });
  gap.restored();
  // Held by the stream until it opened, then handed over: it waits for the read.
  expect(gap.hold(() => void written.push('3-0 (live)'))).toBe(true);
  await settle();
  expect(written).toEqual([]);
  gap.opened();
  await settle();
  expect(written).toEqual(['1-0', '2-0', '3-0 (live)']);
});
