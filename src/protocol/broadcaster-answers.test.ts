// The broadcaster's answers to its neighbours, each rule at its edge, driven straight through
// handleParsed (no peer cores: the neighbours are names, every output is read back): manifests twice
// per frame and neighbour, init segments once per sequence and never ahead of the current one,
// MISSING once per viewer and frame and only about the direct slots' holders, REPORTs weighed as
// the newest few of each reporter and 64 reporters at most per reported peer, and a message no role
// sends to the broadcaster counted against its sender.

import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { BroadcasterCore, type BroadcasterConfig } from './broadcaster-core.ts';
import type { CoreOutput } from './core-types.ts';
import { createCryptoRunner } from './crypto-jobs.ts';
import { KeySet } from './key-set.ts';
import { FLAG_INIT_SEGMENT, type WireMessage } from './wire.ts';

let codec: Codec;
let run: ReturnType<typeof createCryptoRunner>;
beforeAll(async () => {
  codec = createReferenceCodec();
  const key = await generateStreamKey();
  run = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId, key });
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);
type Sent = { to: string; message: WireMessage; channel: string };

/** A broadcaster with the named neighbours connected at time 0 (direct mode: each gets a slot). */
function setup(ids: string[], config?: Partial<BroadcasterConfig>) {
  const b = new BroadcasterCore({ codec, config });
  let now = 0;
  /** Everything b output since the last call; media pumped until its queues are empty. */
  const bans: string[] = [];
  const badPeers: CoreOutput[] = [];
  const outputs = (): CoreOutput[] => {
    const all: CoreOutput[] = [];
    for (let o: CoreOutput | undefined; (o = b.pollOutput()); ) {
      all.push(o);
      if (o.type === 'bad-peer') badPeers.push(o);
      if (o.type === 'bad-peer' && o.banned) bans.push(`${o.peerId}: ${o.reason}`);
      if (o.type === 'want-writable') b.handleBufferedAmount(o.peerId, 0, now);
      if (o.type === 'send' && o.channel === 'media') b.handleBufferedAmount(o.peerId, 0, now);
    }
    return all;
  };
  const sends = (): Sent[] => outputs().flatMap((o) => (o.type === 'send' ? [{ to: o.peerId, message: o.message, channel: o.channel }] : []));
  for (const id of ids) b.handlePeerConnected(id, now);
  outputs();
  /** Publishes a frame and signs its manifest; returns its sequence and what b sent. */
  const publish = async (n: number, flags = 0): Promise<{ seq: number; sent: Sent[] }> => {
    const seq = b.publishFrame(frameBytes(n, seq0++), flags, now, now);
    const first = outputs();
    const sent: Sent[] = first.flatMap((o) => (o.type === 'send' ? [{ to: o.peerId, message: o.message, channel: o.channel }] : []));
    for (const o of first) {
      if (o.type !== 'crypto') continue;
      b.handleCryptoResult(await run(o.job), now);
      sent.push(...sends());
    }
    return { seq, sent };
  };
  let seq0 = 0;
  /** `from` sends m; returns what b sent back and the bad messages it counted. */
  const ask = (from: string, m: WireMessage, at = now): { sent: Sent[]; bad: number } => {
    now = Math.max(now, at);
    const bad = b.stats.badMessages;
    b.handleParsed(from, m, now);
    return { sent: sends(), bad: b.stats.badMessages - bad };
  };
  return { b, publish, ask, sends, bans, badPeers, at: (t: number) => (now = t) };
}

const types = (s: Sent[]) => s.map((x) => `${x.to}:${x.message.type}`);

