// role-trust.ts rule by rule, with peers and times passed in (no room): the upload the tracker
// counts (claims capped, lowered by a measurement), where a peer stands against a role's upload,
// the holder probation's edge, distrust's edge, network keys, the ranking order, the holder pick
// (networks spread, roles and distrust skipped) and the complaint rule (window, one network once,
// the share of the holder's producer networks). Each row is at or one step past a bound.
import { describe, expect, it } from 'vitest';
import type { RoomPeer } from './role-book.ts';
import { DEFAULT_ROOM_CONFIG, type RoomConfig } from './room-config.ts';
import { countedUploadBps, distrusted, minRoleUpload, networkOf, pickHolder, rankCandidates, recordComplaint, reportedUploadBps, seasoned, uploadStanding } from './role-trust.ts';

const cfg = (c: Partial<RoomConfig> = {}): RoomConfig => ({ ...DEFAULT_ROOM_CONFIG, segmentKeys: [...DEFAULT_ROOM_CONFIG.segmentKeys], ...c });

function peer(id: string, p: Partial<RoomPeer> = {}): RoomPeer {
  return {
    id,
    broadcaster: false,
    edges: new Map(),
    swarmDegree: 0,
    idx: 0,
    failed: null,
    hostKey: null,
    announcedNeighbours: null,
    joinedMs: 0,
    measuredUploadBps: undefined,
    uploadLimitedShare: undefined,
    reportedSinceMs: null,
    distrustedUntilMs: 0,
    complaints: null,
    networkKey: null,
    uploadBps: undefined,
    relayed: false,
    lastSeenMs: 0,
    holderKeys: [],
    producerGroups: [],
    leaseExpiresMs: 0,
    claimedKeys: [],
    claimedGroups: [],
    lapsed: false,
    ...p,
  } as RoomPeer;
}

describe('upload the tracker counts', () => {
  it('reports the smaller of claim and measurement, either alone, or nothing', () => {
    expect(reportedUploadBps(peer('a'))).toBeUndefined();
    expect(reportedUploadBps(peer('a', { uploadBps: 5e6 }))).toBe(5e6);
    expect(reportedUploadBps(peer('a', { measuredUploadBps: 3e6 }))).toBe(3e6);
    expect(reportedUploadBps(peer('a', { uploadBps: 5e6, measuredUploadBps: 3e6 }))).toBe(3e6);
    expect(reportedUploadBps(peer('a', { uploadBps: 2e6, measuredUploadBps: 3e6 }))).toBe(2e6);
    expect(reportedUploadBps(peer('a', { uploadBps: 0, measuredUploadBps: 3e6 }))).toBe(0);
  });

  it('caps the count at maxCountedUploadRatio × bitrate, or maxCountedUploadBps while the bitrate is unknown; 0 when nothing reported', () => {
    const c = cfg({ maxCountedUploadRatio: 3, maxCountedUploadBps: 20e6 });
    expect(countedUploadBps(peer('a', { uploadBps: 1e12 }), c, 1e6)).toBe(3e6);
    expect(countedUploadBps(peer('a', { uploadBps: 2.5e6 }), c, 1e6)).toBe(2.5e6);
    expect(countedUploadBps(peer('a', { uploadBps: 1e12 }), c, 0)).toBe(20e6);
    expect(countedUploadBps(peer('a', { uploadBps: 19e6 }), c, 0)).toBe(19e6);
    expect(countedUploadBps(peer('a'), c, 1e6)).toBe(0);
  });

  it('asks a role for the larger of minRoleUploadBps and minRoleUploadRatio × bitrate', () => {
    expect(minRoleUpload(cfg({ minRoleUploadBps: 0, minRoleUploadRatio: 1.5 }), 2e6)).toBe(3e6);
    expect(minRoleUpload(cfg({ minRoleUploadBps: 4e6, minRoleUploadRatio: 1.5 }), 2e6)).toBe(4e6);
  });
});

