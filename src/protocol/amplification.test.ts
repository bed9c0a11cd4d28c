// Amplification budgets: nothing a core serves on request goes beyond its budget per neighbour and
// frame (each key at most serveKeyTimes, serveKeysPerFrame keys in all, one init segment per
// sequence, manifests twice), the broadcaster's repairs stay within repairShare of the stream,
// and the excess counts against the asker. Scores decay. Pair harness in virtual time.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { KeySet } from './key-set.ts';
import { NeighbourPolicy, DEFAULT_POLICY } from './neighbour-policy.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, FLAG_INIT_SEGMENT } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);
const ALL = KeySet.of(Array.from({ length: 256 }, (_, x) => x)).toBytes();

async function pair() {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  for (const v of ['v', 'evil']) h.add(v, new PeerCore({ peerId: v, codec }));
  h.link('b', 'v');
  h.link('evil', 'v');
  b.publishFrame(frameBytes(20000, 1), 0, 0, 0);
  h.flush('b');
  await h.drive(300);
  expect(h.delivered.get('v')).toHaveLength(1);
  return { h, b, v: h.core('v') as PeerCore };
}

describe('amplification budgets', () => {
  it('a REQUEST flood gets back at most its budget: each key at most twice, 96 keys per frame, ≤ 1 packet per key asked', async () => {
    const { h, v } = await pair();
    const bad = v.stats.badMessages;
    const requests = 40;
    for (let i = 0; i < requests; i++) h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 0, count: 255, allowed: ALL }));
    await h.drive(h.now + 200);
    const back = h.sent.filter((s) => s.from === 'v' && s.to === 'evil' && s.message.type === 'feed');
    expect(back.length).toBeLessThanOrEqual(v.cfg.serveKeysPerFrame);
    const perKey = new Map<number, number>();
    for (const s of back) if (s.message.type === 'feed') perKey.set(s.message.x, (perKey.get(s.message.x) ?? 0) + 1);
    expect(Math.max(...perKey.values())).toBeLessThanOrEqual(v.cfg.serveKeyTimes);
    expect(back.length).toBeLessThanOrEqual(requests * 255);
    // The excess is counted against the asker.
    expect(v.stats.badMessages).toBeGreaterThan(bad);
  });

  it('a REQUEST naming more keys than any core asks of one neighbour at once (maxInflightPerNeighbour) gets nothing and is banned within 4 such requests; one at the bound is served', async () => {
    const { h, v } = await pair();
    const max = v.cfg.maxInflightPerNeighbour;
    const atBound = KeySet.of(Array.from({ length: max }, (_, x) => x)).toBytes();
    // What is left of its budget for frame 0 (its own core pulled some already) is served.
    const left = v.policy.keysLeft('evil', 0);
    expect(left).toBeGreaterThan(0);
    let before = h.sent.length;
    h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 0, count: max, allowed: atBound }));
    await h.drive(h.now + 100);
    const served = h.sent.slice(before).filter((s) => s.from === 'v' && s.to === 'evil' && s.message.type === 'feed').length;
    expect(served).toBe(left);
    before = h.sent.length;
    for (let i = 0; i < 3; i++) h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 0, count: 255, allowed: ALL }));
    await h.drive(h.now + 100);
    expect(v.isBanned('evil')).toBe(false);
    h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 0, count: 255, allowed: ALL }));
    await h.drive(h.now + 100);
    expect(v.isBanned('evil')).toBe(true);
    expect(h.sent.slice(before).filter((s) => s.from === 'v' && s.to === 'evil' && s.message.type === 'feed')).toEqual([]);
  });

  it('manifest requests: two answers per frame and neighbour', async () => {
    const { h, v } = await pair();
    for (let i = 0; i < 30; i++) h.inject('evil', 'v', encodeMessage({ type: 'manifest-request', seq: 0 }));
    await h.drive(h.now + 100);
    expect(h.sent.filter((s) => s.from === 'v' && s.to === 'evil' && s.type === 'manifest')).toHaveLength(v.cfg.serveManifestTimes);
  });

  it('200 INIT_REQUESTs to the broadcaster bring one init segment back', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    h.link('b', 'evil');
    b.publishFrame(frameBytes(5000, 2), FLAG_INIT_SEGMENT, 0, 0);
    h.flush('b');
    await h.drive(100);
    for (let i = 0; i < 200; i++) h.inject('evil', 'b', encodeMessage({ type: 'init-request', seq: 0 }));
    await h.drive(h.now + 100);
    expect(h.sent.filter((s) => s.from === 'b' && s.to === 'evil' && s.type === 'init-segment')).toHaveLength(1);
    // A viewer serves it once per neighbour too.
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.link('b', 'v');
    await h.drive(h.now + 300);
    h.link('v', 'evil');
    await h.drive(h.now + 50);
    for (let i = 0; i < 50; i++) h.inject('evil', 'v', encodeMessage({ type: 'init-request', seq: 0 }));
    await h.drive(h.now + 100);
    expect(h.sent.filter((s) => s.from === 'v' && s.to === 'evil' && s.type === 'init-segment').length).toBeLessThanOrEqual(1);
  });

  it("the broadcaster's repairs stay within repairShare of the stream however a viewer asks", async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const v of ['evil', 'w']) {
      h.add(v, new PeerCore({ peerId: v, codec }));
      h.link('b', v);
    }
    let published = 0;
    for (let f = 0; f < 20; f++) {
      const frame = frameBytes(16000, f);
      b.publishFrame(frame, 0, h.now, h.now);
      published += frame.length;
      h.flush('b');
      // Every key of its slot and all extras, 20 times over.
      for (let i = 0; i < 20; i++) h.inject('evil', 'b', encodeMessage({ type: 'request', seq: f, count: 255, allowed: ALL }));
      await h.drive(h.now + 100);
    }
    const repairBytes = b.stats.repairsServed * 256;
    // What the frames added, plus the allowance each of the two neighbours starts with.
    const allowance = published * b.cfg.repairShare + 2 * (b.cfg.repairBurstBytes / 4);
    expect(repairBytes).toBeLessThanOrEqual(allowance);
    // The first frame shows the per-frame budget: slot keys at most twice, extras once.
    const toEvil0 = h.sent.filter((s) => s.from === 'b' && s.to === 'evil' && s.message.type === 'feed' && s.message.seq === 0);
    expect(toEvil0.length).toBeLessThanOrEqual(2 * 33 + 24 * 2);
    expect(b.stats.badMessages).toBeGreaterThan(0);
  });
});

