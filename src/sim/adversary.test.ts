// The adversary kit: each kind sends its hostile traffic in the real wire format, the simulator
// runs attackers among honest viewers, and the report's attack counts agree with what happened
// (bans, attackers, rejoins). Small swarms, short virtual time, fixed seeds.

import { describe, expect, it } from 'vitest';
import { createCodec } from '../codec/index.ts';
import { expectCode } from '../expect-code.ts';
import { encodeMessage, parseMessage, type Manifest, type WireMessage } from '../protocol/wire.ts';
import { Adversary, ATTACK_KINDS, attackOf, FAR_SEQ, isAttackerSlot, summarizeAttack, type AttackKind } from './adversary.ts';
import { fingerprint, createIdentityCodec, zeroView } from './identity-codec.ts';
import { formatReport } from './sim-report.ts';
import { LINK_PRESETS, resolveSimOptions } from './sim-options.ts';
import { simulate } from './simulator.ts';
import { isTainted, taintedView, withTaint } from './tainted-codec.ts';

const manifest = (seq: number): Manifest => ({
  seq, length: 8192, captureTimeMs: 1000, flags: 0, broadcastId: new Uint8Array(8), digest: new Uint8Array(32), signature: new Uint8Array(64),
});
const forge = (m: Manifest): Manifest => ({ ...m, broadcastId: Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9) });
const neighbours = [{ id: 'b', broadcaster: true }, { id: 'v1', broadcaster: false }, { id: 'v2', broadcaster: false }];

/** Runs one attacker of `kind` through its honest core's usual messages and 20 ticks. */
function exercise(kind: AttackKind) {
  const a = new Adversary(kind, forge);
  a.observe({ type: 'manifest', manifest: manifest(40) });
  const sent: WireMessage[] = [];
  const honest: WireMessage[] = [
    { type: 'hello', initSeq: 0, roles: 0 },
    { type: 'feed', seq: 40, x: 3, payload: zeroView(128) },
    { type: 'seed', seq: 40, c: 2, g: 1, payload: zeroView(128) },
    { type: 'manifest', manifest: manifest(40) },
    { type: 'have', entries: [{ seq: 40, flags: 1, keys: [3] }] },
  ];
  for (const m of honest) {
    const out = a.outgoing('v1', m, 100);
    if (out) sent.push(out);
  }
  for (let t = 0; t < 20; t++) for (const i of a.tick(100 + 40 * t, neighbours)) sent.push(i.message);
  return { a, sent };
}

