// Room.join and Room.leave at their edges, room in memory: a room rebuilt after a tracker restart
// (which first announce starts the restore, for how long, which claims it honours: the room's own
// keys and group block, at both ends), and a broadcaster's join that changes the stream (bitrate,
// announced mode, go-live id).
import { describe, expect, it } from 'vitest';
import { Room, type JoinInfo, type RoomConfig } from './room.ts';

const STREAM = 'S'.repeat(43);
const BITRATE = 1e6;
/** Strong enough for a role at BITRATE. */
const STRONG = { uploadBps: 8e6 };

function room(config: Partial<RoomConfig> = {}): Room {
  return new Room(STREAM, { seed: 7, ...config });
}
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('a room rebuilt after a tracker restart', () => {
  // Keys claimed by a joiner in probation: honoured while the room restores, never otherwise
  // (outside a restore a joiner in probation gets no key at its join).
  const claim: JoinInfo = { ...STRONG, announce: { holderKeys: [7, 9, 10] } };

  /** A room whose first peer joins at 0 with `first`, then a broadcaster in holder mode; the claimer joins at `atMs`. */
  function claimedAt(first: JoinInfo | null, atMs: number): number[] {
    const r = room();
    if (first) r.join('first00001', first, 0);
    r.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE, announce: { mode: 'holder' } }, 0);
    expect(r.swarmMode).toBe('holder');
    r.join('claimer001', claim, atMs);
    return sorted(r.rolesOf('claimer001').holderKeys);
  }

  it('restores from the first peer’s announce of a mode, keys, groups or neighbours; not from an empty one', () => {
    expect(claimedAt(null, 1)).toEqual([7, 9, 10]); // the broadcaster came first, announcing its mode
    expect(claimedAt({ ...STRONG, announce: { holderKeys: [1] } }, 1)).toEqual([7, 9, 10]);
    expect(claimedAt({ ...STRONG, announce: { producerGroups: [1] } }, 1)).toEqual([7, 9, 10]);
    expect(claimedAt({ ...STRONG, announce: { neighbours: ['someone001'] } }, 1)).toEqual([7, 9, 10]);
    expect(claimedAt({ ...STRONG, announce: { holderKeys: [], producerGroups: [], neighbours: [] } }, 1)).toEqual([]);
    expect(claimedAt({ ...STRONG }, 1)).toEqual([]);
  });

  it('restores for modeHoldMs from the first join: claims count at modeHoldMs − 1, not at modeHoldMs', () => {
    const hold = room().config.modeHoldMs;
    expect(claimedAt(null, hold - 1)).toEqual([7, 9, 10]);
    expect(claimedAt(null, hold)).toEqual([]);
  });

  it('restores only when the announcing peer is the first of an empty room', () => {
    const r = room();
    r.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE }, 0);
    r.leave('broadcast0', 1);
    expect(r.size).toBe(0);
    r.join('viewer0001', { ...STRONG, announce: { holderKeys: [1] } }, 2); // first again, but announcing: restores
    r.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE, announce: { mode: 'holder' } }, 3);
    r.join('claimer001', claim, 4);
    expect(sorted(r.rolesOf('claimer001').holderKeys)).toEqual([7, 9, 10]);
    const busy = room();
    busy.join('viewer0001', { ...STRONG }, 0);
    busy.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE, announce: { mode: 'holder' } }, 1);
    busy.join('claimer001', claim, 2); // not the first peer: no restore
    expect(busy.rolesOf('claimer001').holderKeys).toEqual([]);
  });

  it('honours only claims of the room’s own keys and group block, at both ends of the block', () => {
    // Groups 8…19 are this room's (a cell's block); keys 0…10.
    const r = room({ firstProducerGroup: 8, producerGroups: 12, maxGroupsPerProducer: 4 });
    r.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE, announce: { mode: 'holder' } }, 0);
    r.join('keys000001', { ...STRONG, announce: { holderKeys: [11, 10, 200] } }, 1);
    r.join('groups0001', { ...STRONG, announce: { producerGroups: [7, 8, 19, 20] } }, 1);
    expect(r.rolesOf('keys000001').holderKeys).toEqual([10]);
    expect(sorted(r.rolesOf('groups0001').producerGroups)).toEqual([8, 19]);
  });
});

describe('a broadcaster’s join that changes the stream', () => {
  const fed = (r: Room, id: string) => r.neighboursOf(id).some((n) => n.reasons.includes('broadcaster'));

  it('a broadcaster joining again without a bitrate keeps the stream’s bitrate; with a new one, who is fed follows it', () => {
    // No join trial and no minimum of fed viewers: a viewer is fed only at an upload of at least the bitrate.
    const r = room({ directMinFeeds: 0, joinFeedTrialMs: 0 });
    r.join('broadcast0', { broadcaster: true, bitrateBps: 2e6 }, 0);
    r.join('viewer0001', { uploadBps: 1.5e6 }, 0);
    r.join('viewer0002', { uploadBps: 2e6 }, 0);
    expect([fed(r, 'viewer0001'), fed(r, 'viewer0002')]).toEqual([false, true]);
    r.leave('broadcast0', 1);
    r.join('broadcast0', { broadcaster: true }, 2); // the bitrate stays 2 Mbit/s
    expect([fed(r, 'viewer0001'), fed(r, 'viewer0002')]).toEqual([false, true]);
    r.leave('broadcast0', 3);
    r.join('broadcast0', { broadcaster: true, bitrateBps: 1e6 }, 4);
    expect([fed(r, 'viewer0001'), fed(r, 'viewer0002')]).toEqual([true, true]);
  });
});
