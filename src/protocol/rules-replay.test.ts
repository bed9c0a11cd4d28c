// The replay window and the direct-feed slot rule at their exact edges, as pure functions: a
// sequence exactly `size` below the newest is refused, one less below is admitted; pruning keeps
// memory within 2·size and forgets nothing inside the window; slot i of n gets exactly the keys
// k < keys with (k + seq) mod n = i, the last key included and none beyond.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { directSlotKeys } from './frame-state.ts';
import { ReplayWindow } from './manifest.ts';

const seenOf = (w: ReplayWindow) => (w as unknown as { seen: Set<number> }).seen;

describe('replay window edges', () => {
  it('before anything is admitted every sequence is fresh, 0 included', () => {
    const w = new ReplayWindow(4);
    expect(w.newestSeq).toBe(-1);
    for (const s of [0, 1, 1000]) expect(w.fresh(s)).toBe(true);
  });

  it('newest − size is refused, newest − size + 1 admitted', () => {
    for (const size of [1, 4, 512]) {
      const w = new ReplayWindow(size);
      w.admit(1000);
      expect(w.fresh(1000 - size), `size ${size}`).toBe(false);
      expect(w.fresh(1000 - size + 1), `size ${size}`).toBe(size > 1);
      expect(w.fresh(1001)).toBe(true);
      expect(w.fresh(1000)).toBe(false);
    }
  });

  it('an older admission does not move the window back', () => {
    const w = new ReplayWindow(8);
    w.admit(20);
    w.admit(15);
    expect(w.newestSeq).toBe(20);
    expect(w.fresh(12)).toBe(false);
    expect(w.fresh(13)).toBe(true);
    expect(w.fresh(15)).toBe(false);
  });

  it('matches a model that remembers every admission; memory stays within 2·size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }), (size, seqs) => {
        const w = new ReplayWindow(size);
        const all = new Set<number>();
        let newest = -1;
        const fresh = (s: number) => !all.has(s) && (newest < 0 || s > newest - size);
        const wrong: string[] = [];
        for (const s of seqs) {
          if (w.fresh(s) !== fresh(s)) wrong.push(`fresh(${s}) after ${[...all]}`);
          if (!fresh(s)) continue;
          w.admit(s);
          all.add(s);
          newest = Math.max(newest, s);
          if (seenOf(w).size > 2 * size) wrong.push(`${seenOf(w).size} kept, size ${size}`);
        }
        for (let s = 0; s <= 210; s++) if (w.fresh(s) !== fresh(s)) wrong.push(`fresh(${s}) at the end`);
        expect(wrong).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('a long in-order run prunes: memory stays bounded', () => {
    const w = new ReplayWindow(8);
    for (let s = 0; s < 1000; s++) w.admit(s);
    expect(seenOf(w).size).toBeLessThanOrEqual(16);
    expect(w.fresh(992)).toBe(false);
    expect(w.fresh(999)).toBe(false);
    expect(w.fresh(1000)).toBe(true);
  });
});

describe('slot rule edges', () => {
  it('the last key is included when it falls in the slot, none beyond `keys`', () => {
    expect(directSlotKeys(0, 1, 3, 10)).toEqual([1, 4, 7]);
    expect(directSlotKeys(0, 0, 3, 10)).toEqual([0, 3, 6, 9]);
    expect(directSlotKeys(5, 0, 1, 4)).toEqual([0, 1, 2, 3]);
    expect(directSlotKeys(7, 0, 2, 0)).toEqual([]);
  });

  it('no slots, no keys', () => {
    expect(directSlotKeys(0, 0, 0, 10)).toEqual([]);
    expect(directSlotKeys(3, 0, -1, 10)).toEqual([]);
  });

  it('the slots of one frame partition its keys, and the partition turns with seq', () => {
    for (const [seq, n, keys] of [[0, 3, 96], [1, 3, 96], [257, 5, 100], [2 ** 31 + 3, 7, 256]]) {
      const owner = new Array<number>(keys).fill(-1);
      for (let i = 0; i < n; i++) for (const k of directSlotKeys(seq, i, n, keys)) {
        expect(owner[k]).toBe(-1);
        owner[k] = i;
      }
      expect(owner).toEqual(Array.from({ length: keys }, (_, k) => (k + seq) % n));
    }
  });
});
