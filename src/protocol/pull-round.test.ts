// The pull round, shortened: a HAVE's key list at every tick (haveEveryTick), a REQUEST on a HAVE's
// arrival (askOnHave), a producer that produces when its grace for spare seeds ends
// (produceOnGrace), and request timeouts as a multiple of the neighbour's SRTT
// (requestTimeoutSrtts), hedged requests for an old frame (hedgeAfterMs) and requests weighed by the
// neighbour's SRTT (weighBySrtt). Each test runs the behaviour on and off. Pair harness, virtual time, real
// bytes; a 5 ms step and a 5 ms one-way delay.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import type { PeerCoreConfig } from './core-types.ts';
import { KeySet } from './key-set.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, type WireMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + salt * 29) & 0xff);

/** Records the virtual time of every message sent from now on (the harness keeps no times). */
function stamp(h: CoreHarness): Array<{ t: number; from: string; to: string; m: WireMessage }> {
  const out: Array<{ t: number; from: string; to: string; m: WireMessage }> = [];
  const push = h.sent.push.bind(h.sent);
  h.sent.push = (...items) => {
    for (const s of items) out.push({ t: h.now, from: s.from, to: s.to, m: s.message });
    return push(...items);
  };
  return out;
}

/** Peer a linked to two idle peers x (the source of injected bytes) and c (who hears a's HAVEs). */
async function trio(config: Partial<PeerCoreConfig>) {
  const h = await CoreHarness.create();
  const a = new PeerCore({ peerId: 'a', codec, config });
  h.add('a', a);
  h.add('x', new PeerCore({ peerId: 'x', codec }));
  h.add('c', new PeerCore({ peerId: 'c', codec }));
  h.link('a', 'x');
  h.link('a', 'c');
  return { h, a, sent: stamp(h) };
}

describe('haveEveryTick: newly held keys are announced at the first tick after they arrive', () => {
  /** x sends a keys of frame 5 one every 15 ms; returns, per key, arrival at a to a's first HAVE to c naming it. */
  async function announceDelays(haveEveryTick: number): Promise<number[]> {
    const { h, sent } = await trio({ haveEveryTick });
    const arrived = new Map<number, number>();
    for (let x = 0; x < 24; x++) {
      h.inject('x', 'a', encodeMessage({ type: 'feed', seq: 5, x, payload: new Uint8Array(128).fill(x) }));
      arrived.set(x, h.now + h.delayMs);
      await h.drive(h.now + 15);
    }
    await h.drive(h.now + 200);
    const told = new Map<number, number>();
    for (const s of sent) {
      if (s.from !== 'a' || s.to !== 'c' || s.m.type !== 'have') continue;
      for (const e of s.m.entries) if (e.seq === 5) for (const x of e.keys) if (!told.has(x)) told.set(x, s.t);
    }
    return [...arrived].map(([x, t]) => (told.get(x) ?? Infinity) - t);
  }

  it('with it, every key is announced within one tick (40 ms) of its arrival; without it, some wait for the tick after', async () => {
    const on = await announceDelays(1);
    expect(on.every((d) => d >= 0 && d <= 40)).toBe(true);
    const off = await announceDelays(0);
    expect(off.every((d) => d >= 0 && d <= 80)).toBe(true);
    expect(off.some((d) => d > 40)).toBe(true);
  }, 30_000);
});

