// Far-future sequence numbers: frame state only inside a bounded window above the newest verified
// manifest, the floor never moved by an unverified frame, a frame table that made-up sequences
// cannot fill, and sequences above u32 rejected at parse. Pair harness in virtual time.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, HAVE_MANIFEST, parseMessage, T, WIRE_VERSION } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);
const FAR = 0xffffffff - 3;

async function setup() {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  for (const v of ['v', 'evil']) h.add(v, new PeerCore({ peerId: v, codec }));
  h.link('b', 'v');
  h.link('evil', 'v');
  return { h, b, v: h.core('v') as PeerCore };
}

async function publish(h: CoreHarness, b: BroadcasterCore, count: number, salt = 0): Promise<void> {
  for (let i = 0; i < count; i++) {
    b.publishFrame(frameBytes(3000, salt + i), 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 100);
  }
}

describe('far-future sequences', () => {
  it('one HAVE naming a sequence near 2^32 opens no frame state, counts against its sender, and playback goes on', async () => {
    const { h, b, v } = await setup();
    await publish(h, b, 3);
    const bad = v.stats.badMessages;
    h.inject('evil', 'v', encodeMessage({ type: 'have', entries: [{ seq: FAR, flags: HAVE_MANIFEST, keys: [1, 2, 3] }] }));
    h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: FAR, x: 4, payload: new Uint8Array(128) }));
    await h.drive(h.now + 50);
    expect(v.framesBySeq.has(FAR)).toBe(false);
    expect(v.stats.badMessages).toBe(bad + 2);
    // Long after every frame state it could have made would have expired, frames still play.
    await h.drive(h.now + v.cfg.keepFrameMs + 500);
    await publish(h, b, 3, 10);
    await h.drive(h.now + 300);
    expect((h.delivered.get('v') ?? []).map((d) => d.manifest.seq)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a joining viewer told of a far-future frame first still starts on the real frames', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    h.add('a', new PeerCore({ peerId: 'a', codec }));
    h.link('b', 'a');
    await publish(h, b, 5);
    h.add('late', new PeerCore({ peerId: 'late', codec }));
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    h.link('evil', 'late');
    h.inject('evil', 'late', encodeMessage({ type: 'have', entries: [{ seq: FAR, flags: 0, keys: [0] }] }));
    await h.drive(h.now + 20);
    h.link('a', 'late');
    await publish(h, b, 5, 20);
    await h.drive(h.now + 4000);
    const late = h.core('late') as PeerCore;
    const seqs = (h.delivered.get('late') ?? []).map((d) => d.manifest.seq);
    expect(seqs).toEqual(expect.arrayContaining([5, 6, 7, 8, 9]));
    expect(late.framesBySeq.has(FAR)).toBe(false);
    // Frames after the made-up one expired still play.
    await publish(h, b, 2, 40);
    await h.drive(h.now + 300);
    expect((h.delivered.get('late') ?? []).map((d) => d.manifest.seq)).toEqual(expect.arrayContaining([10, 11]));
  });

  it('made-up sequences inside the window cannot fill the frame table', async () => {
    const { h, b, v } = await setup();
    await publish(h, b, 2);
    // 60 frames ahead of the newest, each "with a manifest": at most unverifiedFramesPerNeighbour open.
    const entries = Array.from({ length: 60 }, (_, i) => ({ seq: 2 + i, flags: HAVE_MANIFEST, keys: [i] }));
    h.inject('evil', 'v', encodeMessage({ type: 'have', entries }));
    await h.drive(h.now + 20);
    const opened = [...v.framesBySeq.values()].filter((f) => f.openedBy === 'evil').length;
    expect(opened).toBeLessThanOrEqual(v.cfg.unverifiedFramesPerNeighbour);
    expect(v.framesBySeq.size).toBeLessThan(v.cfg.maxFrames);
    await publish(h, b, 3, 30);
    await h.drive(h.now + 300);
    expect((h.delivered.get('v') ?? []).map((d) => d.manifest.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a frame that expires unverified does not move the floor', async () => {
    const { h, b, v } = await setup();
    await publish(h, b, 2);
    // evil opens frame 40 (inside the window) and it expires without a manifest.
    h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: 40, x: 0, payload: new Uint8Array(128) }));
    await h.drive(h.now + 20);
    expect(v.framesBySeq.has(40)).toBe(true);
    await h.drive(h.now + v.cfg.keepFrameMs + 300);
    expect(v.framesBySeq.has(40)).toBe(false);
    await publish(h, b, 3, 50);
    await h.drive(h.now + 300);
    expect((h.delivered.get('v') ?? []).map((d) => d.manifest.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a neighbour announcing a manifest beyond the window is asked for it; a real one moves the window', async () => {
    const { h, b, v } = await setup();
    await publish(h, b, 1);
    h.add('w', new PeerCore({ peerId: 'w', codec }));
    h.add('x', new PeerCore({ peerId: 'x', codec }));
    h.link('w', 'v');
    h.link('b', 'x');
    // A stale window: v missed 200 frames (unlinked from b) that w reports with their manifests.
    h.unlink('b', 'v');
    for (let i = 0; i < 200; i++) b.publishFrame(frameBytes(1000, i), 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 50);
    const log = h.sent.filter((s) => s.from === 'b' && s.to === 'x' && s.type === 'manifest');
    const last = log[log.length - 1].message;
    if (last.type !== 'manifest') throw new Error('not a manifest');
    h.inject('w', 'v', encodeMessage({ type: 'have', entries: [{ seq: last.manifest.seq, flags: HAVE_MANIFEST, keys: [] }] }));
    await h.drive(h.now + 100);
    expect(h.sent.some((s) => s.from === 'v' && s.to === 'w' && s.type === 'manifest-request')).toBe(true);
    h.inject('w', 'v', encodeMessage(last));
    await h.drive(h.now + 100);
    expect(v.framesBySeq.get(last.manifest.seq)?.manifestOkMs).toBeGreaterThanOrEqual(0);
    expect(v.stats.badMessages).toBe(0);
  });

  it('a HAVE whose base plus delta passes u32 is rejected at parse', () => {
    const bytes = new Uint8Array([WIRE_VERSION, T.have, 0xfe, 0xff, 0xff, 0xff, 1, 5, 0, 0]);
    const r = parseMessage(bytes);
    expect(r.ok).toBe(false);
    bytes[2] = 0xff; // base 0xffffffff + 0: still a u32
    bytes[7] = 0;
    expect(parseMessage(bytes).ok).toBe(true);
  });
});
