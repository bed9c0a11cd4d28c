// Roles from measurement, in the pure room: viewers report the upload they measured (and how often
// their send buffers were backed up) and nothing else; feed slots, holder keys and producer groups
// go only to viewers whose figure reaches the stream rate (or that are on trial: below it, with
// idle buffers), the room waits in direct feed for enough of them, and roles move off a viewer
// that falls behind.
import { describe, expect, it } from 'vitest';
import { Room, resolveRoomConfig, type PeerStats, type RoomConfig } from './room.ts';
import type { RoomPeer } from './role-book.ts';
import { countedUploadBps, uploadStanding } from './role-trust.ts';
import { expectCode } from '../expect-code.ts';

const STREAM = 'S'.repeat(43);
const BITRATE = 2e6;
const id = (i: number) => `viewer${String(i).padStart(4, '0')}`;

/** Strong uplink, backed up: the figure is its capacity (3 × the stream). */
const STRONG: PeerStats = { measuredUploadBps: 6e6, uploadLimitedShare: 0.9 };
/** Slow uplink, backed up: half the stream is all it can send. */
const SLOW: PeerStats = { measuredUploadBps: 1e6, uploadLimitedShare: 0.95 };
/** Measured below the stream, its buffers idle: a lower bound, on trial. */
const IDLE: PeerStats = { measuredUploadBps: 1.2e6, uploadLimitedShare: 0 };

function room(config: Partial<RoomConfig> = {}) {
  const r = new Room(STREAM, { seed: 5, holderProbationMs: 2000, ...config });
  r.join('broadcast0', { broadcaster: true, bitrateBps: BITRATE }, 0);
  return r;
}

/** Heartbeats every second with each viewer's figures (none for `silent` ones), ticks every 250 ms. */
function run(r: Room, stats: Map<string, PeerStats | null>, from: number, to: number): void {
  for (let t = from; t <= to; t += 250) {
    if (t % 1000 === 0) for (const [pid, s] of stats) r.heartbeat(pid, s ?? {}, t);
    r.tick(t);
  }
}

/** Viewers the broadcaster feeds directly now. */
function fed(r: Room): Set<string> {
  return new Set(r.neighboursOf('broadcast0').filter((n) => n.reasons.includes('viewer')).map((n) => n.peerId));
}

function roleCount(r: Room, pid: string): number {
  const x = r.rolesOf(pid);
  return x.holderKeys.length + x.producerGroups.length;
}