describe('adversary kit: hostile traffic on the real wire', () => {
  it.each(ATTACK_KINDS.map((k) => [k]))('%s sends (or withholds) its hostile traffic, counted, every message valid wire', (kind) => {
    const { a, sent } = exercise(kind);
    // Every message it sends parses back to itself: attackers speak the protocol's own format.
    for (const m of sent) {
      const r = parseMessage(encodeMessage(m));
      expect(r.ok, `${m.type}: ${r.ok ? '' : r.reason}`).toBe(true);
      if (r.ok) expect(encodeMessage(r.message)).toEqual(encodeMessage(m));
    }
    if (kind === 'withhold') {
      expect(a.counts.get('withheld')).toBe(2); // the feed and the seed packet
      expect(a.hostileSent).toBe(0);
      expect(sent.some((m) => m.type === 'feed' || m.type === 'seed')).toBe(false);
      expect(a.claimBps).toBeGreaterThan(0);
      return;
    }
    expect(a.hostileSent).toBeGreaterThan(0);
    expect(a.touched.size).toBeGreaterThan(0);
    const types = new Set(a.counts.keys());
    switch (kind) {
      case 'pollute': case 'rejoin': {
        const feed = sent.find((m) => m.type === 'feed') as Extract<WireMessage, { type: 'feed' }>;
        expect(isTainted(feed.payload)).toBe(true);
        expect([...types].sort()).toEqual(['feed', 'seed']);
        break;
      }
      case 'amplify':
        expect(types).toEqual(new Set(['request', 'init-request', 'manifest-request', 'cs-repair']));
        expect(a.counts.get('request')).toBe(20 * 4 * neighbours.length);
        break;
      case 'far-future':
        expect(types).toEqual(new Set(['have', 'feed']));
        // Its honest core's packets go out as they are; what it adds names sequences near 2^32.
        expect(sent.filter((m) => (m.type === 'feed' && m.seq >= FAR_SEQ) || (m.type === 'have' && m.entries[0].seq >= FAR_SEQ))).toHaveLength(20 * neighbours.length * 2);
        expect(a.hostileSent).toBe(20 * neighbours.length * 2);
        break;
      case 'claim':
        expect((sent.find((m) => m.type === 'hello') as { roles: number }).roles).toBe(1);
        expect(types).toEqual(new Set(['hello', 'direct-slot', 'cs-chunk']));
        break;
      case 'report':
        expect(types).toEqual(new Set(['report']));
        // Honest viewers are named, never the broadcaster.
        expect(sent.every((m) => m.type !== 'report' || m.peerId !== 'b')).toBe(true);
        break;
      case 'replay': {
        const m = sent.filter((x) => x.type === 'manifest') as Array<Extract<WireMessage, { type: 'manifest' }>>;
        expect(m.length).toBeGreaterThan(1);
        expect(m.every((x) => x.manifest.broadcastId[0] === 9)).toBe(true);
        break;
      }
    }
  });

  it('spreads attackers evenly over the joining order and deals the kinds in turn', () => {
    expect(Array.from({ length: 100 }, (_, i) => isAttackerSlot(0.1, i)).filter(Boolean)).toHaveLength(10);
    expect(Array.from({ length: 300 }, (_, i) => isAttackerSlot(0.1, i)).filter(Boolean)).toHaveLength(30);
    expect(Array.from({ length: 50 }, (_, i) => isAttackerSlot(0, i)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 16 }, (_, i) => attackOf('mix', i, true))).toEqual([...ATTACK_KINDS, ...ATTACK_KINDS]);
    expect(Array.from({ length: 7 }, (_, i) => attackOf('mix', i, false))).not.toContain('replay');
    expect(attackOf('withhold', 5, true)).toBe('withhold');
    expectCode(() => new Adversary('replay'), 'BAD_CONFIG');
  });
});

describe('pollution in identity runs (tainted codec)', () => {
  const codec = withTaint(createIdentityCodec());
  it('a decode that uses a corrupted packet gives a frame whose fingerprint disagrees', () => {
    const clean = new Map(Array.from({ length: 64 }, (_, x) => [x, zeroView(128)]));
    const bad = new Map(clean);
    bad.set(7, taintedView(128));
    expect(fingerprint(codec.decodeFrame(clean, 8000))).toEqual(fingerprint(zeroView(8000)));
    expect(fingerprint(codec.decodeFrame(bad, 8000))).not.toEqual(fingerprint(zeroView(8000)));
  });

  it('seeds: 8 with a bad one make bad feed packets, 9 detect, 10 name the bad holder key', () => {
    const seeds = (n: number, bad: number[]) => new Map(Array.from({ length: n }, (_, i) => [i * 3, bad.includes(i * 3) ? taintedView(128) : zeroView(128)]));
    expect(codec.feedPacketsFromSeeds(seeds(8, [6]), 2).every(isTainted)).toBe(true);
    expect(codec.feedPacketsFromSeeds(seeds(10, []), 2).some(isTainted)).toBe(false);
    expectCode(() => codec.feedPacketsFromSeeds(seeds(9, [6]), 2), 'CODEC_SEEDS_DISAGREE');
    let err: unknown;
    try { codec.feedPacketsFromSeeds(seeds(10, [6]), 2); } catch (e) { err = e; }
    expect((err as { details: { c?: number } }).details.c).toBe(6);
    try { codec.feedPacketsFromSeeds(seeds(10, [6, 9]), 2); } catch (e) { err = e; }
    expect((err as { details: { c?: number } }).details.c).toBeUndefined();
    // A code segment with one corrupted chunk corrupts the seeds cut from that chunk only.
    const cs = new Uint8Array(8 * 256);
    cs.set(taintedView(256), 3 * 256);
    expect([0, 1, 2, 3, 4].map((g) => isTainted(codec.seedPacket(cs, g)))).toEqual([false, false, false, true, false]);
  });
});

