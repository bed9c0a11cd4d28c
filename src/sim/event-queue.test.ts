import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue } from './event-queue.ts';

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
});