describe('roles from measured upload', () => {
  it('gives holder keys on a measured figure alone; an unmeasured or slow viewer gets no role', () => {
    const r = room({ holderModeAtViewers: 10, directModeAtViewers: 5 });
    const stats = new Map<string, PeerStats | null>();
    for (let i = 0; i < 14; i++) stats.set(id(i), STRONG);
    stats.set('unmeasured', null);
    stats.set('slowpeer01', SLOW);
    for (const pid of stats.keys()) r.join(pid, {}, 0);
    run(r, stats, 0, 20_000);
    expect(r.swarmMode).toBe('holder');
    const snap = r.snapshot();
    // Every key and group is owned, and only by viewers that measured the stream rate.
    expect(new Set(snap.holders.flatMap((h) => h.keys)).size).toBe(r.config.segmentKeys.length);
    expect(new Set(snap.producers.flatMap((p) => p.keys)).size).toBe(r.config.producerGroups);
    expect(roleCount(r, 'unmeasured')).toBe(0);
    expect(roleCount(r, 'slowpeer01')).toBe(0);
  });

  it('feeds directly only viewers that measured the stream rate; others only while too few are fed', () => {
    // Without the join trial (next test): the rule for viewers that report nothing.
    const r = room({ directMinFeeds: 3, joinFeedTrialMs: 0 });
    // Nobody measured anything yet: the first viewers are fed so the stream starts.
    for (let i = 0; i < 5; i++) r.join(id(i), {}, 0);
    expect(fed(r).size).toBe(3);
    const stats = new Map<string, PeerStats | null>();
    for (let i = 0; i < 5; i++) stats.set(id(i), STRONG);
    stats.set('unmeasured', null);
    stats.set('slowpeer01', SLOW);
    r.join('unmeasured', {}, 500);
    r.join('slowpeer01', {}, 500);
    run(r, stats, 1000, 4000);
    expect(r.swarmMode).toBe('direct');
    expect(fed(r)).toEqual(new Set(Array.from({ length: 5 }, (_, i) => id(i))));
    // A viewer joining now is not fed until it has measured enough.
    r.join('latecomer1', {}, 4100);
    expect(fed(r).has('latecomer1')).toBe(false);
    stats.set('latecomer1', STRONG);
    run(r, stats, 5000, 5000);
    expect(fed(r).has('latecomer1')).toBe(true);
  });

  it('feeds a joiner at once on trial: its first report decides, and a joiner that never reports loses its slot after joinFeedTrialMs', () => {
    const r = room({ directMinFeeds: 2, joinFeedTrialMs: 5000 });
    const stats = new Map<string, PeerStats | null>();
    for (let i = 0; i < 6; i++) stats.set(id(i), STRONG);
    for (const pid of stats.keys()) r.join(pid, {}, 0);
    // All six joined with nothing measured: all fed at once, not only directMinFeeds of them.
    expect(fed(r).size).toBe(6);
    run(r, stats, 1000, 3000);
    r.join('newcomer01', {}, 3100);
    r.join('newcomer02', {}, 3100);
    r.join('silent0001', {}, 3100);
    expect(fed(r)).toEqual(new Set([...stats.keys(), 'newcomer01', 'newcomer02', 'silent0001']));
    // newcomer01 shows the rate and keeps its slot; newcomer02 backs up below it and loses it at once.
    stats.set('newcomer01', STRONG);
    stats.set('newcomer02', SLOW);
    stats.set('silent0001', null);
    run(r, stats, 4000, 4000);
    expect(fed(r).has('newcomer01')).toBe(true);
    expect(fed(r).has('newcomer02')).toBe(false);
    expect(fed(r).has('silent0001')).toBe(true);
    // The silent one's trial runs out 5 s after its join: the next tick takes its slot.
    run(r, stats, 5000, 8000);
    expect(fed(r).has('silent0001')).toBe(true);
    run(r, stats, 8250, 8250);
    expect(fed(r).has('silent0001')).toBe(false);
    expect(fed(r).has('newcomer01')).toBe(true);
    expect(r.rolesOf('silent0001').holderKeys).toEqual([]);
  });

  it('moves a direct-feed slot off a viewer that falls behind', () => {
    const r = room({ directMinFeeds: 2 });
    const stats = new Map<string, PeerStats | null>();
    for (let i = 0; i < 6; i++) stats.set(id(i), STRONG);
    for (const pid of stats.keys()) r.join(pid, {}, 0);
    run(r, stats, 0, 3000);
    expect(fed(r).has(id(2))).toBe(true);
    stats.set(id(2), SLOW);
    run(r, stats, 4000, 4000);
    expect(fed(r).has(id(2))).toBe(false);
    expect(fed(r).size).toBe(5);
  });

  it('moves holder keys and producer groups off a viewer that falls behind, at its next report', () => {
    const r = room({ holderModeAtViewers: 10, directModeAtViewers: 5 });
    const stats = new Map<string, PeerStats | null>();
    // One viewer on trial (idle buffers, figure below the stream) and the rest strong.
    stats.set('trialpeer1', IDLE);
    for (let i = 0; i < 24; i++) stats.set(id(i), STRONG);
    for (const pid of stats.keys()) r.join(pid, {}, 0);
    run(r, stats, 0, 12_000);
    expect(r.swarmMode).toBe('holder');
    const withRoles = [...stats.keys()].filter((pid) => roleCount(r, pid) > 0);
    expect(withRoles.length).toBeGreaterThan(12);
    const victim = withRoles.find((pid) => r.rolesOf(pid).holderKeys.length > 0)!;
    const keys = r.rolesOf(victim).holderKeys;
    r.pollEvents();
    // Its buffers back up and its figure falls below the stream rate: the keys go elsewhere at once.
    r.heartbeat(victim, SLOW, 12_100);
    expect(roleCount(r, victim)).toBe(0);
    const holders = new Map(r.snapshot().holders.flatMap((h) => h.keys.map((k) => [k, h.peerId] as const)));
    for (const k of keys) expect(holders.get(k)).toBeDefined();
    for (const k of keys) expect(holders.get(k)).not.toBe(victim);
    const told = r.pollEvents().filter((e) => e.type === 'swarm');
    expect(told.length).toBeGreaterThan(0);
    // It gets a role again only after reporting enough and serving a new probation.
    stats.set(victim, STRONG);
    run(r, stats, 13_000, 13_000);
    expect(r.rolesOf(victim).holderKeys).toEqual([]);
  });

  it('waits in direct feed for enough eligible holders, and falls back to it when they fall short', () => {
    const r = room();
    const stats = new Map<string, PeerStats | null>();
    for (let i = 0; i < 45; i++) stats.set(id(i), null);
    for (const pid of stats.keys()) r.join(pid, {}, 0);
    run(r, stats, 0, 5000);
    // 45 viewers, over holderModeAtViewers, but none measured: no holder can be trusted yet.
    expect(r.swarmMode).toBe('direct');
    for (const pid of stats.keys()) stats.set(pid, STRONG);
    run(r, stats, 6000, 20_000);
    expect(r.swarmMode).toBe('holder');
    expect(new Set(r.snapshot().holders.flatMap((h) => h.keys)).size).toBe(r.config.segmentKeys.length);
    // All but two fall behind: too few to hold the keys, so the room goes back to direct feed.
    for (let i = 2; i < 45; i++) stats.set(id(i), SLOW);
    run(r, stats, 21_000, 23_000);
    expect(r.swarmMode).toBe('direct');
    expect(r.snapshot().holders).toEqual([]);
  });

  it('keeps a viewer on trial eligible while its buffers stay idle, and reads nothing into a missing limited share', () => {
    const r = room({ holderModeAtViewers: 10, directModeAtViewers: 5, directMinFeeds: 1 });
    const stats = new Map<string, PeerStats | null>();
    for (let i = 0; i < 3; i++) stats.set(id(i), STRONG);
    stats.set('trialpeer1', IDLE);
    stats.set('nobusy0001', { measuredUploadBps: 1.2e6 });
    for (const pid of stats.keys()) r.join(pid, {}, 0);
    run(r, stats, 0, 3000);
    const f = fed(r);
    expect(f.has('trialpeer1')).toBe(true);
    expect(f.has('nobusy0001')).toBe(false);
  });
});

