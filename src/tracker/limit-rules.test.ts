// The tracker's limit bookkeeping at its edges, with times passed in (no server, no sockets): the
// token bucket of sockets and addresses, signal budgets per pair, the per-address book, and the
// room's join limits (ROOM_FULL, PEER_EXISTS, a broadcaster replaced in a full room).
import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { AddressBook } from './address-book.ts';
import { Room } from './room.ts';
import { DEFAULT_TRACKER_LIMITS, take, type Bucket, type TrackerLimits } from './server-config.ts';
import { SignalBudget } from './signal-budget.ts';

const limits = (l: Partial<TrackerLimits> = {}): TrackerLimits => ({ ...DEFAULT_TRACKER_LIMITS, ...l });

describe('take (token bucket)', () => {
  it('takes up to the burst at once, then one more per 1/rate seconds, not a millisecond sooner', () => {
    const b: Bucket = { tokens: 3, lastMs: 0 };
    expect([take(b, 2, 3, 0), take(b, 2, 3, 0), take(b, 2, 3, 0), take(b, 2, 3, 0)]).toEqual([true, true, true, false]);
    expect(take(b, 2, 3, 499)).toBe(false); // 0.998 of a token
    expect(take(b, 2, 3, 500)).toBe(true); // 499 ms + 1 ms: one whole token
    expect(b.tokens).toBeCloseTo(0, 9);
  });

  it('refills no further than the burst, and a refused take costs nothing', () => {
    const b: Bucket = { tokens: 0, lastMs: 0 };
    expect(take(b, 10, 2, 0)).toBe(false);
    expect(b.tokens).toBe(0);
    expect(b.lastMs).toBe(0);
    // An hour later: two tokens (the burst), not 36 000.
    expect([take(b, 10, 2, 3_600_000), take(b, 10, 2, 3_600_000), take(b, 10, 2, 3_600_000)]).toEqual([true, true, false]);
  });
});

describe('SignalBudget', () => {
  const l = { pairSignalRatePerSec: 10, pairSignalBurst: 8, pairSignalUnitBytes: 100 };

  it('costs ⌈bytes / unit⌉, at least 1', () => {
    const s = new SignalBudget(l);
    expect([0, 1, 99, 100, 101, 200, 201].map((n) => s.cost(n))).toEqual([1, 1, 1, 1, 2, 2, 3]);
  });

  it('spends the burst, refuses what is more than is left without spending it, refills at the rate', () => {
    const s = new SignalBudget(l);
    expect(s.spend('x', 5, 0)).toBe(true);
    expect(s.spend('x', 4, 0)).toBe(false); // 3 left: nothing spent
    expect(s.spend('x', 3, 0)).toBe(true); // exactly what is left
    expect(s.spend('x', 1, 99)).toBe(false); // 0.99 of a unit
    expect(s.spend('x', 1, 100)).toBe(true);
    // Never more than the burst, however long it rested.
    expect(s.spend('x', 9, 1_000_000)).toBe(false);
    expect(s.spend('x', 8, 1_000_000)).toBe(true);
  });

  it('keeps one budget per receiver', () => {
    const s = new SignalBudget(l);
    expect(s.spend('x', 8, 0)).toBe(true);
    expect(s.spend('x', 1, 0)).toBe(false);
    expect(s.spend('y', 8, 0)).toBe(true);
  });

  it('charges a dropped signal below zero, down to minus one burst, so the sender waits it off', () => {
    const s = new SignalBudget(l);
    s.charge('x', 3, 0); // 8 - 3 = 5
    expect(s.spend('x', 6, 0)).toBe(false);
    expect(s.spend('x', 5, 0)).toBe(true);
    s.charge('x', 100, 0); // floored at -8
    // -8 + 10/s: 0.9 s later it has 1 unit (not yet at 0.8 s + a bit).
    expect(s.spend('x', 1, 899)).toBe(false);
    expect(s.spend('x', 1, 900)).toBe(true);
  });

  it('forgets a receiver on demand, and the oldest of more than 160 receivers', () => {
    const s = new SignalBudget(l);
    expect(s.spend('first', 8, 0)).toBe(true);
    s.forget('first');
    expect(s.spend('first', 8, 0)).toBe(true); // a fresh budget
    // 159 other receivers: 160 pairs in all, `first` still remembered (spent).
    for (let i = 1; i < 160; i++) s.spend(`r${i}`, 1, 0);
    expect(s.spend('first', 1, 0)).toBe(false);
    // The 161st pair pushes out the oldest by first use: `first`, which then starts afresh.
    s.spend('r160', 1, 0);
    expect(s.spend('first', 8, 0)).toBe(true);
    // … and the next oldest went when `first` came back; the newest is still remembered (7 left).
    expect(s.spend('r1', 8, 0)).toBe(true);
    expect(s.spend('r160', 8, 0)).toBe(false);
  });
});

