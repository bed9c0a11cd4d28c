import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chooseRequests, type NeighbourAvailability } from './choose-requests.ts';
import { KeySet } from './key-set.ts';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const full = (peerId: string, budget = 100, weight = 1): NeighbourAvailability => ({ peerId, complete: true, weight, budget });
const part = (peerId: string, keys: number[], budget = 100, weight = 1): NeighbourAvailability => ({ peerId, complete: false, keys: KeySet.of(keys), weight, budget });
const need = (want: number, have: number[] = [], inflight: number[] = [], exclude: number[] = []) => ({
  want, have: KeySet.of(have), inflight: KeySet.of(inflight), exclude: KeySet.of(exclude),
});

describe('chooseRequests', () => {
  const table: Array<[string, ReturnType<typeof need>, NeighbourAvailability[], Array<{ peerId: string; keys: number[] }>]> = [
    ['nothing wanted', need(0), [full('a')], []],
    ['no neighbours', need(5), [], []],
    ['one complete neighbour: systematic keys first', need(4), [full('a')], [{ peerId: 'a', keys: [0, 1, 2, 3] }]],
    ['held and in-flight keys are skipped', need(3, [0, 2], [1, 3]), [full('a')], [{ peerId: 'a', keys: [4, 5, 6] }]],
    ['two complete neighbours share the load', need(4), [full('a'), full('b')], [{ peerId: 'a', keys: [0, 2] }, { peerId: 'b', keys: [1, 3] }]],
    ['weight skews the share', need(6), [full('a', 100, 1), full('b', 100, 0.5)], [{ peerId: 'a', keys: [0, 1, 3, 4] }, { peerId: 'b', keys: [2, 5] }]],
    ['budget caps a neighbour', need(5), [full('a', 2), full('b', 100)], [{ peerId: 'a', keys: [0, 2] }, { peerId: 'b', keys: [1, 3, 4] }]],
    ['a partial neighbour only gets keys it holds', need(3), [part('a', [70, 71])], [{ peerId: 'a', keys: [70, 71] }]],
    ['partial holder is preferred for its keys on a tie', need(2), [full('a'), part('b', [0])], [{ peerId: 'a', keys: [1] }, { peerId: 'b', keys: [0] }]],
    ['excluded keys are never asked', need(2, [], [], [0, 1]), [full('a')], [{ peerId: 'a', keys: [2, 3] }]],
    ['coded keys only when systematic ones are not available', need(3), [part('a', [5, 64, 65, 200])], [{ peerId: 'a', keys: [5, 64, 65] }]],
    ['zero budget everywhere asks nothing', need(3), [full('a', 0)], []],
    ['keys whose serving budget a neighbour spent go to another', need(3), [{ ...full('a'), spent: KeySet.of([0, 1]) }, full('b', 100, 0.5)], [{ peerId: 'a', keys: [2] }, { peerId: 'b', keys: [0, 1] }]],
    ['keys spent at every neighbour are not asked', need(2), [{ ...full('a'), spent: KeySet.of([0]) }], [{ peerId: 'a', keys: [1, 2] }]],
  ];
  for (const [name, n, neighbours, expected] of table) {
    it(name, () => {
      expect(chooseRequests(n, neighbours)).toEqual(expected);
    });
  }

  it('never asks twice for a key, never beyond want or budget, never a held key', () => {
    const nb = fc.record({
      peerId: fc.string({ minLength: 1, maxLength: 4 }),
      complete: fc.boolean(),
      keys: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 80 }).map((k) => KeySet.of(k)),
      weight: fc.double({ min: 0.01, max: 1, noNaN: true }),
      budget: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(
        fc.array(nb, { maxLength: 8 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 100 }),
        fc.integer({ min: 0, max: 90 }),
        (neighbours, held, want) => {
          const have = KeySet.of(held.slice(0, 50));
          const inflight = KeySet.of(held.slice(50));
          const out = chooseRequests({ have, inflight, want }, neighbours);
          const all = out.flatMap((r) => r.keys);
          expect(new Set(all).size).toBe(all.length);
          expect(all.length).toBeLessThanOrEqual(want);
          for (const k of all) expect(have.has(k) || inflight.has(k)).toBe(false);
          out.forEach((r) => {
            const n = neighbours.find((m) => m.peerId === r.peerId && m.budget >= r.keys.length);
            expect(n).toBeDefined();
          });
        },
      ),
    );
  });

  it('a neighbour of weight 0 is still asked when it is the only one with the key (its weight counts as 0.001)', () => {
    expect(chooseRequests(need(2), [full('a', 100, 0)])).toEqual([{ peerId: 'a', keys: [0, 1] }]);
    // Against b of weight 0.1: a's first key has load (0 + 1) / 0.001 = 1000, as b's 100th: b gets
    // keys 0…98, a (earlier in the list) key 99; a's second (load 2000) comes about b's 200th.
    const out = chooseRequests(need(256), [full('a', 300, 0), full('b', 300, 0.1)]);
    expect(out.map((r) => [r.peerId, r.keys.length])).toEqual([['a', 2], ['b', 254]]);
    expect(out[0].keys[0]).toBe(99);
  });

  it('loads that differ by a rounding error are a tie: the partial holder goes first, whichever comes first in the list', () => {
    // 1 / (0.1 + 0.2) and 1 / 0.3 differ in the last bit.
    const w = 0.1 + 0.2;
    expect(w).not.toBe(0.3);
    expect(chooseRequests(need(1), [full('a', 100, w), part('b', [0], 100, 0.3)])).toEqual([{ peerId: 'b', keys: [0] }]);
    expect(chooseRequests(need(1), [part('b', [0], 100, 0.3), full('a', 100, w)])).toEqual([{ peerId: 'b', keys: [0] }]);
    expect(chooseRequests(need(1), [full('a', 100, 0.3), part('b', [0], 100, w)])).toEqual([{ peerId: 'b', keys: [0] }]);
    expect(chooseRequests(need(1), [part('b', [0], 100, w), full('a', 100, 0.3)])).toEqual([{ peerId: 'b', keys: [0] }]);
  });

  it('on a tie between two partial holders, or two complete ones, the earlier in the list', () => {
    expect(chooseRequests(need(1), [part('a', [3]), part('b', [3])])).toEqual([{ peerId: 'a', keys: [3] }]);
    expect(chooseRequests(need(1), [part('b', [3]), part('a', [3])])).toEqual([{ peerId: 'b', keys: [3] }]);
    expect(chooseRequests(need(1), [full('b'), full('a')])).toEqual([{ peerId: 'b', keys: [0] }]);
    // Partial goes first only on a tie: a complete neighbour with half the load wins.
    expect(chooseRequests(need(1), [full('a', 100, 1), part('b', [0], 100, 0.5)])).toEqual([{ peerId: 'a', keys: [0] }]);
    // A lower load wins over the list order by more than a rounding error.
    expect(chooseRequests(need(1), [part('a', [3], 100, 0.5), part('b', [3], 100, 0.5000001)])).toEqual([{ peerId: 'b', keys: [3] }]);
  });

  it('a partial neighbour that announced no key set is never asked, and does not hide the others', () => {
    const bare: NeighbourAvailability = { peerId: 'x', complete: false, weight: 1, budget: 100 };
    expect(chooseRequests(need(2), [bare, full('a')])).toEqual([{ peerId: 'a', keys: [0, 1] }]);
    expect(chooseRequests(need(2), [bare, part('b', [9])])).toEqual([{ peerId: 'b', keys: [9] }]);
    expect(chooseRequests(need(2), [bare])).toEqual([]);
  });

  it('a neighbour with no budget left gets no keys; budget 1 gets exactly one', () => {
    expect(chooseRequests(need(3), [part('a', [1, 2], 0), part('b', [2, 5])])).toEqual([{ peerId: 'b', keys: [2, 5] }]);
    expect(chooseRequests(need(3), [full('a', 0), part('b', [2, 5])])).toEqual([{ peerId: 'b', keys: [2, 5] }]);
    // Budget 1: exactly one key.
    expect(chooseRequests(need(3), [full('a', 1), part('b', [2, 5], 0)])).toEqual([{ peerId: 'a', keys: [0] }]);
  });

  it('wanting more than there are keys: each of the 256 keys once, no more', () => {
    const out = chooseRequests(need(300), [full('a', 300)]);
    expect(out).toEqual([{ peerId: 'a', keys: range(0, 256) }]);
  });

  it('keys of every word: 31, 32, 63, 64, 224, 255', () => {
    const keys = [31, 32, 63, 64, 224, 255];
    expect(chooseRequests(need(6), [part('a', keys)])).toEqual([{ peerId: 'a', keys }]);
    expect(chooseRequests(need(6, [31], [255], [64]), [part('a', keys)])).toEqual([{ peerId: 'a', keys: [32, 63, 224] }]);
  });

  it('covers 68 keys from 8 complete neighbours evenly', () => {
    const out = chooseRequests(need(68), range(0, 8).map((i) => full(`n${i}`)));
    expect(out.map((r) => r.keys.length)).toEqual([9, 9, 9, 9, 8, 8, 8, 8]);
    expect(out.flatMap((r) => r.keys).sort((a, b) => a - b)).toEqual(range(0, 68));
  });
});