describe('manifest requests at the broadcaster', () => {
  it('answered serveManifestTimes (2) times per frame and neighbour; the 3rd is counted, not answered', async () => {
    const { b, publish, ask } = setup(['a', 'c', 'd']);
    const { seq } = await publish(3000);
    expect(b.policy.cfg.serveManifestTimes).toBe(2);
    for (let i = 0; i < 2; i++) expect(ask('a', { type: 'manifest-request', seq })).toEqual({ sent: [expect.objectContaining({ to: 'a', channel: 'control', message: expect.objectContaining({ type: 'manifest' }) })], bad: 0 });
    expect(ask('a', { type: 'manifest-request', seq })).toEqual({ sent: [], bad: 1 });
    // c's count is its own.
    expect(types(ask('c', { type: 'manifest-request', seq }).sent)).toEqual(['c:manifest']);
  });

  it('the manifest answered is the frame\'s own', async () => {
    const { publish, ask } = setup(['a']);
    await publish(3000);
    const { seq } = await publish(3000);
    const got = ask('a', { type: 'manifest-request', seq }).sent[0].message;
    expect(got.type === 'manifest' && got.manifest.seq).toBe(seq);
  });

  it('an unknown frame, or one whose manifest is not signed yet: nothing, not counted', async () => {
    const { b, publish, ask, sends } = setup(['a']);
    const { seq } = await publish(3000);
    expect(ask('a', { type: 'manifest-request', seq: seq + 1 })).toEqual({ sent: [], bad: 0 });
    // Frame 1 published, its signature not back yet.
    const next = b.publishFrame(frameBytes(3000, 9), 0, 0, 0);
    sends();
    expect(ask('a', { type: 'manifest-request', seq: next })).toEqual({ sent: [], bad: 0 });
  });

  it('manifest requests use the frame\'s repair allowance: the 9th request of a frame is refused and counted', async () => {
    const { b, publish, ask } = setup(['a', 'c']);
    const { seq } = await publish(3000);
    expect(b.cfg.maxRepairsPerFrame * 4).toBe(8);
    // 6 requests for keys nobody may have (none served), then the 2 manifests: 8 in all.
    for (let i = 0; i < 6; i++) ask('a', { type: 'request', seq, count: 1, allowed: KeySet.of([250]).toBytes() });
    for (let i = 0; i < 2; i++) expect(types(ask('a', { type: 'manifest-request', seq }).sent)).toEqual(['a:manifest']);
    expect(ask('a', { type: 'manifest-request', seq })).toEqual({ sent: [], bad: 1 });
  });
});

describe('repair requests at the broadcaster', () => {
  it('a repair allowance of exactly 8 packets serves 8 (a packet fits when the allowance equals its size)', async () => {
    const { b, publish, ask } = setup(['a', 'c'], { repairBurstBytes: 4096, repairShare: 0 });
    const { seq } = await publish(8000);
    // 4096 / 4 = 1024 bytes = 8 packets of 128 (a frame of 8000 bytes).
    const served = b.stats.repairsServed;
    const r = ask('a', { type: 'request', seq, count: 255, allowed: KeySet.of(Array.from({ length: 20 }, (_, i) => 100 + i)).toBytes() });
    expect(r.sent.map((s) => (s.message.type === 'feed' ? s.message.x : -1))).toEqual(Array.from({ length: 8 }, (_, i) => 100 + i));
    expect(r.sent.every((s) => s.message.type === 'feed' && s.message.payload.length === 128)).toBe(true);
    expect(b.stats.repairsServed).toBe(served + 8);
    expect(r.bad).toBe(0);
  });

  it('the viewer\'s own slot keys it asks for again are what its slot loss counts', async () => {
    const { b, publish, ask } = setup(['a', 'c']);
    const { seq } = await publish(8000);
    const asked = vi.spyOn(b.slotLoss, 'asked');
    // a holds slot 0 of 2: even keys below 65. 1 is c's, 70 an extra.
    ask('a', { type: 'request', seq, count: 255, allowed: KeySet.of([1, 2, 4, 70]).toBytes() });
    expect(asked).toHaveBeenCalledWith(seq, 'a', [2, 4]);
  });
});

