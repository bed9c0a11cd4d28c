// The frame verifier's judgement of a neighbour whose keys a verified frame disproves, at its edges
// (pair harness in virtual time, real codec and crypto): "mostly bad" is more than half (10 of 20
// is not, 11 of 21 is); a relay that had not announced the frame complete is struck only beyond
// RELAY_BAD_KEYS_MAX bad keys (96 is counted, 97 is struck); below that it is counted once per 8
// bad keys (8 → 1, 9 → 2, 16 → 2, 17 → 3) and reported to the broadcaster.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { RELAY_BAD_KEYS_MAX } from './frame-verifier.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

/**
 * r sends v keys 0…total−1 of a frame before the broadcaster does (the first copy of a key is kept),
 * those in `bad` corrupted; then the broadcaster publishes. What v made of r.
 */
async function relay(total: number, bad: (x: number) => boolean) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config: { directSpareKeys: 150 } });
  h.add('b', b);
  for (const id of ['v', 'r']) h.add(id, new PeerCore({ peerId: id, codec }));
  h.link('b', 'v');
  h.link('r', 'v');
  const v = h.core('v') as PeerCore;
  const counted: string[] = [];
  const vv = v as unknown as { countBad(p: string, r: string): void };
  const count = vv.countBad.bind(vv);
  vv.countBad = (p, r) => {
    if (p === 'r') counted.push(r);
    count(p, r);
  };
  // 8192 bytes: no implied zero key (a key past L sent before the manifest is replaced by zeros, not judged).
  const frame = frameBytes(8192, total);
  for (let x = 0; x < total; x++) {
    const p = codec.feedPacket(frame, x).slice();
    if (bad(x)) p[(x * 7) % p.length] ^= 0x5a;
    h.inject('r', 'v', encodeMessage({ type: 'feed', seq: 0, x, payload: p }));
  }
  await h.drive(h.now + 10);
  b.publishFrame(frame, 0, 0, h.now);
  h.flush('b');
  await h.drive(h.now + 1000);
  expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frame]);
  return {
    struck: h.badPeers.filter((x) => x.by === 'v' && x.peerId === 'r').length,
    counted: counted.filter((r) => r.startsWith('passed on bad feed packets')).length,
    reported: h.sent.some((s) => s.from === 'v' && s.to === 'b' && s.message.type === 'report' && s.message.peerId === 'r'),
  };
}

describe('frame verifier: mostly bad is more than half', () => {
  it('10 bad of 20: neither counted nor reported', async () => {
    expect(await relay(20, (x) => x % 2 === 0)).toEqual({ struck: 0, counted: 0, reported: false });
  });

  it('11 bad of 21: counted (2 for 11 keys) and reported, not struck', async () => {
    expect(await relay(21, (x) => x % 2 === 0)).toEqual({ struck: 0, counted: 2, reported: true });
  });
});

describe('frame verifier: one bad message per 8 bad keys', () => {
  for (const [n, want] of [[8, 1], [9, 2], [16, 2], [17, 3]]) {
    it(`${n} bad keys of ${n}: ${want}`, async () => {
      expect(await relay(n, () => true)).toEqual({ struck: 0, counted: want, reported: true });
    });
  }
});

describe('frame verifier: a relay is struck only beyond RELAY_BAD_KEYS_MAX bad keys', () => {
  it('is 96, the serving budget of a frame', () => {
    expect(RELAY_BAD_KEYS_MAX).toBe(96);
  });

  it('96 bad keys: counted 12 times, not struck', async () => {
    expect(await relay(96, () => true)).toEqual({ struck: 0, counted: 12, reported: true });
  });

  it('97 bad keys: struck', async () => {
    const r = await relay(97, () => true);
    expect(r.struck).toBe(1);
    expect(r.counted).toBe(0);
    expect(r.reported).toBe(true);
  });
});

describe('frame verifier: when a frame decodes', () => {
  /** Time from publishing to delivery of one frame, broadcaster and a lone viewer. */
  async function deliveredAfter(directSpareKeys: number, forgedFirst = false) {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { directSpareKeys } });
    h.add('b', b);
    for (const id of ['v', 'evil']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    const frame = frameBytes(8000, 9);
    if (forgedFirst) {
      const m = { seq: 0, length: frame.length, captureTimeMs: 0, flags: 0, broadcastId: b.broadcastId, digest: new Uint8Array(32), signature: new Uint8Array(64).fill(3) };
      h.inject('evil', 'v', encodeMessage({ type: 'manifest', manifest: m }));
      await h.drive(h.now + 20);
    }
    const t0 = h.now;
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 1000);
    const got = h.delivered.get('v') ?? [];
    expect(got.map((d) => d.frame)).toEqual([frame]);
    return { after: got[0].t - t0, struck: h.badPeers.filter((x) => x.peerId === 'evil').length };
  }

  it('with exactly 64 keys as soon as with 65', async () => {
    const exact = await deliveredAfter(0);
    const spare = await deliveredAfter(1);
    expect(exact.after).toBe(spare.after);
  });

  it('a forged manifest first: a strike, and the real one still delivers the frame as fast', async () => {
    const plain = await deliveredAfter(1);
    const forged = await deliveredAfter(1, true);
    expect(forged.struck).toBe(1);
    expect(forged.after).toBe(plain.after);
  });
});

describe('frame verifier: suspects', () => {
  /**
   * evil has one strike (a forged manifest). For frame 0 it sends bad copies of keys 0…9 before the
   * broadcaster's 84 keys arrive (the first copy of a key is kept).
   */
  async function suspectRun(evilKeysGood: boolean) {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { directSpareKeys: 20 } });
    h.add('b', b);
    for (const id of ['v', 'evil']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    const v = h.core('v') as PeerCore;
    const m = { seq: 5, length: 100, captureTimeMs: 0, flags: 0, broadcastId: b.broadcastId, digest: new Uint8Array(32), signature: new Uint8Array(64).fill(3) };
    h.inject('evil', 'v', encodeMessage({ type: 'manifest', manifest: m }));
    await h.drive(h.now + 20);
    expect(v.policy.strikesOf('evil')).toBe(1);
    const frame = frameBytes(8000, 11);
    for (let x = 0; x < 10; x++) {
      const p = codec.feedPacket(frame, x).slice();
      if (!evilKeysGood) p[1] ^= 0x33;
      h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: 0, x, payload: p }));
    }
    await h.drive(h.now + 10);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 1000);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frame]);
    return { polluted: v.stats.framesPolluted, banned: v.isBanned('evil') };
  }

  it("a suspect's keys are left out of the decode while 64 others are there: no polluted decode", async () => {
    expect(await suspectRun(false)).toEqual({ polluted: 0, banned: true });
  });

  it("a suspect's keys are checked even when the decode did without them: good ones earn no second strike", async () => {
    expect(await suspectRun(true)).toEqual({ polluted: 0, banned: false });
  });
});
