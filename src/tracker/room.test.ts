import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Room, type RoomEvent, type RoomConfig } from './room.ts';
import { expectCode } from '../codec/codec-contract.ts';

const STREAM = 'S'.repeat(43);
const id = (i: number) => `peer${String(i).padStart(6, '0')}`;

function room(config: Partial<RoomConfig> = {}) {
  return new Room(STREAM, { seed: 7, ...config });
}

/** Joins a broadcaster and n viewers (upload 10 Mbit/s) at time t. */
function fill(r: Room, n: number, t = 0, info = { uploadBps: 10e6 }): void {
  r.join('broadcast0', { broadcaster: true, bitrateBps: 2e6 }, t);
  for (let i = 0; i < n; i++) r.join(id(i), info, t);
}

/** Checks the invariants every room state must keep; returns the viewer ids seen. */
function checkInvariants(r: Room, ids: string[]): void {
  const c = r.config;
  const snap = r.snapshot();
  const keyOwner = new Map<number, string>();
  for (const h of snap.holders) for (const k of h.keys) {
    expect(keyOwner.has(k)).toBe(false);
    keyOwner.set(k, h.peerId);
  }
  for (const pid of ids) {
    const ns = r.neighboursOf(pid);
    const swarm = ns.filter((n) => n.reasons.includes('swarm'));
    expect(swarm.length).toBeLessThanOrEqual(c.neighbourMax);
    for (const n of ns) {
      expect(n.peerId).not.toBe(pid);
      expect(r.areNeighbours(n.peerId, pid)).toBe(true);
      const back = r.neighboursOf(n.peerId).find((m) => m.peerId === pid);
      expect(back).toBeDefined();
      expect(back!.initiator).toBe(!n.initiator);
      expect(n.reasons.length).toBeGreaterThan(0);
    }
    // A producer links to holders of distinct keys, never more than asked.
    if (r.rolesOf(pid).producerGroups.length) {
      const hs = ns.filter((n) => n.reasons.includes('holder'));
      expect(hs.length).toBeLessThanOrEqual(c.producerHolderLinks);
    }
  }
}

function eventsOf(evs: RoomEvent[], type: RoomEvent['type'], to?: string) {
  return evs.filter((e) => e.type === type && (to === undefined || e.to === to));
}

