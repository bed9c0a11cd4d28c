import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { droppedNeighbours } from './neighbour-list.ts';

describe('droppedNeighbours', () => {
  const all = (): boolean => true;

  it('names the connected neighbours a list drops', () => {
    expect(droppedNeighbours(new Set(['a', 'b', 'c']), new Set(['a', 'b', 'd']), all)).toEqual(['c']);
    expect(droppedNeighbours(new Set(['a', 'b']), new Set(['a']), all)).toEqual(['b']);
    // Peers we are not linked to do not count, either way.
    expect(droppedNeighbours(new Set(['a', 'b', 'x', 'y']), new Set(['a']), (id) => id !== 'x' && id !== 'y')).toEqual(['b']);
  });

  it('a list keeping under half of them is partial and drops nobody', () => {
    expect(droppedNeighbours(new Set(['a', 'b', 'c']), new Set(['a']), all)).toEqual([]);
    expect(droppedNeighbours(new Set(['a', 'b']), new Set([]), all)).toEqual([]);
  });

  it('never drops a neighbour the new list names, nor more than half of the named', () => {
    const ids = fc.uniqueArray(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 7 });
    fc.assert(fc.property(ids, ids, ids, (before, after, linked) => {
      const dropped = droppedNeighbours(new Set(before), new Set(after), (id) => linked.includes(id));
      const named = before.filter((id) => linked.includes(id));
      for (const id of dropped) expect(named.includes(id) && !after.includes(id)).toBe(true);
      expect(2 * dropped.length).toBeLessThanOrEqual(named.length);
    }));
  });
});