describe('init-segment requests at the broadcaster', () => {
  it('none before an init segment was published; then one per sequence and neighbour, the second counted', async () => {
    const { publish, ask } = setup(['a', 'c']);
    expect(ask('a', { type: 'init-request', seq: 0 })).toEqual({ sent: [], bad: 0 });
    await publish(2000);
    expect(ask('a', { type: 'init-request', seq: 0 })).toEqual({ sent: [], bad: 0 });
    const { seq } = await publish(2000, FLAG_INIT_SEGMENT);
    expect(seq).toBe(1);
    const r = ask('a', { type: 'init-request', seq });
    expect(types(r.sent)).toEqual(['a:init-segment']);
    expect(r.sent[0].channel).toBe('control');
    const m = r.sent[0].message;
    expect(m.type === 'init-segment' && m.manifest.seq).toBe(1);
    expect(ask('a', { type: 'init-request', seq })).toEqual({ sent: [], bad: 1 });
    expect(types(ask('c', { type: 'init-request', seq }).sent)).toEqual(['c:init-segment']);
  });

  it('a request at or below the current init sequence is answered with the current one; above it, nothing', async () => {
    const { publish, ask } = setup(['a', 'c', 'd']);
    await publish(2000);
    const { seq } = await publish(2000, FLAG_INIT_SEGMENT);
    expect(ask('a', { type: 'init-request', seq: seq + 1 })).toEqual({ sent: [], bad: 0 });
    expect(types(ask('c', { type: 'init-request', seq: seq - 1 }).sent)).toEqual(['c:init-segment']);
    // Answered once per init sequence, whatever the sequence asked.
    expect(ask('c', { type: 'init-request', seq }).bad).toBe(1);
    expect(types(ask('d', { type: 'init-request', seq }).sent)).toEqual(['d:init-segment']);
  });
});

describe('MISSING reports at the broadcaster', () => {
  it('names the holders of the reported keys\' slots, not the reporter, only live neighbours, keys of the direct set only', async () => {
    const { b, publish, ask } = setup(['a', 'c', 'd']);
    const { seq } = await publish(8000);
    expect(seq).toBe(0);
    const report = vi.spyOn(b.slotJudge, 'report');
    // Slots of 3 (sorted a, c, d): key k is held by slot (k + 0) % 3. 1 → c, 2 → d, 3 → a (the reporter).
    ask('a', { type: 'missing', seq, keys: KeySet.of([1, 2, 3]).toBytes() });
    expect(report).toHaveBeenLastCalledWith('a', ['c', 'd'], 3, 0);
    // Keys at or past the direct set's end (64 + 1 spare = 65) name nobody.
    ask('c', { type: 'missing', seq, keys: KeySet.of([65, 66, 200]).toBytes() });
    expect(report).toHaveBeenLastCalledWith('c', [], 3, 0);
    // 64 is the set's last key: slot 64 % 3 = 1 (c).
    ask('d', { type: 'missing', seq, keys: KeySet.of([64]).toBytes() });
    expect(report).toHaveBeenLastCalledWith('d', ['c'], 3, 0);
  });

  it('the slot of key x in frame seq is (x + seq) mod slots', async () => {
    const { b, publish, ask } = setup(['a', 'c', 'd']);
    await publish(8000);
    const { seq } = await publish(8000);
    expect(seq).toBe(1);
    const report = vi.spyOn(b.slotJudge, 'report');
    // (0 + 1) % 3 = 1 → c; (1 + 1) % 3 = 2 → d.
    ask('a', { type: 'missing', seq, keys: KeySet.of([0]).toBytes() });
    expect(report).toHaveBeenLastCalledWith('a', ['c'], 3, 0);
    ask('c', { type: 'missing', seq, keys: KeySet.of([1]).toBytes() });
    expect(report).toHaveBeenLastCalledWith('c', ['d'], 3, 0);
  });

  it('a holder that left is not named', async () => {
    const { b, publish, ask } = setup(['a', 'c', 'd']);
    const { seq } = await publish(8000);
    b.handlePeerDisconnected('d', 0);
    const report = vi.spyOn(b.slotJudge, 'report');
    ask('a', { type: 'missing', seq, keys: KeySet.of([1, 2]).toBytes() });
    expect(report).toHaveBeenLastCalledWith('a', ['c'], 2, 0);
  });

  it('once per viewer and frame: the second is counted and not passed on; an unknown frame or one without slots is ignored', async () => {
    const { b, publish, ask } = setup(['a', 'c']);
    const { seq } = await publish(8000);
    const report = vi.spyOn(b.slotJudge, 'report');
    expect(ask('a', { type: 'missing', seq, keys: KeySet.of([1]).toBytes() }).bad).toBe(0);
    expect(ask('a', { type: 'missing', seq, keys: KeySet.of([1]).toBytes() }).bad).toBe(1);
    expect(report).toHaveBeenCalledTimes(1);
    expect(ask('a', { type: 'missing', seq: seq + 1, keys: KeySet.of([1]).toBytes() }).bad).toBe(0);
    expect(report).toHaveBeenCalledTimes(1);
    // A frame sent to holders only has no slots.
    b.handleSwarm({ mode: 'holder', holders: [{ peerId: 'a', keys: [0] }] }, 0);
    const held = b.publishFrame(frameBytes(8000, 5), 0, 0, 0);
    expect(held).toBeGreaterThan(seq);
    // (the first frames after a mode change still go direct too: overlapFrames)
    for (let i = 0; i < b.cfg.overlapFrames + 1; i++) b.publishFrame(frameBytes(8000, 6 + i), 0, 0, 0);
    const last = held + b.cfg.overlapFrames + 1;
    expect(ask('c', { type: 'missing', seq: last, keys: KeySet.of([1]).toBytes() }).bad).toBe(0);
    expect(report).toHaveBeenCalledTimes(1);
  });

  it('a holder the judge moves out of its slot is reported as a bad peer (not banned)', async () => {
    const { b, publish, ask, badPeers } = setup(['a', 'c', 'd']);
    const { seq } = await publish(8000);
    vi.spyOn(b.slotJudge, 'report').mockReturnValue(['c']);
    const moved = b.stats.slotsMoved;
    const r = ask('a', { type: 'missing', seq, keys: KeySet.of([1]).toBytes() });
    expect(r.sent).toEqual([]);
    expect(b.stats.slotsMoved).toBe(moved + 1);
    expect(badPeers).toEqual([{ type: 'bad-peer', peerId: 'c', reason: 'direct-feed slot withheld (its keys never reached other viewers)', strikes: 0, banned: false }]);
  });
});