describe('Room neighbours', () => {
  it('gives a late joiner its neighbours at once, symmetric and bounded', () => {
    const r = room();
    fill(r, 100);
    r.pollEvents();
    r.join('late000001', {}, 10);
    const evs = r.pollEvents();
    const mine = eventsOf(evs, 'neighbours', 'late000001');
    expect(mine).toHaveLength(1);
    const list = (mine[0] as Extract<RoomEvent, { type: 'neighbours' }>).neighbours;
    expect(list.filter((n) => n.reasons.includes('swarm'))).toHaveLength(r.config.neighbourTarget);
    expect(list.every((n) => n.initiator)).toBe(true);
    // Every new neighbour is told too.
    for (const n of list) expect(eventsOf(evs, 'neighbours', n.peerId)).toHaveLength(1);
    expect(eventsOf(evs, 'stream', 'late000001')).toEqual([{ type: 'stream', to: 'late000001', streamId: STREAM, state: 'live', mode: 'holder' }]);
    checkInvariants(r, [...Array.from({ length: 100 }, (_, i) => id(i)), 'late000001']);
  });

  it('keeps the swarm connected while peers leave', () => {
    const r = room();
    fill(r, 300);
    for (let i = 0; i < 300; i += 3) r.leave(id(i), 5);
    for (let t = 0; t < 4; t++) r.tick(10 + t * 250);
    const alive = Array.from({ length: 300 }, (_, i) => id(i)).filter((_, i) => i % 3 !== 0);
    const seen = new Set([alive[0]]);
    const queue = [alive[0]];
    while (queue.length) {
      for (const n of r.neighboursOf(queue.pop()!)) {
        if (n.reasons.includes('swarm') && !seen.has(n.peerId)) {
          seen.add(n.peerId);
          queue.push(n.peerId);
        }
      }
    }
    expect(seen.size).toBe(alive.length);
    for (const v of alive) expect(r.neighboursOf(v).filter((n) => n.reasons.includes('swarm')).length).toBeGreaterThanOrEqual(3);
    checkInvariants(r, alive);
  });

  it('never introduces a failed pair again and replaces the neighbour', () => {
    const r = room();
    fill(r, 20);
    const a = id(3);
    const b = r.neighboursOf(a).find((n) => n.reasons.includes('swarm'))!.peerId;
    const before = r.neighboursOf(a).filter((n) => n.reasons.includes('swarm')).length;
    r.reportFailedPair(a, b, 1);
    expect(r.areNeighbours(a, b)).toBe(false);
    expect(r.neighboursOf(a).filter((n) => n.reasons.includes('swarm')).length).toBeGreaterThanOrEqual(Math.min(before, r.config.neighbourTarget));
    for (let i = 0; i < 30; i++) {
      r.leave(id(i === 3 || id(i) === b ? 0 : i), 2 + i);
      r.join(`again${String(i).padStart(5, '0')}`, {}, 2 + i);
      r.tick(2 + i);
      expect(r.areNeighbours(a, b)).toBe(false);
    }
  });

  it('does not introduce a failed peer again under a fresh id from the same address', () => {
    const r = room();
    r.join('victim0001', { hostKey: '198.51.100.1' }, 0);
    r.join('attacker01', { hostKey: '203.0.113.9' }, 0);
    expect(r.areNeighbours('victim0001', 'attacker01')).toBe(true);
    r.reportFailedPair('victim0001', 'attacker01', 1);
    r.leave('attacker01', 2);
    // Fresh ids from the attacker's address: linked to each other and to others, never to the victim.
    for (let i = 0; i < 5; i++) r.join(`attacker1${i}`, { hostKey: '203.0.113.9' }, 3 + i);
    r.join('bystander1', { hostKey: '198.51.100.2' }, 10);
    for (let t = 0; t < 4; t++) r.tick(20 + 250 * t);
    for (let i = 0; i < 5; i++) expect(r.areNeighbours('victim0001', `attacker1${i}`)).toBe(false);
    expect(r.areNeighbours('victim0001', 'bystander1')).toBe(true);
    expect(r.areNeighbours('attacker10', 'bystander1')).toBe(true);
    // The memory is the victim's: a peer of the victim's own address is not shut out.
    r.join('victimmate', { hostKey: '198.51.100.1' }, 30);
    expect(r.areNeighbours('victim0001', 'victimmate')).toBe(true);
  });

  it('restores mutually announced neighbours after a tracker restart', () => {
    const r = room();
    r.join('viewerAAAA', { announce: { neighbours: ['viewerBBBB', 'viewerCCCC'] } }, 0);
    r.join('viewerBBBB', { announce: { neighbours: ['viewerAAAA'] } }, 0);
    r.join('viewerCCCC', { announce: { neighbours: [] } }, 0);
    expect(r.areNeighbours('viewerAAAA', 'viewerBBBB')).toBe(true);
    expect(r.neighboursOf('viewerAAAA').find((n) => n.peerId === 'viewerBBBB')!.reasons).toEqual(['swarm']);
  });

  it('hands out the same events one at a time', () => {
    const a = room();
    const b = room();
    fill(a, 30);
    fill(b, 30);
    const all = a.pollEvents();
    const one: RoomEvent[] = [];
    for (let e = b.pollEvent(); e; e = b.pollEvent()) one.push(e);
    expect(one).toEqual(all);
    expect(b.pollEvents()).toEqual([]);
  });

  it('rebuilds most of the old mesh and the roles when everyone re-announces to a fresh room', () => {
    const old = room({ seed: 11 });
    fill(old, 200);
    const ids = Array.from({ length: 200 }, (_, i) => id(i));
    const announce = new Map(ids.map((v) => [v, { neighbours: old.neighboursOf(v).filter((n) => n.reasons.includes('swarm')).map((n) => n.peerId), ...old.rolesOf(v) }]));
    const fresh = room({ seed: 99 });
    fresh.join('broadcast0', { broadcaster: true, announce: { mode: 'holder' } }, 0);
    for (const v of [...ids].reverse()) fresh.join(v, { uploadBps: 10e6, announce: announce.get(v) }, 1);
    let kept = 0;
    let total = 0;
    for (const [v, a] of announce) for (const n of a.neighbours) if (v < n) {
      total++;
      if (fresh.areNeighbours(v, n)) kept++;
    }
    expect(kept / total).toBeGreaterThan(0.9);
    const byId = (a: { peerId: string }, b: { peerId: string }) => (a.peerId < b.peerId ? -1 : 1);
    expect(fresh.snapshot().holders.sort(byId)).toEqual(old.snapshot().holders.sort(byId));
    expect(fresh.snapshot().producers.sort(byId)).toEqual(old.snapshot().producers.sort(byId));
    checkInvariants(fresh, ids);
    // A newcomer waits for roles while the old owners may still come back, then gets what is free.
    fresh.leave(id(0), 2);
    fresh.join('newcomer01', { uploadBps: 50e6 }, 3);
    expect(fresh.rolesOf('newcomer01').holderKeys).toEqual([]);
    for (const t of [2000, 4000, 6000, 8000, 10000, 10500]) {
      for (const v of [...ids.slice(1), 'newcomer01']) fresh.heartbeat(v, {}, t);
      fresh.tick(t);
    }
    expect(fresh.snapshot().holders.flatMap((h) => h.keys).sort((a, b) => a - b)).toEqual(fresh.config.segmentKeys);
    expect(fresh.rolesOf('newcomer01').holderKeys.length).toBe(1);
  });

  it('is deterministic for a seed', () => {
    const run = () => {
      const r = room({ seed: 42 });
      fill(r, 60);
      for (let i = 0; i < 60; i += 7) r.leave(id(i), 1);
      r.tick(300);
      return JSON.stringify(r.pollEvents());
    };
    expect(run()).toBe(run());
  });
});