describe('scores decay', () => {
  it('49 bad messages, then 100 s of good behaviour: 30 more do not ban (49 · 0.99^100 + 30 < 50)', async () => {
    const { h, v } = await pair();
    for (let i = 0; i < 49; i++) h.inject('evil', 'v', new Uint8Array([1, 0x7f]));
    await h.drive(h.now + 20);
    await h.drive(h.now + 100_000, 1000);
    for (let i = 0; i < 30; i++) h.inject('evil', 'v', new Uint8Array([1, 0x7f]));
    await h.drive(h.now + 20);
    expect(v.isBanned('evil')).toBe(false);
    expect(v.policy.badScore('evil', h.now)).toBeLessThan(v.cfg.badMessagesToBan);
  });

  it('the policy decays once per interval and bans at the threshold', () => {
    const p = new NeighbourPolicy({ ...DEFAULT_POLICY, badMessagesToBan: 3, badDecay: 0.5, decayIntervalMs: 1000 });
    expect(p.countBad('a', 0)).toBe('ok');
    expect(p.countBad('a', 999)).toBe('ok');
    expect(p.badScore('a', 1000)).toBe(1);
    expect(p.countBad('a', 1000)).toBe('ok');
    expect(p.countBad('a', 1000)).toBe('ban');
  });
});
