// The exact rules that keep a swarm safe, each at the smallest harness that shows it (pair harness
// in virtual time, real bytes and crypto). Each test names the rule it pins and fails when the rule
// is broken (replay window, replay check, slot rule, digest check, relay strikes, manifest fanout,
// ban threshold).

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore, type BroadcasterConfig } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { directSlotKeys } from './frame-state.ts';
import { ReplayWindow } from './manifest.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, HAVE_COMPLETE, HAVE_MANIFEST } from './wire.ts';
import { isImpliedKey } from './implied-keys.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

async function setup(viewers: string[], config?: Partial<BroadcasterConfig>) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config });
  h.add('b', b);
  for (const v of viewers) h.add(v, new PeerCore({ peerId: v, codec }));
  return { h, b };
}

function feed(seq: number, x: number, payload: Uint8Array): Uint8Array {
  return encodeMessage({ type: 'feed', seq, x, payload });
}

describe('replay', () => {
  it('the replay window keeps every in-window sequence when it prunes', () => {
    const w = new ReplayWindow(4);
    // 2·size + 2 admissions make it prune at least once.
    for (let s = 0; s < 10; s++) w.admit(s);
    for (let s = 0; s < 10; s++) expect(w.fresh(s), `seq ${s}`).toBe(false);
    expect(w.fresh(10)).toBe(true);
  });

  it('a frame replayed after it expired is not delivered again (the core checks the window)', async () => {
    const { h, b } = await setup(['v', 'r']);
    h.link('b', 'v');
    h.link('r', 'v');
    const frame = frameBytes(8000, 1);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(300);
    expect(h.delivered.get('v')).toHaveLength(1);
    const v = h.core('v') as PeerCore;
    await h.drive(v.cfg.keepFrameMs + 400);
    expect(v.framesBySeq.has(0)).toBe(false);
    // r replays everything the broadcaster sent for frame 0.
    for (const { from, message: m } of h.sent) if (from === 'b' && (m.type === 'feed' || m.type === 'manifest')) h.inject('r', 'v', encodeMessage(m));
    await h.drive(h.now + 400);
    expect(h.delivered.get('v')).toHaveLength(1);
  });
});

describe('direct feed slot rule (k + seq) mod n', () => {
  it('directSlotKeys gives slot i the keys k with (k + seq) mod n = i', () => {
    expect(directSlotKeys(1, 0, 3, 10)).toEqual([2, 5, 8]);
    expect(directSlotKeys(1, 1, 3, 10)).toEqual([0, 3, 6, 9]);
    expect(directSlotKeys(2, 0, 3, 10)).toEqual([1, 4, 7]);
    expect(directSlotKeys(0, 2, 3, 10)).toEqual([2, 5, 8]);
  });

  it('the broadcaster sends viewer i of n exactly the keys k with (k + seq) mod n = i', async () => {
    const { h, b } = await setup(['a', 'c', 'd']);
    for (const v of ['a', 'c', 'd']) h.link('b', v);
    for (let s = 0; s < 3; s++) {
      b.publishFrame(frameBytes(8000, s), 0, 0, h.now);
      h.flush('b');
      await h.drive(h.now + 100);
    }
    const sentTo = new Map<string, number[]>();
    for (const { from, to, message: m } of h.sent) {
      if (from !== 'b' || m.type !== 'feed') continue;
      const k = `${to}:${m.seq}`;
      const x = m.x;
      sentTo.set(k, [...(sentTo.get(k) ?? []), x]);
    }
    const keys = 64 + b.cfg.directSpareKeys;
    ['a', 'c', 'd'].forEach((v, i) => {
      for (let seq = 0; seq < 3; seq++) {
        // (Key 63 of 8000 bytes is an implied zero key: never sent.)
        const want = Array.from({ length: keys }, (_, k) => k).filter((k) => (k + seq) % 3 === i && !isImpliedKey(k, 8000));
        expect(sentTo.get(`${v}:${seq}`), `${v} seq ${seq}`).toEqual(want);
      }
    });
    // Frame 1, viewer a (slot 0): keys 2, 5, 8, … (not 0, 3, 6, …).
    expect(sentTo.get('a:1')?.slice(0, 3)).toEqual([2, 5, 8]);
  });
});