describe('uploadStanding', () => {
  const c = cfg({ minRoleUploadBps: 0, minRoleUploadRatio: 1, trialMaxLimitedShare: 0.25 });
  const rate = 2e6;

  it('unknown without a report; proven at exactly the role upload, not a bit below', () => {
    expect(uploadStanding(peer('a'), c, rate)).toBe('unknown');
    expect(uploadStanding(peer('a', { uploadBps: 2e6 }), c, rate)).toBe('proven');
    expect(uploadStanding(peer('a', { uploadBps: 2e6 - 1 }), c, rate)).toBe('short');
  });

  it('trial: measured below the role upload with buffers backed up at most trialMaxLimitedShare of the time', () => {
    expect(uploadStanding(peer('a', { measuredUploadBps: 1e6, uploadLimitedShare: 0.25 }), c, rate)).toBe('trial');
    expect(uploadStanding(peer('a', { measuredUploadBps: 1e6, uploadLimitedShare: 0.26 }), c, rate)).toBe('short');
    expect(uploadStanding(peer('a', { measuredUploadBps: 1e6, uploadLimitedShare: 0 }), c, rate)).toBe('trial');
    // No limited share reported counts as always backed up.
    expect(uploadStanding(peer('a', { measuredUploadBps: 1e6 }), c, rate)).toBe('short');
    // A measurement of 0 proves nothing.
    expect(uploadStanding(peer('a', { measuredUploadBps: 0, uploadLimitedShare: 0 }), c, rate)).toBe('short');
  });

  it('short when the peer’s own stated cap is what holds it below (the measurement is not its limit)', () => {
    expect(uploadStanding(peer('a', { uploadBps: 5e5, measuredUploadBps: 1e6, uploadLimitedShare: 0 }), c, rate)).toBe('short');
    // A cap alone, without a measurement, is never a trial.
    expect(uploadStanding(peer('a', { uploadBps: 1e6, uploadLimitedShare: 0 }), c, rate)).toBe('short');
  });
});

describe('probation, distrust and networks', () => {
  const c = cfg({ holderProbationMs: 10_000 });

  it('is seasoned exactly holderProbationMs after joining, not a millisecond sooner', () => {
    const p = peer('a', { joinedMs: 1000 });
    expect(seasoned(p, c, 10_999)).toBe(false);
    expect(seasoned(p, c, 11_000)).toBe(true);
  });

  it('counts the probation from the later of joining and reporting enough', () => {
    const later = peer('a', { joinedMs: 1000, reportedSinceMs: 5000 });
    expect(seasoned(later, c, 14_999)).toBe(false);
    expect(seasoned(later, c, 15_000)).toBe(true);
    // A report time before the join (cannot move the start earlier).
    const earlier = peer('b', { joinedMs: 5000, reportedSinceMs: 1000 });
    expect(seasoned(earlier, c, 14_999)).toBe(false);
    expect(seasoned(earlier, c, 15_000)).toBe(true);
  });

  it('distrusts until distrustedUntilMs, not at it', () => {
    const p = peer('a', { distrustedUntilMs: 5000 });
    expect(distrusted(p, 4999)).toBe(true);
    expect(distrusted(p, 5000)).toBe(false);
  });

  it('names a peer’s network by its key, or the peer alone when it has none', () => {
    expect(networkOf(peer('a', { networkKey: '10.0.0' }))).toBe('10.0.0');
    expect(networkOf(peer('a'))).toBe('#a');
    expect(networkOf(peer('b'))).not.toBe(networkOf(peer('a')));
  });
});

describe('rankCandidates', () => {
  const c = cfg({ holderProbationMs: 10_000, maxCountedUploadRatio: 3 });

  it('orders seasoned first, then counted upload, then the oldest, then by id', () => {
    const now = 20_000;
    const fresh = peer('fresh', { joinedMs: 15_000, uploadBps: 9e6 }); // not seasoned, the most upload
    const strong = peer('strong', { joinedMs: 5000, uploadBps: 2.9e6 });
    const weak = peer('weak', { joinedMs: 0, uploadBps: 1e6 });
    const oldB = peer('b', { joinedMs: 1000, uploadBps: 1e6 });
    const oldA = peer('a', { joinedMs: 1000, uploadBps: 1e6 });
    const capped = peer('capped', { joinedMs: 6000, uploadBps: 1e12 }); // counted as 3 Mb/s at 1 Mb/s: above strong, no further
    const order = rankCandidates([fresh, oldB, weak, strong, oldA, capped], c, 1e6, now).map((p) => p.id);
    expect(order).toEqual(['capped', 'strong', 'weak', 'a', 'b', 'fresh']);
  });

  it('breaks a full tie by id whichever order the candidates come in', () => {
    const a = () => peer('a', { joinedMs: 0, uploadBps: 1e6 });
    const b = () => peer('b', { joinedMs: 0, uploadBps: 1e6 });
    expect(rankCandidates([a(), b()], c, 1e6, 0).map((p) => p.id)).toEqual(['a', 'b']);
    expect(rankCandidates([b(), a()], c, 1e6, 0).map((p) => p.id)).toEqual(['a', 'b']);
  });
});