describe('Room modes and roles', () => {
  it('feeds small swarms directly and switches to holders with hysteresis', () => {
    const r = room();
    fill(r, 39);
    expect(r.snapshot().mode).toBe('direct');
    expect(r.neighboursOf('broadcast0').filter((n) => n.reasons.includes('viewer'))).toHaveLength(39);
    expect(r.neighboursOf(id(5)).find((n) => n.peerId === 'broadcast0')!.reasons).toEqual(['broadcaster']);
    r.pollEvents();
    r.join(id(39), { uploadBps: 10e6 }, 1);
    const evs = r.pollEvents();
    expect(r.snapshot().mode).toBe('holder');
    expect(eventsOf(evs, 'stream', id(0)).at(-1)).toMatchObject({ mode: 'holder' });
    const swarm = eventsOf(evs, 'swarm', 'broadcast0').at(-1) as Extract<RoomEvent, { type: 'swarm' }>;
    expect(swarm.mode).toBe('holder');
    expect(swarm.holders.flatMap((h) => h.keys).sort((a, b) => a - b)).toEqual(r.config.segmentKeys);
    expect(swarm.producers.flatMap((p) => p.keys).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, g) => g));
    // The broadcaster keeps its direct-feed links for modeOverlapMs (no gap), then only the holders.
    expect(r.neighboursOf('broadcast0').filter((n) => n.reasons.includes('viewer'))).toHaveLength(40);
    r.tick(1 + r.config.modeOverlapMs - 1);
    expect(r.neighboursOf('broadcast0').filter((n) => n.reasons.includes('viewer'))).toHaveLength(40);
    r.tick(1 + r.config.modeOverlapMs);
    const bn = r.neighboursOf('broadcast0');
    expect(bn.every((n) => n.reasons.includes('holder'))).toBe(true);
    expect(bn).toHaveLength(r.config.segmentKeys.length);
    // Producers reach 10 holders of distinct keys.
    for (const p of swarm.producers) {
      const hs = r.neighboursOf(p.peerId).filter((n) => n.reasons.includes('holder'));
      const keys = new Set(hs.flatMap((h) => h.holderKeys ?? []));
      expect(keys.size).toBeGreaterThanOrEqual(10);
      expect(hs.every((h) => r.neighboursOf(h.peerId).find((x) => x.peerId === p.peerId)!.reasons.includes('producer'))).toBe(true);
    }
    // Shrink: stays holder until 24, then direct again with no roles left.
    for (let i = 39; i >= 25; i--) r.leave(id(i), 2);
    expect(r.snapshot().mode).toBe('holder');
    r.leave(id(24), 3);
    expect(r.snapshot().mode).toBe('direct');
    expect(r.snapshot().holders).toEqual([]);
    expect(r.neighboursOf('broadcast0').filter((n) => n.reasons.includes('viewer'))).toHaveLength(24);
    for (let i = 0; i < 24; i++) expect(r.neighboursOf(id(i)).some((n) => n.reasons.includes('holder') || n.reasons.includes('producer'))).toBe(false);
    checkInvariants(r, Array.from({ length: 24 }, (_, i) => id(i)));
  });

  it('leases groups 0–7 first and lets one peer hold several keys in a small swarm', () => {
    const r = room({ holderModeAtViewers: 6, directModeAtViewers: 2, directMaxViewers: 8 });
    fill(r, 6);
    const s = r.snapshot();
    expect(s.mode).toBe('holder');
    expect(s.holders.flatMap((h) => h.keys).sort((a, b) => a - b)).toEqual(r.config.segmentKeys);
    expect(s.holders.every((h) => h.keys.length <= r.config.maxKeysPerHolder)).toBe(true);
    const groups = s.producers.flatMap((p) => p.keys);
    for (let g = 0; g < 8; g++) expect(groups).toContain(g);
    checkInvariants(r, Array.from({ length: 6 }, (_, i) => id(i)));
  });

  it('relinks every producer to holders of producerHolderLinks distinct keys after each holder leaves', () => {
    const r = room();
    fill(r, 120);
    r.pollEvents();
    const c = r.config;
    for (let round = 0; round < 6; round++) {
      const holder = r.snapshot().holders[0].peerId;
      r.leave(holder, 10 + round);
      r.pollEvents();
      const s = r.snapshot();
      expect(s.holders.flatMap((h) => h.keys).sort((a, b) => a - b)).toEqual([...c.segmentKeys].sort((a, b) => a - b));
      for (const p of s.producers) {
        const covered = new Set(r.rolesOf(p.peerId).holderKeys);
        const links = r.neighboursOf(p.peerId).filter((n) => n.reasons.includes('holder'));
        for (const n of links) for (const k of n.holderKeys ?? []) covered.add(k);
        expect(links.some((n) => n.peerId === holder)).toBe(false);
        expect(covered.size).toBeGreaterThanOrEqual(Math.min(c.producerHolderLinks, c.segmentKeys.length));
      }
    }
  });

  it('adds producers in a large swarm, spread over the groups, and keeps every group covered', () => {
    const r = room();
    fill(r, 240);
    const producers = r.snapshot().producers;
    expect(producers).toHaveLength(20); // 240 × producerShare (1/12)
    const perGroup = new Array(12).fill(0);
    for (const p of producers) {
      expect(p.keys).toHaveLength(1);
      perGroup[p.keys[0]]++;
    }
    expect(Math.max(...perGroup) - Math.min(...perGroup)).toBeLessThanOrEqual(1);
    const holders = new Set(r.snapshot().holders.map((h) => h.peerId));
    expect(producers.some((p) => holders.has(p.peerId))).toBe(false);
    for (const p of producers) expect(r.neighboursOf(p.peerId).filter((n) => n.reasons.includes('holder'))).toHaveLength(10);
    // Every producer of a group with two leaves: the group is still covered at once.
    const g = perGroup.indexOf(2);
    for (const p of producers.filter((x) => x.keys[0] === g).slice(0, 1)) r.leave(p.peerId, 5);
    expect(r.snapshot().producers.some((p) => p.keys[0] === g)).toBe(true);
    checkInvariants(r, Array.from({ length: 240 }, (_, i) => id(i)).filter((x) => r.has(x)));
  });

  it('never makes relayed or weak peers holders or producers', () => {
    const r = room();
    r.join('broadcast0', { broadcaster: true, bitrateBps: 3e6 }, 0);
    for (let i = 0; i < 60; i++) r.join(id(i), i % 2 ? { uploadBps: 20e6, relayed: true } : { uploadBps: i < 20 ? 1e6 : 8e6 }, 0);
    const roleIds = new Set([...r.snapshot().holders, ...r.snapshot().producers].map((e) => e.peerId));
    expect(roleIds.size).toBeGreaterThan(0);
    for (const pid of roleIds) {
      const i = Number(pid.slice(4));
      expect(i % 2).toBe(0);
      expect(i).toBeGreaterThanOrEqual(20);
    }
    // A holder that starts relaying loses its keys to someone else at once.
    const h = r.snapshot().holders[0];
    r.pollEvents();
    r.heartbeat(h.peerId, { relayed: true }, 1);
    const evs = r.pollEvents();
    expect(eventsOf(evs, 'roles', h.peerId).at(-1)).toMatchObject({ holderKeys: [], producerGroups: [] });
    const now = r.snapshot().holders;
    expect(now.some((x) => x.peerId === h.peerId)).toBe(false);
    expect(now.flatMap((x) => x.keys)).toEqual(expect.arrayContaining(h.keys));
  });

  it('reassigns a leaving holder’s keys and a quiet producer’s groups', () => {
    const r = room({ seed: 3 });
    fill(r, 80);
    const h = r.snapshot().holders[0];
    r.pollEvents();
    r.leave(h.peerId, 100);
    const evs = r.pollEvents();
    const holders = r.snapshot().holders;
    const heir = holders.find((x) => h.keys.every((k) => x.keys.includes(k)))!;
    expect(heir).toBeDefined();
    expect(eventsOf(evs, 'roles', heir.peerId).at(-1)).toMatchObject({ holderKeys: heir.keys, leaseMs: r.config.leaseMs });
    expect(r.areNeighbours('broadcast0', heir.peerId)).toBe(true);
    expect(eventsOf(evs, 'swarm', 'broadcast0')).toHaveLength(1);
    // Everyone heartbeats except one producer; its lease runs out and its groups move.
    const quiet = r.snapshot().producers[0];
    const ids = Array.from({ length: 80 }, (_, i) => id(i)).filter((x) => x !== h.peerId);
    for (let t = 500; t <= 4500; t += 500) {
      for (const v of ids) if (v !== quiet.peerId) r.heartbeat(v, {}, t);
      r.tick(t);
    }
    const producers = r.snapshot().producers;
    expect(producers.some((p) => p.peerId === quiet.peerId)).toBe(false);
    expect(producers.flatMap((p) => p.keys).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, g) => g));
    checkInvariants(r, ids);
  });

  it('takes the groups of an extra producer whose lease ran out, like any producer’s', () => {
    // 240 viewers want 20 producers for 12 groups: 8 of them are extra producers of a group.
    const r = room({ seed: 5 });
    fill(r, 240);
    r.tick(1);
    // The swarm list names each group's producer first, then the extra producers.
    const seen = new Set<number>();
    const extras = r.snapshot().producers.filter((p) => {
      const again = p.keys.length === 1 && seen.has(p.keys[0]);
      for (const g of p.keys) seen.add(g);
      return again;
    });
    expect(extras.length).toBeGreaterThan(0);
    const quiet = new Set(extras.map((p) => p.peerId));
    const ids = Array.from({ length: 240 }, (_, i) => id(i));
    for (let t = 500; t <= r.config.leaseMs + 1000; t += 500) {
      for (const v of ids) if (!quiet.has(v)) r.heartbeat(v, {}, t);
      r.tick(t);
    }
    for (const q of quiet) expect(r.rolesOf(q).producerGroups, q).toEqual([]);
    checkInvariants(r, ids.filter((v) => !quiet.has(v)));
  });

  it('honours claims announced after a restart and restores the broadcaster’s mode', () => {
    const r = room();
    r.join('broadcast0', { broadcaster: true, announce: { mode: 'holder' } }, 0);
    expect(r.snapshot().mode).toBe('holder');
    r.join(id(1), { announce: { holderKeys: [5], producerGroups: [] } }, 1);
    r.join(id(2), { announce: { producerGroups: [3] } }, 1);
    expect(r.rolesOf(id(1)).holderKeys).toContain(5);
    expect(r.rolesOf(id(2)).producerGroups).toContain(3);
    r.tick(2);
    expect(r.snapshot().mode).toBe('holder');
  });

  it('ends the stream when the broadcaster says so and waits when it drops', () => {
    const r = room();
    r.join(id(0), {}, 0);
    expect(r.pollEvents()).toContainEqual({ type: 'stream', to: id(0), streamId: STREAM, state: 'waiting', mode: 'direct' });
    r.join('broadcast0', { broadcaster: true }, 1);
    expect(eventsOf(r.pollEvents(), 'stream', id(0))).toEqual([{ type: 'stream', to: id(0), streamId: STREAM, state: 'live', mode: 'direct' }]);
    r.join('broadcast1', { broadcaster: true }, 2);
    expect(r.pollEvents()).toContainEqual({ type: 'close', to: 'broadcast0', reason: 'replaced' });
    // A dropped broadcaster may come back: the viewers wait, the stream is not over.
    r.leave('broadcast1', 3);
    expect(eventsOf(r.pollEvents(), 'stream', id(0))).toEqual([{ type: 'stream', to: id(0), streamId: STREAM, state: 'waiting', mode: 'direct' }]);
    r.join('broadcast1', { broadcaster: true }, 4);
    r.leave('broadcast1', 5, true);
    expect(r.snapshot().state).toBe('ended');
  });

  it('announces the broadcaster’s go-live id to every peer, and a new one when it changes', () => {
    const r = room();
    r.join(id(0), {}, 0);
    expect(eventsOf(r.pollEvents(), 'stream', id(0))).toEqual([{ type: 'stream', to: id(0), streamId: STREAM, state: 'waiting', mode: 'direct' }]);
    r.join('broadcast0', { broadcaster: true, broadcastId: 'AAAAAAAAAAA' }, 1);
    const live = r.pollEvents();
    expect(eventsOf(live, 'stream', id(0))).toEqual([{ type: 'stream', to: id(0), streamId: STREAM, state: 'live', mode: 'direct', broadcastId: 'AAAAAAAAAAA' }]);
    expect(eventsOf(live, 'stream', 'broadcast0')).toEqual([{ type: 'stream', to: 'broadcast0', streamId: STREAM, state: 'live', mode: 'direct', broadcastId: 'AAAAAAAAAAA' }]);
    r.join(id(1), {}, 2);
    expect(eventsOf(r.pollEvents(), 'stream', id(1))[0]).toMatchObject({ broadcastId: 'AAAAAAAAAAA' });
    // A new go-live replacing the live one: everybody hears the new id although the state stays live.
    r.join('broadcast1', { broadcaster: true, broadcastId: 'BBBBBBBBBBA' }, 3);
    const evs = r.pollEvents();
    for (const to of [id(0), id(1), 'broadcast1']) expect(eventsOf(evs, 'stream', to)).toEqual([{ type: 'stream', to, streamId: STREAM, state: 'live', mode: 'direct', broadcastId: 'BBBBBBBBBBA' }]);
    // While the broadcaster is away the id is kept.
    r.leave('broadcast1', 4);
    expect(eventsOf(r.pollEvents(), 'stream', id(0))[0]).toMatchObject({ state: 'waiting', broadcastId: 'BBBBBBBBBBA' });
    expect(r.currentBroadcastId).toBe('BBBBBBBBBBA');
  });

  it('refuses a peer id already in the room and a peer beyond maxPeers', () => {
    const r = room({ maxPeers: 3 });
    r.join('broadcast0', { broadcaster: true }, 0);
    r.join(id(1), {}, 0);
    expectCode(() => r.join(id(1), {}, 1), 'PEER_EXISTS');
    expectCode(() => r.join('broadcast0', { broadcaster: true }, 1), 'PEER_EXISTS');
    r.join(id(2), {}, 1); // the third peer is the last one (maxPeers counts the broadcaster)
    expectCode(() => r.join(id(3), {}, 2), 'ROOM_FULL');
    expect(r.size).toBe(3);
    expect(r.has(id(3))).toBe(false);
    // A place freed is a place again.
    r.leave(id(2), 3);
    r.join(id(3), {}, 4);
    expect(r.has(id(3))).toBe(true);
  });

  it('times out peers that send nothing', () => {
    const r = room({ peerTimeoutMs: 10000, heartbeatMs: 5000 });
    fill(r, 5);
    r.pollEvents();
    for (let i = 1; i < 5; i++) r.heartbeat(id(i), {}, 9000);
    r.heartbeat('broadcast0', {}, 9000);
    r.tick(12000);
    expect(r.pollEvents()).toContainEqual({ type: 'close', to: id(0), reason: 'timeout' });
    expect(r.has(id(0))).toBe(false);
    expect(r.size).toBe(5);
  });
});