describe('uploadStanding', () => {
  const c = resolveRoomConfig();
  const peer = (x: Partial<RoomPeer>) => ({ uploadBps: undefined, measuredUploadBps: undefined, uploadLimitedShare: undefined, ...x }) as RoomPeer;
  it.each([
    ['nothing reported', {}, 'unknown'],
    ['measured the rate, backed up', { measuredUploadBps: 2e6, uploadLimitedShare: 1 }, 'proven'],
    ['measured the rate, no limited share', { measuredUploadBps: 3e6 }, 'proven'],
    ['below, buffers idle', { measuredUploadBps: 0.5e6, uploadLimitedShare: 0.25 }, 'trial'],
    ['below, buffers backed up', { measuredUploadBps: 0.5e6, uploadLimitedShare: 0.26 }, 'short'],
    ['below, no limited share', { measuredUploadBps: 0.5e6 }, 'short'],
    ['nothing sent, buffers idle', { measuredUploadBps: 0, uploadLimitedShare: 0 }, 'short'],
    ['a stated cap alone at the rate', { uploadBps: 2e6 }, 'proven'],
    ['a stated cap below what it measured', { uploadBps: 1e6, measuredUploadBps: 5e6, uploadLimitedShare: 0 }, 'short'],
    ['a cap above what it measured', { uploadBps: 9e6, measuredUploadBps: 1e6, uploadLimitedShare: 0 }, 'trial'],
  ] as const)('%s: %s', (_name, x, want) => {
    expect(uploadStanding(peer(x), c, 2e6)).toBe(want);
  });

  it('counts the measured figure lowered by a stated cap, capped for ranking', () => {
    expect(countedUploadBps(peer({ measuredUploadBps: 4e6 }), c, 2e6)).toBe(4e6);
    expect(countedUploadBps(peer({ measuredUploadBps: 4e6, uploadBps: 3e6 }), c, 2e6)).toBe(3e6);
    expect(countedUploadBps(peer({ measuredUploadBps: 1e12 }), c, 2e6)).toBe(6e6);
    expect(countedUploadBps(peer({}), c, 2e6)).toBe(0);
  });

  it('rejects a limited-share bound outside 0…1 and a negative feed floor', () => {
    expectCode(() => resolveRoomConfig({ trialMaxLimitedShare: 1.5 }), 'BAD_CONFIG');
    expectCode(() => resolveRoomConfig({ directMinFeeds: -1 }), 'BAD_CONFIG');
    expectCode(() => resolveRoomConfig({ joinFeedTrialMs: -1 }), 'BAD_CONFIG');
    expectCode(() => resolveRoomConfig({ joinFeedTrialMs: 1.5 }), 'BAD_CONFIG');
  });
});