describe('AddressBook', () => {
  it('counts sockets per key and never below zero', () => {
    const book = new AddressBook(limits());
    book.open('a', 0);
    book.open('a', 0);
    book.open('b', 0);
    expect([book.sockets('a'), book.sockets('b'), book.sockets('c'), book.size]).toEqual([2, 1, 0, 2]);
    book.close('a');
    book.close('a');
    book.close('a');
    book.close('nobody');
    expect(book.sockets('a')).toBe(0);
  });

  it('shares one message budget and one join budget among the sockets of a key', () => {
    const book = new AddressBook(limits({ addressBurst: 2, addressRatePerSec: 1, addressJoinBurst: 1, addressJoinRatePerSec: 0.5 }));
    const a1 = book.open('a', 0);
    const a2 = book.open('a', 0);
    expect(a2).toBe(a1);
    expect([book.takeMessage(a1, 0), book.takeMessage(a2, 0), book.takeMessage(a1, 0)]).toEqual([true, true, false]);
    expect(book.takeMessage(a2, 1000)).toBe(true);
    expect([book.takeJoin(a1, 0), book.takeJoin(a2, 0)]).toEqual([true, false]);
    expect(book.takeJoin(a2, 1999)).toBe(false);
    expect(book.takeJoin(a2, 2000)).toBe(true);
    // Another key has budgets of its own.
    const b = book.open('b', 0);
    expect([book.takeMessage(b, 0), book.takeJoin(b, 0)]).toEqual([true, true]);
  });

  it('keeps an address with no socket until both its budgets are full again, then forgets it', () => {
    const book = new AddressBook(limits({ addressBurst: 4, addressRatePerSec: 2, addressJoinBurst: 2, addressJoinRatePerSec: 1 }));
    const a = book.open('a', 0);
    book.takeMessage(a, 0); // 3 of 4 left: full again after 500 ms
    book.takeJoin(a, 0);
    book.takeJoin(a, 0); // 0 of 2 left: full again after 2000 ms
    book.prune(10_000);
    expect(book.size).toBe(1); // a socket is open
    book.close('a');
    book.prune(1999);
    expect(book.size).toBe(1); // joins not refilled yet
    book.prune(2000);
    expect(book.size).toBe(0);
    // A forgotten address comes back with full budgets, not the spent ones.
    const again = book.open('a', 2000);
    expect(again).not.toBe(a);
    expect([book.takeJoin(again, 2000), book.takeJoin(again, 2000), book.takeJoin(again, 2000)]).toEqual([true, true, false]);
  });

  it('refills from the time of the last take at the configured rate, not from time zero', () => {
    const book = new AddressBook(limits({ addressBurst: 4, addressRatePerSec: 4, addressJoinBurst: 2, addressJoinRatePerSec: 2 }));
    const a = book.open('a', 10_000);
    for (let i = 0; i < 4; i++) book.takeMessage(a, 10_000); // empty: 4/s, full again at 11 000
    book.close('a');
    book.prune(10_999);
    expect(book.size).toBe(1);
    book.prune(11_000);
    expect(book.size).toBe(0);
    const b = book.open('b', 10_000);
    book.takeJoin(b, 10_000);
    book.takeJoin(b, 10_000); // empty: 2/s, full again at 11 000
    book.close('b');
    book.prune(10_999);
    expect(book.size).toBe(1);
    book.prune(11_000);
    expect(book.size).toBe(0);
  });

  it('waits for the message budget too before forgetting', () => {
    const book = new AddressBook(limits({ addressBurst: 4, addressRatePerSec: 2, addressJoinBurst: 2, addressJoinRatePerSec: 1 }));
    const a = book.open('a', 0);
    for (let i = 0; i < 4; i++) book.takeMessage(a, 0); // empty: full again after 2000 ms
    book.close('a');
    book.prune(1999);
    expect(book.size).toBe(1);
    book.prune(2000);
    expect(book.size).toBe(0);
    // An address untouched since it opened is forgotten at once when its socket closes.
    book.open('b', 5000);
    book.close('b');
    book.prune(5000);
    expect(book.size).toBe(0);
  });
});

describe('Room join limits', () => {
  const STREAM = 'S'.repeat(43);
  const room = (maxPeers: number) => new Room(STREAM, { seed: 3, maxPeers });

  it('takes the maxPeers-th peer and refuses the next with ROOM_FULL, leaving the room as it was', () => {
    const r = room(2);
    r.join('viewer0001', {}, 0);
    r.join('viewer0002', {}, 0);
    r.pollEvents();
    expectCode(() => r.join('viewer0003', {}, 1), 'ROOM_FULL');
    expect(r.size).toBe(2);
    expect(r.has('viewer0003')).toBe(false);
    expect(r.pollEvents()).toEqual([]);
  });

  it('lets a new broadcaster replace the old one in a full room (the old one is told: replaced)', () => {
    const r = room(2);
    r.join('broadcast1', { broadcaster: true }, 0);
    r.join('viewer0001', {}, 0);
    r.pollEvents();
    r.join('broadcast2', { broadcaster: true }, 1);
    expect(r.has('broadcast1')).toBe(false);
    expect(r.has('broadcast2')).toBe(true);
    expect(r.size).toBe(2);
    expect(r.pollEvents()).toContainEqual({ type: 'close', to: 'broadcast1', reason: 'replaced' });
    // A viewer still finds the room full.
    expectCode(() => r.join('viewer0002', {}, 2), 'ROOM_FULL');
  });

  it('refuses a peer id already in the room with PEER_EXISTS, viewer or broadcaster, and keeps the one there', () => {
    const r = room(10);
    r.join('broadcast1', { broadcaster: true }, 0);
    r.join('viewer0001', {}, 0);
    expectCode(() => r.join('viewer0001', { broadcaster: true }, 1), 'PEER_EXISTS');
    expectCode(() => r.join('broadcast1', {}, 1), 'PEER_EXISTS');
    expect(r.size).toBe(2);
    expect(r.has('broadcast1')).toBe(true);
  });
});
