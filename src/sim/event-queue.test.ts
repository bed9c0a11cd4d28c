import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue, TimedHeap } from './event-queue.ts';

describe('EventQueue', () => {
  it('pops in time order, ties in insertion order, with pushes during the run', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 20000, noNaN: true }), { maxLength: 300 }), fc.array(fc.double({ min: 0, max: 9000, noNaN: true }), { maxLength: 100 }), (times, later) => {
        const q = new EventQueue<{ t: number; id: number; n?: number }>();
        times.forEach((t, id) => q.push({ t, id }));
        const out: Array<{ t: number; id: number }> = [];
        let extra = 0;
        for (let e = q.pop(); e; e = q.pop()) {
          out.push(e);
          if (extra < later.length) q.push({ t: e.t + later[extra], id: 1000 + extra++ });
        }
        expect(out.length).toBe(times.length + extra);
        for (let i = 1; i < out.length; i++) expect(out[i].t).toBeGreaterThanOrEqual(out[i - 1].t);
        const same = out.filter((e) => e.id < 1000);
        for (let i = 1; i < same.length; i++) if (same[i].t === same[i - 1].t) expect(same[i].id).toBeGreaterThan(same[i - 1].id);
      }),
    );
  });

  it('peek shows the next event without taking it', () => {
    const q = new EventQueue<{ t: number; n?: number }>();
    expect(q.peek()).toBeUndefined();
    const a = { t: 7000 };
    const b = { t: 3.5 };
    q.push(a);
    q.push(b);
    expect(q.peek()).toBe(b);
    expect(q.size).toBe(2);
    expect(q.pop()).toBe(b);
    expect(q.peek()).toBe(a);
    // An event pushed after a peek that skipped ahead still comes out first.
    const c = { t: 10 };
    q.push(c);
    expect(q.pop()).toBe(c);
    expect(q.pop()).toBe(a);
    expect(q.pop()).toBeUndefined();
  });
});

describe('TimedHeap', () => {
  it('pops in time order, ties in insertion order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (times) => {
        const h = new TimedHeap<{ t: number; id: number; n?: number }>();
        times.forEach((t, id) => h.push({ t, id }));
        expect(h.size).toBe(times.length);
        const out: Array<{ t: number; id: number }> = [];
        for (let e = h.pop(); e; e = h.pop()) out.push(e);
        const want = times.map((t, id) => ({ t, id })).sort((x, y) => x.t - y.t || x.id - y.id);
        expect(out.map((e) => e.id)).toEqual(want.map((e) => e.id));
        expect(h.nextT).toBe(Infinity);
      }),
    );
  });

  it('keeps order when pushes and pops interleave', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean()), { maxLength: 300 }), (ops) => {
        const h = new TimedHeap<{ t: number; id: number; n?: number }>();
        let ref: Array<{ t: number; id: number }> = [];
        ops.forEach(([t, pop], id) => {
          if (pop) {
            ref.sort((x, y) => x.t - y.t || x.id - y.id);
            expect(h.pop()?.id).toBe(ref.shift()?.id);
          } else {
            h.push({ t, id });
            ref.push({ t, id });
          }
          expect(h.size).toBe(ref.length);
        });
        ref = ref.sort((x, y) => x.t - y.t || x.id - y.id);
        for (const want of ref) expect(h.pop()?.id).toBe(want.id);
      }),
    );
  });
});
