import { describe, expect, it } from 'vitest';
import { SendQueue } from './send-queue.ts';
import type { WireMessage } from './wire.ts';

const feed = (x: number): WireMessage => ({ type: 'feed', seq: 1, x, payload: new Uint8Array(100) });
const pumpAll = (q: SendQueue, nowMs: number, budget = Infinity) => {
  const out: number[] = [];
  q.pump(nowMs, budget, (m) => out.push((m as { x: number }).x));
  return out;
};

describe('SendQueue', () => {
  it('hands out messages in order while the channel buffer stays under the budget', () => {
    const q = new SendQueue(10);
    for (let x = 0; x < 5; x++) q.push(feed(x), 1000);
    expect(pumpAll(q, 0, 250)).toEqual([0, 1, 2]);
    expect(q.buffered).toBe(3 * 107);
    expect(q.length).toBe(2);
    q.buffered = 0;
    expect(pumpAll(q, 0)).toEqual([3, 4]);
    expect(q.length).toBe(0);
  });

  it('rewrite replaces the queued messages it is given a new one for, in place (ring wrapped too)', () => {
    const q = new SendQueue(4);
    for (let x = 0; x < 6; x++) q.push(feed(x), 1000); // 0 and 1 dropped: the ring has wrapped
    q.rewrite((m) => (m.type === 'feed' && m.x % 2 === 0 ? { ...m, x: m.x + 100 } : undefined));
    expect(pumpAll(q, 0)).toEqual([102, 3, 104, 5]);
  });

  it('pushFirst: those messages leave before the backlog, in their own order, and expire like the others', () => {
    const q = new SendQueue(3);
    for (let x = 0; x < 3; x++) q.push(feed(x), 1000);
    q.pushFirst(feed(100), 1000);
    q.pushFirst(feed(101), 50);
    q.pushFirst(feed(102), 1000);
    expect(q.length).toBe(6);
    expect(pumpAll(q, 0, 250)).toEqual([100, 101, 102]);
    q.buffered = 0;
    q.pushFirst(feed(103), 50);
    q.pushFirst(feed(104), 1000);
    expect(pumpAll(q, 100)).toEqual([104, 0, 1, 2]);
    expect(q.stale).toBe(1);
  });

  it('pushAsked: answers to a request leave after the seeds and before the pushed backlog, and expire like the others', () => {
    const q = new SendQueue(4);
    for (let x = 0; x < 4; x++) q.push(feed(x), 1000);
    q.pushAsked(feed(200), 1000);
    q.pushAsked(feed(201), 50);
    q.pushFirst(feed(100), 1000);
    q.pushAsked(feed(202), 1000);
    expect(q.length).toBe(8);
    q.rewrite((m) => (m.type === 'feed' && m.x === 202 ? { ...m, x: 203 } : undefined));
    expect(pumpAll(q, 0, 250)).toEqual([100, 200, 201]);
    q.buffered = 0;
    expect(pumpAll(q, 60)).toEqual([203, 0, 1, 2, 3]);
    expect(q.stale).toBe(0);
    q.pushAsked(feed(204), 50);
    expect(pumpAll(q, 60)).toEqual([]);
    expect(q.stale).toBe(1);
    for (let x = 0; x < 5; x++) q.pushAsked(feed(210 + x), 1000);
    expect(q.dropped).toBe(1);
    expect(pumpAll(q, 60)).toEqual([211, 212, 213, 214]);
  });

  it('drops the oldest message when full and stale messages when pumped', () => {
    const q = new SendQueue(3);
    for (let x = 0; x < 5; x++) q.push(feed(x), x < 3 ? 50 : 1000);
    expect(q.dropped).toBe(2);
    expect(pumpAll(q, 100)).toEqual([3, 4]);
    expect(q.stale).toBe(1);
  });

  it('keeps order across many pushes and pumps (the ring wraps and grows)', () => {
    const q = new SendQueue(1000);
    const got: number[] = [];
    let x = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < (round % 7) + 1; k++) q.push(feed(x++ % 256), 1000);
      q.buffered = 0;
      got.push(...pumpAll(q, 0, 3 * 107));
    }
    q.buffered = 0;
    got.push(...pumpAll(q, 0));
    expect(got).toEqual(Array.from({ length: x }, (_, i) => i % 256));
  });

  it('a queue of no items sends nothing', () => {
    const q = new SendQueue(0);
    q.push(feed(1), 1000);
    expect(pumpAll(q, 0)).toEqual([]);
    expect(q.dropped).toBe(1);
  });
});