describe('REPORTs at the broadcaster', () => {
  it('two live reporters demote; a report about itself or about a peer that is not a neighbour is ignored', () => {
    const { b, ask } = setup(['a', 'c', 'd', 'e']);
    expect(b.cfg.reportsToDemote).toBe(2);
    ask('c', { type: 'report', peerId: 'a' });
    expect(b.isDemoted('a', 0)).toBe(false);
    ask('a', { type: 'report', peerId: 'a' });
    ask('a', { type: 'report', peerId: 'a' });
    expect(b.isDemoted('a', 0)).toBe(false);
    ask('c', { type: 'report', peerId: 'zz' });
    ask('d', { type: 'report', peerId: 'zz' });
    b.handlePeerConnected('zz', 0);
    expect(b.isDemoted('zz', 0)).toBe(false);
    ask('d', { type: 'report', peerId: 'a' });
    expect(b.isDemoted('a', 0)).toBe(true);
  });

  it('a report counts reportTtlMs after it came (its last renewal), not a millisecond more', () => {
    const { b, ask } = setup(['a', 'c', 'd']);
    ask('c', { type: 'report', peerId: 'a' }, 0);
    ask('d', { type: 'report', peerId: 'a' }, 1000);
    expect(b.isDemoted('a', 10_000)).toBe(true);
    expect(b.isDemoted('a', 10_001)).toBe(false);
    // c renews at 10 001: both live again from d's renewal on.
    ask('c', { type: 'report', peerId: 'a' }, 10_001);
    ask('d', { type: 'report', peerId: 'a' }, 10_001);
    expect(b.isDemoted('a', 20_001)).toBe(true);
  });

  it('a reporter weighs its newest maxReportedPerReporter (4) reports: a 5th pushes out its oldest, a repeat renews', () => {
    const ids = ['r1', 'r2', 'p1', 'p2', 'p3', 'p4', 'p5'];
    const { b, ask } = setup(ids);
    expect(b.cfg.maxReportedPerReporter).toBe(4);
    const demoted = () => ['p1', 'p2', 'p3', 'p4', 'p5'].filter((p) => b.isDemoted(p, 0));
    for (const p of ['p1', 'p2', 'p3', 'p4']) {
      ask('r1', { type: 'report', peerId: p });
      ask('r2', { type: 'report', peerId: p });
    }
    expect(demoted()).toEqual(['p1', 'p2', 'p3', 'p4']);
    // r1 names p1 again (now its newest), then p5: p2, its oldest, drops out of r1's reports.
    ask('r1', { type: 'report', peerId: 'p1' });
    ask('r1', { type: 'report', peerId: 'p5' });
    expect(demoted()).toEqual(['p1', 'p3', 'p4']);
    // r2 names p5: its oldest, p1, drops.
    ask('r2', { type: 'report', peerId: 'p5' });
    expect(demoted()).toEqual(['p3', 'p4', 'p5']);
  });

  it('at most 64 reporters are kept per reported peer: the 65th new one is not, a kept one may renew', () => {
    const ids = ['a', ...Array.from({ length: 65 }, (_, i) => `r${i}`)];
    /** 64 report a at time 0, then `late` reports it at 5000: is a demoted (1 report enough) at 10 001? */
    const after = (late: string) => {
      const { b, ask } = setup(ids, { reportsToDemote: 1 });
      for (let i = 0; i < 64; i++) ask(`r${i}`, { type: 'report', peerId: 'a' }, 0);
      ask(late, { type: 'report', peerId: 'a' }, 5000);
      return b.isDemoted('a', 10_001);
    };
    expect(after('r64')).toBe(false);
    expect(after('r0')).toBe(true);
  });

  it('a report a reporter drops leaves the other reporters\' reports of that peer', () => {
    const { b, ask } = setup(['a', 'c', 'd', 'e'], { reportsToDemote: 1, maxReportedPerReporter: 1 });
    ask('c', { type: 'report', peerId: 'a' });
    ask('d', { type: 'report', peerId: 'a' });
    // c's one report moves to e: d's report of a stands.
    ask('c', { type: 'report', peerId: 'e' });
    expect(b.isDemoted('a', 0)).toBe(true);
    expect(b.isDemoted('e', 0)).toBe(true);
  });

  it('a reporter\'s oldest report about a peer that has left is dropped without harm', () => {
    const { b, ask } = setup(['r1', 'r2', 'p1', 'p2', 'p3', 'p4', 'p5']);
    for (const p of ['p1', 'p2', 'p3', 'p4']) ask('r1', { type: 'report', peerId: p });
    b.handlePeerDisconnected('p1', 0);
    ask('r1', { type: 'report', peerId: 'p5' });
    ask('r2', { type: 'report', peerId: 'p5' });
    expect(b.isDemoted('p5', 0)).toBe(true);
  });

  it('a reported peer whose reporters all dropped their reports is forgotten (not demoted by later single reports)', () => {
    const { b, ask } = setup(['a', 'c', 'd', 'p1', 'p2', 'p3', 'p4'], { maxReportedPerReporter: 1 });
    ask('c', { type: 'report', peerId: 'a' });
    // c's one report moves to p1: a's record empties and goes.
    ask('c', { type: 'report', peerId: 'p1' });
    ask('d', { type: 'report', peerId: 'a' });
    expect(b.isDemoted('a', 0)).toBe(false);
    ask('c', { type: 'report', peerId: 'a' });
    expect(b.isDemoted('a', 0)).toBe(true);
  });
});