describe('askOnHave: a HAVE offering keys a frame lacks draws the REQUEST at its arrival', () => {
  /** x announces keys of frame 7 a few ms after each of a's ticks; returns, per HAVE, its arrival to a's REQUEST to x. */
  async function requestDelays(askOnHave: number): Promise<number[]> {
    const { h, a, sent } = await trio({ askOnHave });
    // A first frame gets a's ticks going; its first REQUEST shows their phase.
    h.inject('x', 'a', encodeMessage({ type: 'have', entries: [{ seq: 6, flags: 0, keys: [0, 1, 2, 3] }] }));
    await h.drive(h.now + 100);
    expect(a.nextTimeout()).toBeDefined();
    const delays: number[] = [];
    for (let round = 0; round < 4; round++) {
      // Land the HAVE 5 ms after a's tick.
      const tick = a.nextTimeout() as number;
      await h.drive(tick);
      const keys = [8 * round, 8 * round + 1, 8 * round + 2];
      h.inject('x', 'a', encodeMessage({ type: 'have', entries: [{ seq: 7, flags: 0, keys }] }));
      const at = h.now + h.delayMs;
      await h.drive(h.now + 60);
      const req = sent.find((s) => s.from === 'a' && s.to === 'x' && s.m.type === 'request' && s.m.seq === 7 && KeySet.fromBytes(s.m.allowed).has(keys[0]));
      delays.push(req ? req.t - at : Infinity);
    }
    return delays;
  }

  it('with it, the REQUEST leaves when the HAVE arrives; without it, at the next tick, 35 ms later', async () => {
    expect(await requestDelays(1)).toEqual([0, 0, 0, 0]);
    expect(await requestDelays(0)).toEqual([35, 35, 35, 35]);
  }, 30_000);

  it('keeps the pull bounded: keys already asked are not asked again, whatever the number of HAVEs', async () => {
    const { h, sent } = await trio({ askOnHave: 1 });
    for (let i = 0; i < 10; i++) {
      h.inject('x', 'a', encodeMessage({ type: 'have', entries: [{ seq: 9, flags: 0, keys: [0, 1, 2, 3, 4, 5, 6, 7] }] }));
      await h.drive(h.now + 5);
    }
    const asked = sent.filter((s) => s.from === 'a' && s.m.type === 'request' && s.m.seq === 9).flatMap((s) => (s.m.type === 'request' ? KeySet.fromBytes(s.m.allowed).toArray() : []));
    expect(asked.sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  }, 30_000);
});

describe('produceOnGrace: a producer with 8 seeds or more produces when its grace for spares ends', () => {
  /** Ten holders of keys 0–9 linked to producer p of group 3; h10's seeds never reach p. Returns per frame: seeds whole to keys made. */
  async function graceWaits(produceOnGrace: number): Promise<number[]> {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    const holders = Array.from({ length: 10 }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
    for (const x of holders) h.add(x, new PeerCore({ peerId: x, codec }));
    const p = new PeerCore({ peerId: 'p', codec, config: { produceOnGrace } });
    h.add('p', p);
    for (const x of holders) h.link('b', x);
    for (const x of holders) h.link('p', x);
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: [c], producerGroups: [] }, 0));
    p.handleNeighbours(holders.map((x, c) => ({ peerId: x, reasons: ['holder'], holderKeys: [c] })), 0);
    p.handleRoles({ holderKeys: [], producerGroups: [3] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: [c] })) }, 0);
    h.dropMedia = (from, to) => from === 'h10' && to === 'p';
    await h.drive(50);
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) {
      seqs.push(b.publishFrame(frameBytes(16000, i), 0, h.now, h.now));
      h.flush('b');
      // Frames start at different phases of p's tick.
      await h.drive(h.now + 110 + 5 * i);
    }
    await h.drive(h.now + 300);
    return seqs.map((seq) => {
      const a = p.framesBySeq.get(seq)?.seeds?.get(3);
      return a?.done && a.madeMs !== undefined ? a.madeMs - a.fullMs : Infinity;
    });
  }

  it('with it, 9 of 10 seeds are made into keys 15 ms after the 8th; without it, at a later tick', async () => {
    expect(await graceWaits(1)).toEqual([15, 15, 15]);
    const off = await graceWaits(0);
    expect(off.every((w) => w >= 15 && w < 15 + 40 + 5)).toBe(true);
    expect(off.some((w) => w > 15)).toBe(true);
  }, 30_000);
});