describe('attack figures', () => {
  it('counts bans of attackers per touched pair, honest peers banned, and upload paid per copy', () => {
    const r = summarizeAttack({
      attack: 'mix',
      attackers: [
        { id: 'x', kind: 'pollute', joinMs: 0, leftMs: Infinity, counts: new Map([['feed', 10]]), touched: new Map([['h1', 1000], ['h2', 1000], ['y', 50]]), paidBytes: 500, paidByBroadcaster: 100 },
        { id: 'y', kind: 'withhold', joinMs: 0, leftMs: 5000, counts: new Map([['withheld', 7]]), touched: new Map(), paidBytes: 250, paidByBroadcaster: 0 },
      ],
      bans: [
        { by: 'h1', peerId: 'x', atMs: 1500 },
        { by: 'h1', peerId: 'x', atMs: 9000 }, // a later ban of the same pair does not count again
        { by: 'h2', peerId: 'x', atMs: 4000 },
        { by: 'x', peerId: 'h1', atMs: 100 }, // an attacker's bans are not wrong bans
        { by: 'h2', peerId: 'h3', atMs: 200, reason: 'sent bad feed packets for frame 12' },
        { by: 'b', peerId: 'h3', atMs: 300, reason: 'sent bad feed packets for frame 13' },
      ],
      streamBytes: (a, b) => (Math.min(b, 10_000) - a) / 10,
      endMs: 10_000,
      banWithinMs: 2000,
      rejoins: 0,
      reintroduced: 0,
    });
    expect(r.attackers).toBe(2);
    expect([r.pairsTouched, r.pairsBanned, r.pairsBannedInTime]).toEqual([2, 2, 1]);
    expect([r.banP50Ms, r.banMaxMs]).toEqual([500, 3000]);
    expect([r.attackersTouching, r.attackersBannedByAllInTime]).toEqual([1, 0]);
    expect([r.honestBanned, r.honestBanEvents]).toEqual([1, 2]);
    expect(r.paidCopiesMean).toBeCloseTo((0.5 + 0.5) / 2);
    expect(r.broadcasterPaidRatio).toBeCloseTo(0.1);
    expect(r.kinds.find((k) => k.kind === 'withhold')).toMatchObject({ attackers: 1, hostileMessages: 0, withheld: 7, pairsTouched: 0 });
    expect(r.honestBanReasons).toEqual([{ reason: 'sent bad feed packets for frame N', bans: 2 }]);
    // x stayed the whole 10 s (1 000 stream bytes), y 5 s (500): each was paid half a copy.
    expect(r.kinds.map((k) => [k.kind, k.paidCopiesMean, k.paidCopiesMax])).toEqual([['pollute', 0.5, 0.5], ['withhold', 0.5, 0.5]]);
  });
});

const small = { peers: 10, seconds: 8, warmupMs: 1500, joinSpreadMs: 300, tracker: 'room' as const, seed: 3 };

