// The pollution search at the pair harness (virtual time, real codec and crypto): a relay r sends
// v keys 0…total−1 of a frame before the broadcaster does (the first copy of a key is kept), those
// in `bad` corrupted, so that v's first decode uses bad keys and its digest fails. v must locate
// the bad keys with the code (few bad among many: located), or leave r out and ask for more keys
// (too many bad to locate), deliver the frame intact, and judge r by what the verified frame shows.
// After a clean decode, a spare the decode did not use is served re-encoded, never as received.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { KeySet } from './key-set.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

async function polluted(total: number, bad: (x: number) => boolean, directSpareKeys: number) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config: { directSpareKeys } });
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
  const frame = frameBytes(8000, total);
  for (let x = 0; x < total; x++) {
    const p = codec.feedPacket(frame, x).slice();
    if (bad(x)) p[(x * 5) % p.length] ^= 0x21;
    h.inject('r', 'v', encodeMessage({ type: 'feed', seq: 0, x, payload: p }));
  }
  await h.drive(h.now + 10);
  const t0 = h.now;
  b.publishFrame(frame, 0, 0, h.now);
  h.flush('b');
  await h.drive(h.now + 2000);
  const got = h.delivered.get('v') ?? [];
  expect(got.map((d) => d.frame)).toEqual([frame]);
  return {
    v,
    after: got[0].t - t0,
    polluted: v.stats.framesPolluted,
    struck: h.badPeers.filter((x) => x.by === 'v' && x.peerId === 'r').length,
    counted: counted.filter((r) => r.startsWith('passed on bad feed packets')).length,
    reported: h.sent.some((s) => s.from === 'v' && s.to === 'b' && s.message.type === 'report' && s.message.peerId === 'r'),
  };
}

describe('pollution search', () => {
  it('3 bad keys among 104: located with the code, the frame delivered; r (3 of 64 bad) neither counted nor struck', async () => {
    const r = await polluted(64, (x) => x < 3, 40);
    expect(r.polluted).toBe(1);
    expect(r).toMatchObject({ struck: 0, counted: 0, reported: false });
  });

  it("80 bad of r's 100 keys among 164: too many to locate, r left out (the broadcaster's 64 decode); r counted 10 times and reported, not struck", async () => {
    const r = await polluted(100, (x) => x < 80, 100);
    expect(r.polluted).toBe(1);
    expect(r).toMatchObject({ struck: 0, counted: 10, reported: true });
  });

  it("40 bad of r's 64 keys among 214: located; r counted 5 times and reported, not struck", async () => {
    const r = await polluted(64, (x) => x < 40, 150);
    expect(r.polluted).toBe(1);
    expect(r).toMatchObject({ struck: 0, counted: 5, reported: true });
  });
});

describe('after a clean decode', () => {
  it('a spare the decode did not use is never passed on: a neighbour asking for it gets a re-encoded copy', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { directSpareKeys: 20 } });
    h.add('b', b);
    for (const id of ['v', 'r', 'w']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('r', 'v');
    h.link('w', 'v');
    const v = h.core('v') as PeerCore;
    const frame = frameBytes(8000, 3);
    // r (no strike: not checked) sends a bad copy of spare key 83 before the broadcaster's.
    const p = codec.feedPacket(frame, 83).slice();
    p[7] ^= 0x40;
    h.inject('r', 'v', encodeMessage({ type: 'feed', seq: 0, x: 83, payload: p }));
    await h.drive(h.now + 10);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 500);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frame]);
    expect(v.stats.framesPolluted).toBe(0);
    const from = h.sent.length;
    h.inject('w', 'v', encodeMessage({ type: 'request', seq: 0, count: 1, allowed: KeySet.of([83]).toBytes() }));
    await h.drive(h.now + 20);
    const served = h.sent.slice(from).flatMap((s) => (s.from === 'v' && s.to === 'w' && s.message.type === 'feed' ? [s.message] : []));
    expect(served.map((m) => m.x)).toEqual([83]);
    expect(served[0].payload).toEqual(codec.feedPacket(frame, 83));
  });
});