describe('requestTimeoutSrtts: the SRTT multiple in a request timeout', () => {
  /** x announces a key and never sends it; returns the time from a's REQUEST to its REQUEST again. */
  async function reaskAfter(requestTimeoutSrtts: number): Promise<number> {
    const { h, sent } = await trio({ requestTimeoutSrtts });
    h.inject('x', 'a', encodeMessage({ type: 'have', entries: [{ seq: 3, flags: 0, keys: [11] }] }));
    await h.drive(h.now + 1500);
    const asks = sent.filter((s) => s.from === 'a' && s.to === 'x' && s.m.type === 'request' && s.m.seq === 3);
    expect(asks.length).toBeGreaterThanOrEqual(2);
    return asks[1].t - asks[0].t;
  }

  it('a lost answer is asked again after 1 × SRTT + 4·RTTVAR + 40 ms + 4 ms (at the next tick) with 1, after 2 × SRTT … with 2', async () => {
    // A neighbour not measured yet: SRTT 150 ms, RTTVAR 50 ms, so 394 and 544 ms, then the next 40 ms tick.
    const one = await reaskAfter(1);
    const two = await reaskAfter(2);
    expect(one).toBeGreaterThanOrEqual(394);
    expect(one).toBeLessThan(394 + 45);
    expect(two).toBeGreaterThanOrEqual(544);
    expect(two).toBeLessThan(544 + 45);
  }, 30_000);
});

describe('hedgeAfterMs: an old frame whose requests stay unanswered asks other keys in their place', () => {
  /** x announces keys 0–69 of frame 4 and never sends one; returns when a first asked each key. */
  async function firstAsks(config: Partial<PeerCoreConfig>): Promise<{ t0: number; asked: Map<number, number> }> {
    const { h, sent } = await trio(config);
    h.inject('x', 'a', encodeMessage({ type: 'have', entries: [{ seq: 4, flags: 0, keys: Array.from({ length: 70 }, (_, k) => k) }] }));
    await h.drive(h.now + 1500);
    const asked = new Map<number, number>();
    for (const s of sent) {
      if (s.from !== 'a' || s.to !== 'x' || s.m.type !== 'request' || s.m.seq !== 4) continue;
      for (const k of KeySet.fromBytes(s.m.allowed).toArray()) if (!asked.has(k)) asked.set(k, s.t);
    }
    return { t0: Math.min(...asked.values()), asked };
  }

  it('with it, keys never asked before go out once the frame is 300 ms old and its requests 200 ms; without it, only the same keys again after the timeout', async () => {
    const on = await firstAsks({ hedgeAfterMs: 300, hedgeStaleMs: 200 });
    // 64 keys and a spare for loss at first, then the last ones offered in their place.
    const later = [...on.asked].filter(([, t]) => t > on.t0).map(([k, t]) => [k, t - on.t0]);
    expect(later.map(([k]) => k)).toEqual([66, 67, 68, 69]);
    // Asked at the first tick after both waits, well before the 544 ms request timeout.
    for (const [, dt] of later) {
      expect(dt).toBeGreaterThan(300);
      expect(dt).toBeLessThan(300 + 45);
    }
    const off = await firstAsks({});
    expect([...off.asked.keys()].sort((p, q) => p - q)).toEqual(Array.from({ length: 66 }, (_, k) => k));
  }, 30_000);
});

describe('weighBySrtt: a neighbour whose keys come slowly is asked for fewer', () => {
  /** x and c both announce keys 0–69 of frame 4; x's keys have taken 400 ms, c's 100 ms. Returns keys first asked of each. */
  async function split(weighBySrtt: number): Promise<{ x: number; c: number }> {
    const { h, a, sent } = await trio({ weighBySrtt });
    (a.neighbours.get('x') as { srttMs: number }).srttMs = 400;
    (a.neighbours.get('c') as { srttMs: number }).srttMs = 100;
    const have = encodeMessage({ type: 'have', entries: [{ seq: 4, flags: 0, keys: Array.from({ length: 70 }, (_, k) => k) }] });
    h.inject('x', 'a', have);
    h.inject('c', 'a', have);
    await h.drive(h.now + 60);
    const n = { x: 0, c: 0 };
    for (const s of sent) if (s.from === 'a' && s.m.type === 'request' && s.m.seq === 4 && (s.to === 'x' || s.to === 'c')) n[s.to] += KeySet.fromBytes(s.m.allowed).size;
    return n;
  }

  it('with it, the slow one gets a quarter of the fast one\'s share; without it, each gets half', async () => {
    const on = await split(1);
    expect(on.x + on.c).toBe(66);
    expect(on.x).toBeLessThanOrEqual(Math.ceil(66 / 5));
    expect(on.x).toBeGreaterThan(0);
    const off = await split(0);
    expect(off.x + off.c).toBe(66);
    expect(Math.abs(off.x - off.c)).toBeLessThanOrEqual(1);
  }, 30_000);
});