describe('Room under random operations', () => {
  it('keeps its invariants', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('join' as const), up: fc.integer({ min: 0, max: 20 }), relayed: fc.boolean() }),
      fc.record({ k: fc.constant('leave' as const), i: fc.nat() }),
      fc.record({ k: fc.constant('fail' as const), i: fc.nat(), j: fc.nat() }),
      fc.record({ k: fc.constant('beat' as const), i: fc.nat(), up: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ k: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ k: fc.constant('bcast' as const), leave: fc.boolean() }),
      fc.record({ k: fc.constant('rejoin' as const), picks: fc.array(fc.nat(), { maxLength: 10 }), keys: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 4 }), groups: fc.array(fc.integer({ min: 0, max: 13 }), { maxLength: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 40, maxLength: 200, size: 'medium' }), fc.integer({ min: 1, max: 1e6 }), (ops, seed) => {
        const r = new Room(STREAM, { seed, holderModeAtViewers: 12, directModeAtViewers: 6, directMaxViewers: 16, minRoleUploadBps: 5e6 });
        const ids: string[] = [];
        let t = 0;
        let n = 0;
        for (const o of ops) {
          if (o.k === 'join') {
            const pid = id(n++);
            r.join(pid, { uploadBps: o.up * 1e6, relayed: o.relayed }, t);
            ids.push(pid);
          } else if (o.k === 'leave' && ids.length) r.leave(ids.splice(o.i % ids.length, 1)[0], t);
          else if (o.k === 'fail' && ids.length) r.reportFailedPair(ids[o.i % ids.length], ids[o.j % ids.length], t);
          else if (o.k === 'beat' && ids.length) r.heartbeat(ids[o.i % ids.length], { uploadBps: o.up * 1e6 }, t);
          else if (o.k === 'tick') r.tick((t += o.dt));
          else if (o.k === 'bcast') o.leave ? r.leave('broadcast0', t) : r.has('broadcast0') || r.join('broadcast0', { broadcaster: true, announce: { mode: 'holder' } }, t);
          else if (o.k === 'rejoin') {
            const pid = id(n++);
            const neighbours = ids.length ? o.picks.map((i) => ids[i % ids.length]) : [];
            r.join(pid, { uploadBps: 10e6, announce: { neighbours, holderKeys: o.keys, producerGroups: o.groups } }, t);
            ids.push(pid);
          }
          r.pollEvents();
        }
        checkInvariants(r, ids);
        const s = r.snapshot();
        for (const e of [...s.holders, ...s.producers]) {
          const i = ids.indexOf(e.peerId);
          expect(i).toBeGreaterThanOrEqual(0);
        }
        if (s.mode === 'direct') expect(s.holders).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('holds 10 000 peers in one room', () => {
    const r = room();
    r.join('broadcast0', { broadcaster: true }, 0);
    for (let i = 0; i < 10000; i++) {
      r.join(id(i), { uploadBps: (i % 50) * 1e6 }, i);
      if (i % 100 === 0) r.pollEvents();
    }
    for (let i = 0; i < 10000; i += 10) r.leave(id(i), 20000);
    r.tick(20000);
    r.pollEvents();
    const s = r.snapshot();
    expect(s.viewers).toBe(9000);
    expect(s.holders.flatMap((h) => h.keys)).toHaveLength(r.config.segmentKeys.length);
    expect(s.producers).toHaveLength(r.config.maxProducers);
    let total = 0;
    for (let i = 1; i < 10000; i += 97) total += r.neighboursOf(id(i)).filter((n) => n.reasons.includes('swarm')).length;
    expect(total / Math.ceil(9999 / 97)).toBeGreaterThanOrEqual(7);
  });
});