describe('pollution', () => {
  // The sources below send most of the frame's keys first, so a leave-one-out search finds them.
  it('a decode whose digest mismatches its manifest is never delivered; the source of bad packets is struck', async () => {
    const { h, b } = await setup(['v', 'evil'], { directSpareKeys: 150 });
    h.link('b', 'v');
    h.link('evil', 'v');
    const frame = frameBytes(8000, 3);
    // evil's keys 0…119 (all corrupted) arrive before the broadcaster's (the first copy of a key is kept).
    for (let x = 0; x < 120; x++) {
      const bad = codec.feedPacket(frame, x).slice();
      bad[5] ^= 0x40;
      h.inject('evil', 'v', feed(0, x, bad));
    }
    await h.drive(h.now + 10);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 800);
    const got = h.delivered.get('v') ?? [];
    for (const d of got) expect(d.frame).toEqual(frame);
    expect(got).toHaveLength(1);
    expect(h.badPeers.some((x) => x.by === 'v' && x.peerId === 'evil')).toBe(true);
  });

  it('a neighbour that only relayed a bad packet among good ones is not struck', async () => {
    const { h, b } = await setup(['v', 'r'], { directSpareKeys: 150 });
    h.link('b', 'v');
    h.link('r', 'v');
    const frame = frameBytes(8000, 4);
    // r relays keys 0…119 of the frame, one of them (key 7) corrupted upstream.
    for (let x = 0; x < 120; x++) {
      const p = codec.feedPacket(frame, x).slice();
      if (x === 7) p[0] ^= 1;
      h.inject('r', 'v', feed(0, x, p));
    }
    await h.drive(h.now + 10);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 1000);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frame]);
    expect(h.badPeers.filter((x) => x.peerId === 'r')).toEqual([]);
  });
});

describe('pollution: proof, relays and reports', () => {
  it('a bad key sent after its sender announced the frame complete is proof: a strike, even among many good ones', async () => {
    const { h, b } = await setup(['v', 'c'], { directSpareKeys: 150 });
    h.link('b', 'v');
    h.link('c', 'v');
    const frame = frameBytes(8000, 5);
    // c says it has verified frame 0, then sends keys 0…29, three of them corrupted.
    h.inject('c', 'v', encodeMessage({ type: 'have', entries: [{ seq: 0, flags: HAVE_MANIFEST | HAVE_COMPLETE, keys: [] }] }));
    await h.drive(h.now + 200);
    for (let x = 0; x < 30; x++) {
      const p = codec.feedPacket(frame, x).slice();
      if (x >= 1 && x <= 3) p[9] ^= 0x21;
      h.inject('c', 'v', feed(0, x, p));
    }
    await h.drive(h.now + 10);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 800);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frame]);
    expect(h.badPeers.filter((x) => x.by === 'v' && x.peerId === 'c')).toHaveLength(1);
    expect(h.sent.some((m) => m.from === 'v' && m.to === 'b' && m.message.type === 'report' && m.message.peerId === 'c')).toBe(true);
  });

  it('a neighbour that passed on mostly bad keys before announcing the frame complete is counted and reported, not struck', async () => {
    const { h, b } = await setup(['v', 'r'], { directSpareKeys: 150 });
    h.link('b', 'v');
    h.link('r', 'v');
    const frame = frameBytes(8000, 6);
    const reasons: string[] = [];
    const vv = h.core('v') as unknown as { countBad(p: string, r: string): void };
    const count = vv.countBad.bind(vv);
    vv.countBad = (p, r) => {
      reasons.push(`${p}:${r}`);
      count(p, r);
    };
    // r relays 20 keys it was pushed by a polluter (all bad), as an honest viewer does before it decodes.
    for (let x = 0; x < 20; x++) {
      const p = codec.feedPacket(frame, x).slice();
      p[3] ^= 0x11;
      h.inject('r', 'v', feed(0, x, p));
    }
    await h.drive(h.now + 10);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 800);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frame]);
    expect(h.badPeers.filter((x) => x.peerId === 'r')).toEqual([]);
    expect(reasons.filter((r) => r.startsWith('r:passed on bad feed packets'))).toHaveLength(3); // one per 8 bad keys
    expect(h.sent.some((m) => m.from === 'v' && m.to === 'b' && m.message.type === 'report' && m.message.peerId === 'r')).toBe(true);
  });
});

describe('broadcaster', () => {
  it('each manifest goes to exactly manifestFanout neighbours', async () => {
    for (const fanout of [2, 3]) {
      const viewers = ['a', 'c', 'd', 'e', 'f'];
      const { h, b } = await setup(viewers, { manifestFanout: fanout });
      for (const v of viewers) h.link('b', v);
      for (let s = 0; s < 3; s++) {
        b.publishFrame(frameBytes(4000, s), 0, 0, h.now);
        h.flush('b');
        await h.drive(h.now + 50);
      }
      const manifests = h.sent.filter((m) => m.from === 'b' && m.type === 'manifest');
      expect(manifests).toHaveLength(3 * fanout);
    }
  });
});

describe('ban threshold', () => {
  it('49 bad messages do not ban a neighbour, the 50th does', async () => {
    const { h } = await setup(['v', 'evil']);
    h.link('evil', 'v');
    const v = h.core('v') as PeerCore;
    expect(v.cfg.badMessagesToBan).toBe(50);
    for (let i = 0; i < 49; i++) h.inject('evil', 'v', new Uint8Array([1, 0x7f, i]));
    await h.drive(h.now + 20);
    expect(v.isBanned('evil')).toBe(false);
    h.inject('evil', 'v', new Uint8Array([1, 0x7f, 49]));
    await h.drive(h.now + 20);
    expect(v.isBanned('evil')).toBe(true);
  });
});