describe('messages no role sends to the broadcaster', () => {
  for (const m of [
    { type: 'feed', seq: 0, x: 0, payload: new Uint8Array(4) },
    { type: 'cs-chunk', seq: 0, c: 0, chunk: 0, chunks: 1, payload: new Uint8Array(4) },
    { type: 'direct-slot', slot: 0, slots: 1, keys: 65 },
    { type: 'seed', seq: 0, c: 0, g: 0, payload: new Uint8Array(4) },
    { type: 'init-segment', manifest: {} as never, frame: new Uint8Array(4) },
  ] as WireMessage[]) {
    it(`${m.type}: one bad message each, nothing sent`, () => {
      const { ask } = setup(['a']);
      expect(ask('a', m)).toEqual({ sent: [], bad: 1 });
    });
  }

  it('a HAVE or a HELLO is ignored, not counted', () => {
    const { ask } = setup(['a']);
    expect(ask('a', { type: 'have', entries: [{ seq: 0, flags: 0, keys: [1] }] })).toEqual({ sent: [], bad: 0 });
    expect(ask('a', { type: 'hello', initSeq: 0, roles: 0 })).toEqual({ sent: [], bad: 0 });
  });

  it('50 bad messages drop the sender, 49 do not; a message from a peer that is not a neighbour is ignored', () => {
    const { b, ask } = setup(['a', 'c']);
    const feed = { type: 'feed', seq: 0, x: 0, payload: new Uint8Array(4) } as WireMessage;
    for (let i = 0; i < 49; i++) ask('a', feed);
    expect(ask('zz', feed).bad).toBe(0);
    // The 50th still counts (a is a neighbour) and drops it: the next is ignored.
    expect(ask('a', feed).bad).toBe(1);
    expect(ask('a', feed).bad).toBe(0);
    expect(ask('c', feed).bad).toBe(1);
    expect(b.stats.badMessages).toBe(51);
  });

  it('a message given an older time than one before counts at the newer time (the core\'s clock never goes back)', () => {
    const { b } = setup(['a', 'c']);
    const feed = { type: 'feed', seq: 0, x: 0, payload: new Uint8Array(4) } as WireMessage;
    b.handleParsed('c', { type: 'have', entries: [] }, 100_000);
    // 49 bad messages stamped 0 arrive after time 100 000, the 50th at 100 000: all count at
    // 100 000, none decayed, and the 50th drops a.
    for (let i = 0; i < 49; i++) b.handleParsed('a', feed, 0);
    b.handleParsed('a', feed, 100_000);
    const before = b.stats.badMessages;
    b.handleParsed('a', feed, 100_000);
    expect(b.stats.badMessages).toBe(before);
  });

  it('bad messages decay with the time handleParsed is given: 49 at 0 and one 100 s later do not drop the sender', () => {
    const { b, ask } = setup(['a']);
    const feed = { type: 'feed', seq: 0, x: 0, payload: new Uint8Array(4) } as WireMessage;
    for (let i = 0; i < 49; i++) ask('a', feed, 0);
    // 49 × 0.99^100 + 1 is about 19.
    ask('a', feed, 100_000);
    expect(ask('a', feed, 100_000).bad).toBe(1);
  });
});

