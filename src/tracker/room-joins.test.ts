// Room.join and Room.leave at their edges, room in memory: a room rebuilt after a tracker restart
// (which first announce starts the restore, for how long, which claims it honours: the room's own
// keys and group block, at both ends), and a broadcaster's join that changes the stream (bitrate,
// announced mode, go-live id).
import { describe, expect, it } from 'vitest';
import { Room, type JoinInfo, type RoomConfig, type RoomEvent } from './room.ts';

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
    expect(claimedAt({ ...STRONG, announce: { holderKeys: [] } }, 1)).toEqual([]);
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

describe('a broadcaster replacing the live one', () => {
  const streamTo = (evs: RoomEvent[]) => evs.filter((e) => e.type === 'stream').map((e) => e.to).sort();

  it('tells every peer a new go-live id; with the same id or none only itself, and the id is kept; it gets the swarm summary', () => {
    const r = room();
    r.join('viewer0001', {}, 0);
    r.join('broadcast0', { broadcaster: true, broadcastId: 'AAAAAAAAAAA' }, 0);
    r.pollEvents();
    // The same go-live from a new socket, announcing the mode in force: nothing changes for the viewers.
    r.join('broadcast1', { broadcaster: true, broadcastId: 'AAAAAAAAAAA', announce: { mode: 'direct' } }, 1);
    let evs = r.pollEvents();
    expect(streamTo(evs)).toEqual(['broadcast1']);
    expect(evs.filter((e) => e.type === 'swarm').map((e) => e.to)).toEqual(['broadcast1']);
    r.join('broadcast2', { broadcaster: true }, 2); // no id given: the current one stays
    evs = r.pollEvents();
    expect(streamTo(evs)).toEqual(['broadcast2']);
    expect(evs.find((e) => e.type === 'stream')).toMatchObject({ broadcastId: 'AAAAAAAAAAA', state: 'live' });
    expect(r.currentBroadcastId).toBe('AAAAAAAAAAA');
    r.join('broadcast3', { broadcaster: true, broadcastId: 'BBBBBBBBBBA' }, 3);
    expect(streamTo(r.pollEvents())).toEqual(['broadcast3', 'viewer0001']);
  });
});

describe('a viewer’s join', () => {
  const fed = (r: Room, id: string) => r.neighboursOf(id).some((n) => n.reasons.includes('broadcaster'));

  it('is fed by the broadcaster at once only in direct feed and only when feedable', () => {
    // No join trial, no minimum of fed viewers: feedable means an upload of at least the bitrate.
    const direct = room({ directMinFeeds: 0, joinFeedTrialMs: 0 });
    direct.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE }, 0);
    direct.join('strong0001', { uploadBps: BITRATE }, 0);
    direct.join('weak000001', { uploadBps: BITRATE - 1 }, 0);
    expect([fed(direct, 'strong0001'), fed(direct, 'weak000001')]).toEqual([true, false]);
    // Holder mode (announced by the broadcaster): viewers get their segments from holders.
    const holder = room({ directMinFeeds: 0, joinFeedTrialMs: 0 });
    holder.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE, announce: { mode: 'holder' } }, 0);
    holder.join('strong0001', { uploadBps: BITRATE }, 0);
    expect(holder.swarmMode).toBe('holder');
    expect(fed(holder, 'strong0001')).toBe(false);
  });

  it('keeps places for the neighbours it announced for modeHoldMs, then takes others', () => {
    const r = room();
    const hold = r.config.modeHoldMs;
    for (let i = 0; i < 4; i++) r.join(`viewer000${i}`, {}, 0);
    // It announces as many neighbours as it wants, none of which comes back.
    const gone = Array.from({ length: r.config.neighbourTarget }, (_, i) => `gone00000${i}`);
    r.join('returner01', { announce: { neighbours: gone } }, 1000);
    expect(r.neighboursOf('returner01')).toEqual([]);
    r.tick(1000 + hold - 1);
    expect(r.neighboursOf('returner01')).toEqual([]);
    r.tick(1000 + hold);
    expect(r.neighboursOf('returner01').length).toBeGreaterThan(0);
  });
});

describe('refusals', () => {
  it('names the peer already in the room, and the room’s peer limit', () => {
    const r = room({ maxPeers: 1 });
    r.join('viewer0001', {}, 0);
    expect(() => r.join('viewer0001', {}, 1)).toThrow('peer viewer0001 is already in the room');
    expect(() => r.join('viewer0002', {}, 1)).toThrow('stream has 1 peers');
  });
});
