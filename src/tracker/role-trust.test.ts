// Role capture, in the pure room: claims are capped, holder keys wait for a probation and spread
// over networks, announced claims count only while restoring, and producers' complaints move a
// holder's keys.
import { describe, expect, it } from 'vitest';
import { Room, type RoomConfig } from './room.ts';

const STREAM = 'S'.repeat(43);
const BITRATE = 2e6;

function room(config: Partial<RoomConfig> = {}) {
  const r = new Room(STREAM, { seed: 3, ...config });
  r.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE }, 0);
  return r;
}

const honestId = (i: number) => `honest${String(i).padStart(4, '0')}`;
const sybilId = (i: number) => `sybil${String(i).padStart(5, '0')}`;

function holdersOf(r: Room): Map<string, number[]> {
  return new Map(r.snapshot().holders.map((h) => [h.peerId, h.keys]));
}

function sybilKeys(r: Room): number {
  let n = 0;
  for (const [id, keys] of holdersOf(r)) if (id.includes('sybil')) n += keys.length;
  return n;
}

/** Ticks the room every 250 ms from `from` to `to` with heartbeats, so leases hold. */
function run(r: Room, ids: string[], from: number, to: number): void {
  for (let t = from; t <= to; t += 250) {
    if (t % 1000 === 0) for (const id of ids) r.heartbeat(id, {}, t);
    r.tick(t);
  }
}