describe('what a ban names as the last bad message', () => {
  const ban = async (m: (seq: number) => WireMessage, times: number, opts: { init?: boolean } = {}) => {
    const { publish, ask, bans } = setup(['a', 'c'], { badMessagesToBan: 1 });
    const { seq } = await publish(8000, opts.init ? FLAG_INIT_SEGMENT : 0);
    for (let i = 0; i < times; i++) ask('a', m(seq));
    return bans;
  };
  it('each kind of bad message gives its own reason', async () => {
    expect(await ban((seq) => ({ type: 'manifest-request', seq }), 3)).toEqual(['a: too many bad messages (last: manifest asked too often)']);
    expect(await ban((seq) => ({ type: 'init-request', seq }), 2, { init: true })).toEqual(['a: too many bad messages (last: init segment asked again)']);
    expect(await ban((seq) => ({ type: 'missing', seq, keys: KeySet.of([1]).toBytes() }), 2)).toEqual(['a: too many bad messages (last: missing keys reported twice)']);
    expect(await ban(() => ({ type: 'direct-slot', slot: 0, slots: 1, keys: 65 }), 1)).toEqual(['a: too many bad messages (last: direct-slot sent to the broadcaster)']);
    // a holds slot 0 of 2: key 0 is its own; served twice, the third ask is refused.
    expect(await ban((seq) => ({ type: 'request', seq, count: 1, allowed: KeySet.of([0]).toBytes() }), 3)).toEqual(['a: too many bad messages (last: repair beyond its budget (1 keys))']);
  });
});
