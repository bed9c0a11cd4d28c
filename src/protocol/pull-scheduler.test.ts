import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { directSlotKeys, newFrameState } from './frame-state.ts';
import { lacksFewSlots } from './pull-scheduler.ts';

/** A frame holding every direct key except `missing`. */
function frameLacking(seq: number, keys: number, missing: Iterable<number>) {
  const gone = new Set(missing);
  const f = newFrameState(seq, 0, 60);
  for (let k = 0; k < keys; k++) if (!gone.has(k)) f.have.add(k);
  return f;
}

describe('lacksFewSlots (a direct-fed frame short of the slots of viewers that left)', () => {
  const arb = fc.record({ seq: fc.nat(1e6), slots: fc.integer({ min: 3, max: 40 }), keys: fc.integer({ min: 64, max: 90 }) });

  it('true when the keys it lacks lie in one or two slots, whole or in part', () => {
    fc.assert(fc.property(arb, fc.nat(), fc.nat(), fc.nat(), ({ seq, slots, keys }, a, b, cut) => {
      const lost = [...directSlotKeys(seq, a % slots, slots, keys), ...directSlotKeys(seq, b % slots, slots, keys)];
      const some = lost.slice(cut % lost.length);
      expect(lacksFewSlots(frameLacking(seq, keys, some), { slots, keys })).toBe(some.length > 0);
    }));
  });

  it('false when it lacks keys of three slots or more (a frame still arriving)', () => {
    fc.assert(fc.property(arb, fc.nat(), fc.nat(), ({ seq, slots, keys }, a, pick) => {
      const three = [0, 1, 2].map((i) => { const ks = directSlotKeys(seq, (a + i) % slots, slots, keys); return ks[pick % ks.length]; });
      expect(lacksFewSlots(frameLacking(seq, keys, three), { slots, keys })).toBe(false);
    }));
  });

  it('keys on their way count as held; nothing missing or no direct feed is false', () => {
    const slot3 = directSlotKeys(7, 3, 10, 65);
    const f = frameLacking(7, 65, [...slot3, ...directSlotKeys(7, 4, 10, 65), directSlotKeys(7, 5, 10, 65)[0]]);
    expect(lacksFewSlots(f, { slots: 10, keys: 65 })).toBe(false);
    f.inflight.add(directSlotKeys(7, 5, 10, 65)[0], 'b', 0, 500);
    expect(lacksFewSlots(f, { slots: 10, keys: 65 })).toBe(true);
    expect(lacksFewSlots(frameLacking(7, 65, []), { slots: 10, keys: 65 })).toBe(false);
    expect(lacksFewSlots(frameLacking(7, 65, [1]), undefined)).toBe(false);
  });
});