describe('holder keys against role capture', () => {
  it('spreads keys over networks: eleven sockets of one network get one key', () => {
    const r = room({ holderProbationMs: 0 });
    const ids: string[] = [];
    // Same claims, same age, and ids that sort first: only the network tells them apart.
    for (let i = 0; i < 11; i++) {
      r.join(`aaaa${sybilId(i)}`, { uploadBps: 8e6, networkKey: '203.0.113.0/24', hostKey: '203.0.113.9' }, 1);
      ids.push(`aaaa${sybilId(i)}`);
    }
    for (let i = 0; i < 40; i++) {
      r.join(honestId(i), { uploadBps: 8e6, networkKey: `198.51.${i}.0/24`, hostKey: `198.51.${i}.1` }, 1);
      ids.push(honestId(i));
    }
    run(r, ids, 250, 3000);
    expect(r.swarmMode).toBe('holder');
    expect(r.snapshot().holders.flatMap((h) => h.keys)).toHaveLength(11);
    expect(sybilKeys(r)).toBeLessThanOrEqual(1);
  });

  it('caps upload claims: a claim of 10^12 b/s does not outrank older peers', () => {
    const r = room({ holderProbationMs: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      r.join(honestId(i), { uploadBps: 8e6, networkKey: `198.51.${i}.0/24` }, 0);
      ids.push(honestId(i));
    }
    run(r, ids, 250, 1000);
    for (let i = 0; i < 11; i++) {
      r.join(`aaaa${sybilId(i)}`, { uploadBps: 1e12, networkKey: `203.0.${i}.0/24` }, 1000);
      ids.push(`aaaa${sybilId(i)}`);
    }
    // Every holder leaves: the keys go to the next peers in line.
    for (const h of [...holdersOf(r).keys()]) {
      r.leave(h, 1100);
      ids.splice(ids.indexOf(h), 1);
    }
    run(r, ids, 1250, 3000);
    expect(r.snapshot().holders.flatMap((h) => h.keys)).toHaveLength(11);
    expect(sybilKeys(r)).toBe(0);
  });

  it('lowers a claim to the measured upload', () => {
    const r = room({ holderProbationMs: 0, holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8, segmentKeys: [0, 1, 2, 3, 4, 5, 6, 7] });
    // The strongest claim, but measured below the role minimum (1 × bitrate): no role.
    r.join('claimer01', { uploadBps: 1e9, measuredUploadBps: 1e6, networkKey: 'n0' }, 1);
    for (let i = 0; i < 10; i++) r.join(honestId(i), { uploadBps: 4e6, networkKey: `n${i + 1}` }, 1);
    expect(r.rolesOf('claimer01')).toEqual({ holderKeys: [], producerGroups: [] });
    r.heartbeat('claimer01', { measuredUploadBps: 5e6 }, 2);
    // Peers leave until the claimer is needed: now it is eligible.
    for (let i = 0; i < 8; i++) r.leave(honestId(i), 3);
    expect(r.rolesOf('claimer01').producerGroups.length + r.rolesOf('claimer01').holderKeys.length).toBeGreaterThan(0);
  });

  it('gives holder keys to peers past their probation first; a newcomer holds a key only until a seasoned peer is free', () => {
    const r = room({ holderProbationMs: 10_000 });
    const ids: string[] = [];
    // Older peers with modest uploads (above the role minimum, below the cap)…
    for (let i = 0; i < 40; i++) {
      r.join(honestId(i), { uploadBps: 3e6, networkKey: `198.51.${i}.0/24` }, 0);
      ids.push(honestId(i));
    }
    // All young at the switch: keys go out anyway (no seasoned peer exists).
    expect(r.snapshot().holders.flatMap((h) => h.keys)).toHaveLength(11);
    run(r, ids, 250, 20_000);
    // …and newcomers with the highest counted upload arrive; a holder leaves: its key goes to a seasoned peer.
    for (let i = 0; i < 11; i++) {
      r.join(sybilId(i), { uploadBps: 1e12, networkKey: `203.0.${i}.0/24` }, 20_100);
      ids.push(sybilId(i));
    }
    const [gone] = holdersOf(r).keys();
    r.leave(gone, 20_200);
    ids.splice(ids.indexOf(gone), 1);
    expect(r.snapshot().holders.flatMap((h) => h.keys)).toHaveLength(11);
    expect(sybilKeys(r)).toBe(0);
    // When only newcomers are free, one holds the key, and gives it up once a seasoned peer is free.
    const r2 = room({ holderProbationMs: 10_000, holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8, segmentKeys: [0, 1, 2, 3, 4, 5, 6, 7], producerGroups: 0, maxProducers: 0 });
    const ids2: string[] = [];
    for (let i = 0; i < 8; i++) {
      r2.join(honestId(i), { uploadBps: 8e6, networkKey: `n${i}` }, 0);
      ids2.push(honestId(i));
    }
    r2.join('spare00001', { uploadBps: 8e6, relayed: true, networkKey: 'ns' }, 0); // not eligible for now
    ids2.push('spare00001');
    run(r2, ids2, 250, 12_000);
    r2.join('newcomer1', { uploadBps: 8e6, networkKey: 'nx' }, 12_000);
    ids2.push('newcomer1');
    const old = [...holdersOf(r2).keys()][0];
    r2.leave(old, 12_100);
    ids2.splice(ids2.indexOf(old), 1);
    run(r2, ids2, 12_250, 13_000);
    const key = holdersOf(r2).get('newcomer1')!;
    expect(key.length).toBeGreaterThan(0);
    r2.heartbeat('spare00001', { relayed: false }, 13_100); // a seasoned peer is free now
    run(r2, ids2, 13_250, 16_000);
    expect(holdersOf(r2).has('newcomer1')).toBe(false);
    expect(holdersOf(r2).get('spare00001')).toEqual(key);
  });

  it('honours announced key claims only while restoring after a tracker restart', () => {
    // One eligible viewer may hold every key, so holder mode starts with it (the others are relayed).
    const cfg = { holderProbationMs: 0, holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8, maxKeysPerHolder: 11 };
    const r = room(cfg);
    r.join('holder0001', { uploadBps: 8e6 }, 1);
    for (let i = 0; i < 4; i++) r.join(honestId(i), { relayed: true }, 1);
    expect(r.swarmMode).toBe('holder');
    r.join('claimer01', { uploadBps: 8e6, announce: { holderKeys: [3, 4, 5] } }, 2);
    expect(r.rolesOf('claimer01').holderKeys).not.toEqual([3, 4, 5]);
    // A restarted tracker: the first peer comes with an announce, the room restores, claims count.
    const fresh = new Room(STREAM, { seed: 3, ...cfg });
    fresh.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE, announce: { mode: 'holder' } }, 0);
    fresh.join('claimer01', { uploadBps: 8e6, announce: { holderKeys: [3, 4, 5] } }, 1);
    expect(fresh.rolesOf('claimer01').holderKeys).toEqual([3, 4, 5]);
  });

  it('moves a holder’s keys when the broadcaster drops it (a failed pair), never on a viewer’s failed pair', () => {
    const r = room({ holderProbationMs: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      r.join(honestId(i), { uploadBps: 8e6, networkKey: `198.51.${i}.0/24`, hostKey: `198.51.${i}.1` }, 1);
      ids.push(honestId(i));
    }
    run(r, ids, 250, 3000);
    expect(r.swarmMode).toBe('holder');
    const [target, keys] = [...holdersOf(r)][0];
    const [other] = [...holdersOf(r)][1];
    // A viewer's failed pair leaves the holder its keys.
    const viewer = ids.find((p) => p !== target && r.areNeighbours(p, target));
    if (viewer) r.reportFailedPair(viewer, target, 3100);
    expect(holdersOf(r).get(target)).toEqual(keys);
    // The broadcaster's moves them, to other peers, at once.
    expect(r.areNeighbours('broadcast0', target)).toBe(true);
    r.reportFailedPair('broadcast0', target, 3200);
    expect(r.rolesOf(target)).toEqual({ holderKeys: [], producerGroups: [] });
    expect(r.snapshot().holders.flatMap((h) => h.keys).sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, k) => k));
    expect(holdersOf(r).has(other)).toBe(true);
  });

  it('moves a holder’s keys when producers of half its producer networks (at least three) complain, not fewer, not one network many times', () => {
    const r = room({ holderProbationMs: 0, maxKeysPerHolder: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      r.join(honestId(i), { uploadBps: 8e6, networkKey: `198.51.${i}.0/24` }, 0);
      ids.push(honestId(i));
    }
    run(r, ids, 250, 2000);
    const [target, keys] = [...holdersOf(r)][0];
    const producers = r.snapshot().producers.map((p) => p.peerId).filter((p) => r.neighboursOf(p).some((n) => n.peerId === target && n.reasons.includes('holder')));
    const need = Math.max(r.config.complaintsToMove, Math.ceil(r.config.complaintShare * producers.length));
    expect(producers.length).toBeGreaterThanOrEqual(need);
    expect(need).toBeGreaterThan(r.config.complaintsToMove);
    // A peer that is not a producer of this holder is not heard.
    const stranger = ids.find((id) => !producers.includes(id) && id !== target)!;
    expect(r.complain(stranger, target, 2100)).toBe(false);
    // Evidence naming a key the holder does not hold is stale: not heard.
    expect(r.complain(producers[0], target, 2100, { key: 200 })).toBe(false);
    expect(r.complain(producers[0], target, 2100, { key: keys[0] })).toBe(true);
    expect(r.complain(producers[0], target, 2200)).toBe(true); // the same network again
    for (let i = 1; i < need - 1; i++) expect(r.complain(producers[i], target, 2300)).toBe(true);
    expect(holdersOf(r).get(target)).toEqual(keys);
    // Complaints older than the window do not add up.
    r.complain(producers[need - 1], target, 2300 + r.config.complaintWindowMs + 1);
    expect(holdersOf(r).get(target)).toEqual(keys);
    const t = 2300 + r.config.complaintWindowMs + 2;
    for (let i = 0; i < need - 1; i++) r.complain(producers[i], target, t);
    expect(holdersOf(r).has(target)).toBe(false);
    expect(r.snapshot().holders.flatMap((h) => h.keys).sort((a, b) => a - b)).toEqual(r.config.segmentKeys);
    // The distrusted peer gets no role again for distrustMs.
    run(r, ids, t + 250, t + 5000);
    expect(r.rolesOf(target)).toEqual({ holderKeys: [], producerGroups: [] });
  });

  it('colluding complainers below half of a holder’s producer networks cannot strip it, however often they complain', () => {
    const r = room({ holderProbationMs: 0, maxKeysPerHolder: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      r.join(honestId(i), { uploadBps: 8e6, networkKey: `198.51.${i}.0/24` }, 0);
      ids.push(honestId(i));
    }
    run(r, ids, 250, 2000);
    for (const [target, keys] of holdersOf(r)) {
      const producers = r.snapshot().producers.map((p) => p.peerId).filter((p) => r.neighboursOf(p).some((n) => n.peerId === target && n.reasons.includes('holder')));
      if (producers.length < 6) continue;
      // The attackers: just under half of its producers (three or more), complaining every second for a minute.
      const gang = producers.slice(0, Math.ceil(producers.length / 2) - 1);
      expect(gang.length).toBeGreaterThanOrEqual(r.config.complaintsToMove);
      for (let t = 2100; t < 62_100; t += 1000) {
        for (const g of gang) r.complain(g, target, t);
        if (t % 1000 === 100) for (const id of ids) r.heartbeat(id, {}, t);
        r.tick(t);
      }
      expect(holdersOf(r).get(target)).toEqual(keys);
      return;
    }
    throw new Error('no holder with six producers');
  });
});