describe('pickHolder', () => {
  it('takes the first candidate from a network without a key; skips peers with roles and distrusted ones', () => {
    const now = 1000;
    const fresh = [
      peer('holds', { networkKey: 'n1', holderKeys: [3] }),
      peer('produces', { networkKey: 'n2', producerGroups: [1] }),
      peer('distrusted', { networkKey: 'n3', distrustedUntilMs: 1001 }),
      peer('used', { networkKey: 'n4' }),
      peer('free', { networkKey: 'n5' }),
    ];
    expect(pickHolder(fresh, 0, new Set(['n4']), now)).toBe(4);
    // From an index on: candidates before it are not looked at.
    expect(pickHolder(fresh, 4, new Set(), now)).toBe(4);
    expect(pickHolder(fresh, 3, new Set(), now)).toBe(3);
    // Distrust ends at distrustedUntilMs.
    expect(pickHolder(fresh, 0, new Set(['n4', 'n5']), 1001)).toBe(2);
  });

  it('falls back to the best candidate when every network holds a key, and -1 when nobody is free', () => {
    const fresh = [peer('x', { networkKey: 'n1', holderKeys: [0] }), peer('a', { networkKey: 'n1' }), peer('b', { networkKey: 'n2' })];
    expect(pickHolder(fresh, 0, new Set(['n1', 'n2']), 0)).toBe(1);
    // The best one is the first: kept over later ones of used networks.
    expect(pickHolder(fresh.slice(1), 0, new Set(['n1', 'n2']), 0)).toBe(0);
    expect(pickHolder(fresh, 0, new Set(['n1']), 0)).toBe(2);
    expect(pickHolder([peer('x', { holderKeys: [0] })], 0, new Set(), 0)).toBe(-1);
    expect(pickHolder([], 0, new Set(), 0)).toBe(-1);
  });
});

describe('recordComplaint', () => {
  const c = cfg({ complaintsToMove: 3, complaintShare: 0.5, complaintWindowMs: 30_000 });
  const nets = (n: number) => new Set(Array.from({ length: n }, (_, i) => `n${i}`));
  const producer = (i: number) => peer(`p${i}`, { networkKey: `n${i}` });

  it('moves the keys at complaintsToMove networks when that is at least the share, not one fewer', () => {
    const h = peer('h');
    const producers = nets(4);
    expect(recordComplaint(h, producer(0), c, 0, producers)).toBe(false);
    expect(recordComplaint(h, producer(1), c, 0, producers)).toBe(false);
    expect(recordComplaint(h, producer(2), c, 0, producers)).toBe(true);
  });

  it('needs ⌈complaintShare × producer networks⌉ when that is more than complaintsToMove', () => {
    const h = peer('h');
    const producers = nets(9); // ⌈4.5⌉ = 5
    for (let i = 0; i < 4; i++) expect(recordComplaint(h, producer(i), c, 0, producers)).toBe(false);
    expect(recordComplaint(h, producer(4), c, 0, producers)).toBe(true);
  });

  it('counts a network once however often it complains, and only networks that produce from the holder now', () => {
    const h = peer('h');
    const producers = nets(4);
    for (let k = 0; k < 5; k++) expect(recordComplaint(h, producer(0), c, k, producers)).toBe(false);
    expect(recordComplaint(h, producer(1), c, 5, producers)).toBe(false);
    expect(recordComplaint(h, peer('stranger', { networkKey: 'elsewhere' }), c, 5, producers)).toBe(false);
    expect(h.complaints?.size).toBe(3);
    expect(recordComplaint(h, producer(2), c, 5, producers)).toBe(true);
  });

  it('forgets complaints older than complaintWindowMs, keeps those exactly that old', () => {
    const h = peer('h');
    const producers = nets(4);
    recordComplaint(h, producer(0), c, 0, producers);
    recordComplaint(h, producer(1), c, 1, producers);
    // At 30 001 the complaint of 0 is 30 001 ms old: forgotten; the one of 1 is exactly 30 000: kept.
    expect(recordComplaint(h, producer(2), c, 30_001, producers)).toBe(false);
    expect([...(h.complaints as Map<string, number>).keys()]).toEqual(['n1', 'n2']);
    const h2 = peer('h2');
    recordComplaint(h2, producer(0), c, 0, producers);
    recordComplaint(h2, producer(1), c, 0, producers);
    expect(recordComplaint(h2, producer(2), c, 30_000, producers)).toBe(true);
  });

  it('a repeated complaint refreshes its time and moves to the newest place', () => {
    const h = peer('h');
    const producers = nets(40);
    recordComplaint(h, producer(0), c, 0, producers);
    recordComplaint(h, producer(1), c, 0, producers);
    recordComplaint(h, producer(0), c, 10, producers);
    expect([...(h.complaints as Map<string, number>).entries()]).toEqual([['n1', 0], ['n0', 10]]);
  });

  it('remembers at most 32 networks per holder, forgetting the oldest', () => {
    const h = peer('h');
    const producers = nets(100);
    for (let i = 0; i < 33; i++) recordComplaint(h, producer(i), cfg({ complaintsToMove: 1000 }), i, producers);
    const m = h.complaints as Map<string, number>;
    expect(m.size).toBe(32);
    expect(m.has('n0')).toBe(false);
    expect(m.has('n1')).toBe(true);
    expect(m.has('n32')).toBe(true);
  });
});