describe('attackers in the simulator', () => {
  it('a run without adversaries reports no attack and no attacker', async () => {
    const { report, sim } = await simulate(small);
    expect(report.attack).toBeUndefined();
    expect(sim.attackReport()).toMatchObject({ attackers: 0, pairsTouched: 0, honestBanned: 0 });
    expect([...sim.peers.values()].some((p) => p.adv)).toBe(false);
  });

  it('one polluter: banned by honest peers it polluted, no honest peer banned, its upload not in the viewer figures', async () => {
    const { report, sim } = await simulate({ ...small, adversaries: 0.1, attack: 'pollute' });
    const a = report.attack;
    expect(a).toBeDefined();
    const bad = [...sim.peers.values()].filter((p) => p.adv);
    expect(bad).toHaveLength(1);
    expect(a?.attackers).toBe(1);
    const banners = new Set(sim.bans.filter((b) => b.peerId === bad[0].id).map((b) => b.by));
    expect(banners.size).toBeGreaterThan(0);
    // Every ban the report counts is a real ban by a peer the polluter sent bad packets to.
    const touched = [...(bad[0].adv?.touched.keys() ?? [])];
    expect(a?.pairsBanned).toBe(touched.filter((t) => banners.has(t)).length);
    expect(a?.pairsTouched).toBe(touched.length);
    expect(a?.honestBanned).toBe(0);
    expect(sim.bans.filter((b) => b.peerId !== bad[0].id && b.by !== bad[0].id)).toEqual([]);
    expect(report.viewersMeasured).toBe(9);
    // It never came back under another id: no link counts as a reintroduction.
    expect([a?.rejoins, a?.reintroduced]).toEqual([0, 0]);
    expect(formatReport(report)).toContain('attackers banned:');
  });

  it.each([['amplify'], ['far-future'], ['claim'], ['replay']] as const)('%s: hostile traffic reaches honest peers and they ban the attacker', async (kind) => {
    const { report } = await simulate({ ...small, seconds: 5, adversaries: 0.1, attack: kind });
    const k = report.attack?.kinds[0];
    expect(k?.kind).toBe(kind);
    expect(k?.hostileMessages).toBeGreaterThan(0);
    expect(k?.pairsTouched).toBeGreaterThan(0);
    expect(k?.pairsBanned).toBeGreaterThan(0);
    expect(report.attack?.honestBanned).toBe(0);
  });

  it.each([['withhold'], ['report']] as const)('%s: its traffic is counted (no proof against it: it is not banned for it)', async (kind) => {
    const { report } = await simulate({ ...small, seconds: 5, adversaries: 0.1, attack: kind });
    const k = report.attack?.kinds[0];
    expect(kind === 'withhold' ? k?.withheld : k?.hostileMessages).toBeGreaterThan(0);
    expect(report.attack?.honestBanned).toBe(0);
  });

  it('rejoin: a banned attacker comes back under a new id from its address, and the room does not link it to peers that banned it', async () => {
    const { report, sim } = await simulate({ ...small, adversaries: 0.1, attack: 'rejoin' });
    const a = report.attack;
    expect(a?.rejoins).toBeGreaterThan(0);
    expect(a?.attackers).toBe(1 + (a?.rejoins ?? 0));
    expect(a?.reintroduced).toBe(0);
    expect(a?.pairsBanned).toBeGreaterThan(0);
    // Its new id is still an attacker, from the same address as the banned one.
    expect([...sim.peers.values()].filter((p) => p.adv?.kind === 'rejoin')).toHaveLength(1);
  });

  it('real bytes: a banned attacker linking again under its own id is no reintroduction', async () => {
    const codec = await createCodec();
    const { report } = await simulate({ ...LINK_PRESETS.lan, peers: 10, seconds: 8, bytes: true, codec, adversaries: 0.2, attack: 'mix', tracker: 'room', seed: 2 });
    expect(report.attack?.kinds.map((k) => k.kind)).toEqual(['pollute', 'withhold']);
    expect(report.attack?.pairsBanned).toBeGreaterThan(0);
    expect([report.attack?.rejoins, report.attack?.reintroduced]).toEqual([0, 0]);
  });

  it('refuses attacks it cannot run: several workers, replay with real bytes, unknown kinds, shares out of range', () => {
    expectCode(() => resolveSimOptions({ adversaries: 0.1, workers: 2 }), 'BAD_CONFIG');
    expectCode(() => resolveSimOptions({ adversaries: 0.1, attack: 'replay', bytes: true, codec: createIdentityCodec() }), 'BAD_CONFIG');
    expectCode(() => resolveSimOptions({ adversaries: 0.1, attack: 'nope' as never }), 'BAD_CONFIG');
    expectCode(() => resolveSimOptions({ adversaries: 1.5 }), 'BAD_CONFIG');
  });
});
