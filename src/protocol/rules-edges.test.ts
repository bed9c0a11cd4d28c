// Edges of the replay, slot and ban rules that the first mutation run (protocol:replay-slot-ban,
// docs/mutation.md) found unproven, each at the smallest harness that shows it: the replay
// window's prune (batched, once past 2·size, and it keeps exactly the window); a viewer told its
// new slot when only its index changes; the viewer's window top (anchor + maxAheadFrames: the top
// itself opens, one above does not; an older verified frame never moves it back; only the first
// verified manifest sets the floor, also when that one is sequence 0); strikes and bad messages
// never recorded against a neighbour that already left; the renewed ban reports (the newest
// RENEWED_BANS = 4 bans, every 4 s counted from the first ban); a probe beyond the window that
// outlives an in-window frame verified meanwhile; a manifest verified at time 0 counts as verified.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { streamHashOf } from './crypto-jobs.ts';
import { ReplayWindow, signManifest } from './manifest.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, HAVE_MANIFEST } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);
const garbage = (i: number) => new Uint8Array([1, 0x7f, i & 0xff]);
const seenOf = (w: ReplayWindow) => (w as unknown as { seen: Set<number> }).seen;
const framesOf = (v: PeerCore) => (v as unknown as { framesBySeq: Map<number, unknown> }).framesBySeq;

describe('replay window prune', () => {
  it('memory is pruned in batches: nothing goes until 2·size are held, then exactly the window stays', () => {
    for (const size of [1, 8, 32]) {
      const w = new ReplayWindow(size);
      for (let s = 0; s < 2 * size; s++) w.admit(s);
      // 2·size held: not yet pruned (a prune per admission would cost O(size) each time).
      expect(seenOf(w).size, `size ${size}`).toBe(2 * size);
      w.admit(2 * size);
      // Past 2·size: everything at or below newest − size goes, the window (size sequences) stays.
      expect([...seenOf(w)].sort((a, b) => a - b), `size ${size}`).toEqual(Array.from({ length: size }, (_, i) => size + 1 + i));
      // And the next prune only after another size admissions.
      for (let s = 2 * size + 1; s < 3 * size + 1; s++) w.admit(s);
      expect(seenOf(w).size, `size ${size}`).toBe(2 * size);
      for (let s = 0; s <= 3 * size + 1; s++) expect(w.fresh(s), `fresh(${s}), size ${size}`).toBe(s > 3 * size);
    }
  });
});

describe('direct-slot messages when only the index changes', () => {
  it('a viewer whose slot index changes while the slot count stays is told its new slot', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['a', 'c', 'd']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'a');
    h.link('b', 'c');
    b.publishFrame(frameBytes(3000, 0), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 50);
    const slots = () => h.sent.filter((s) => s.from === 'b' && s.message.type === 'direct-slot').map((s) => (s.message.type === 'direct-slot' ? `${s.to}:${s.message.slot}/${s.message.slots}` : ''));
    expect(slots()).toEqual(['a:0/2', 'c:1/2']);
    // a leaves, d joins: still 2 slots, but c moves from slot 1 to slot 0.
    h.unlink('b', 'a');
    h.link('b', 'd');
    b.publishFrame(frameBytes(3000, 1), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 50);
    expect(slots()).toEqual(['a:0/2', 'c:1/2', 'c:0/2', 'd:1/2']);
  });
});

describe("the viewer's frame window", () => {
  /** v linked to broadcaster b and neighbour r; manifests of any sequence signed with the stream key. */
  async function windowRig() {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['v', 'r']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('r', 'v');
    const v = h.core('v') as PeerCore;
    const manifest = async (seq: number) => {
      const m = await signManifest(h.key, streamHashOf(h.key.streamId), { seq, frame: frameBytes(3000, seq), captureTimeMs: 0, flags: 0, broadcastId: b.broadcastId });
      h.inject('b', 'v', encodeMessage({ type: 'manifest', manifest: m }));
      await h.drive(h.now + 30);
    };
    /** r offers one feed packet of seq: does v open frame state for it? */
    const opens = async (seq: number) => {
      h.inject('r', 'v', encodeMessage({ type: 'feed', seq, x: 0, payload: new Uint8Array(128) }));
      await h.drive(h.now + 20);
      return framesOf(v).has(seq);
    };
    return { h, v, manifest, opens };
  }

  it('the top of the window (anchor + maxAheadFrames) opens, one above does not', async () => {
    const { v, manifest, opens } = await windowRig();
    expect(v.cfg.maxAheadFrames).toBe(128);
    await manifest(10);
    expect(await opens(10 + 129)).toBe(false);
    expect(await opens(10 + 128)).toBe(true);
  });

  it('an older frame verified later does not move the window back', async () => {
    const { manifest, opens } = await windowRig();
    await manifest(10);
    await manifest(5);
    expect(await opens(10 + 128)).toBe(true);
  });

  it('only the first verified manifest sets the floor, also when it is sequence 0', async () => {
    const { v, manifest, opens } = await windowRig();
    expect(v.cfg.joinBacklogFrames).toBe(16);
    await manifest(0);
    expect(await opens(20)).toBe(true);
    // A later manifest 40 moves the window up but not the floor: frame 20 (40 − 20 > 16) stays.
    await manifest(40);
    expect(framesOf(v).has(20)).toBe(true);
  });
  it('below the floor (first verified sequence − joinBacklogFrames) nothing opens, at it a frame does', async () => {
    const { manifest, opens } = await windowRig();
    await manifest(40);
    // Inside the replay window (512) but below the floor 40 − 16 = 24.
    expect(await opens(23)).toBe(false);
    expect(await opens(24)).toBe(true);
  });

  it('a probe beyond the window outlives an in-window frame verified meanwhile: its answer moves the window', async () => {
    const { h, v, manifest } = await windowRig();
    await manifest(10);
    // r announces the manifest of frame 510, far beyond the window (10 + 128): v asks r for it.
    h.inject('r', 'v', encodeMessage({ type: 'have', entries: [{ seq: 510, flags: HAVE_MANIFEST, keys: [] }] }));
    await h.drive(h.now + 50);
    expect(h.sent.filter((s) => s.from === 'v' && s.to === 'r' && s.message.type === 'manifest-request').map((s) => (s.message.type === 'manifest-request' ? s.message.seq : -1))).toEqual([510]);
    // Meanwhile frame 11 verifies (inside the window: the probe is still beyond it).
    await manifest(11);
    const m = await signManifest(h.key, streamHashOf(h.key.streamId), { seq: 510, frame: frameBytes(3000, 510), captureTimeMs: 0, flags: 0, broadcastId: (h.core('b') as BroadcasterCore).broadcastId });
    h.inject('r', 'v', encodeMessage({ type: 'manifest', manifest: m }));
    await h.drive(h.now + 30);
    expect(framesOf(v).has(510)).toBe(true);
    expect(await opensAbove(h, v, 510 + 128)).toBe(true);
    expect(v.stats.badMessages).toBe(0);
  });
});

/** r offers one feed packet of seq (after the window moved): does v open frame state for it? */
async function opensAbove(h: CoreHarness, v: PeerCore, seq: number) {
  h.inject('r', 'v', encodeMessage({ type: 'feed', seq, x: 0, payload: new Uint8Array(128) }));
  await h.drive(h.now + 20);
  return framesOf(v).has(seq);
}

describe('a neighbour that left is not judged', () => {
  async function viewer() {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['v', 'evil']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    b.publishFrame(frameBytes(4000, 0), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(h.delivered.get('v')).toHaveLength(1);
    return { h, b, v: h.core('v') as PeerCore };
  }

  it('a forged manifest whose check ends after its sender left: no strike', async () => {
    const { h, b, v } = await viewer();
    const m = await signManifest(h.key, streamHashOf(h.key.streamId), { seq: 1, frame: frameBytes(4000, 1), captureTimeMs: 0, flags: 0, broadcastId: b.broadcastId });
    const signature = m.signature.slice();
    signature[3] ^= 1;
    v.handleMessage('evil', encodeMessage({ type: 'manifest', manifest: { ...m, signature } }), h.now);
    v.handlePeerDisconnected('evil', h.now);
    h.flush('v');
    await h.drive(h.now + 50);
    expect(h.badPeers.filter((x) => x.by === 'v')).toEqual([]);
    expect(v.stats.strikes).toBe(0);
    expect(v.policy.strikesOf('evil')).toBe(0);
    // The same forgery from a neighbour still there is a strike (the rig can show one).
    h.link('evil', 'v');
    h.inject('evil', 'v', encodeMessage({ type: 'manifest', manifest: { ...m, seq: 2, signature } }));
    await h.drive(h.now + 50);
    expect(v.policy.strikesOf('evil')).toBe(1);
  });

  it('packets of the wrong size from a neighbour that left: not counted against it', async () => {
    const { h, b, v } = await viewer();
    // evil sends a feed packet of a size not the frame's (128 bytes) of frame 1 before its manifest, then leaves.
    h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: 1, x: 3, payload: new Uint8Array(128) }));
    await h.drive(h.now + 20);
    v.handlePeerDisconnected('evil', h.now);
    const bad = v.stats.badMessages;
    b.publishFrame(frameBytes(4000, 1), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(h.delivered.get('v')).toHaveLength(2);
    // Counted in the stats (a bad message arrived), not in its score.
    expect(v.stats.badMessages).toBe(bad + 1);
    expect(v.policy.badScore('evil', h.now)).toBe(0);
  });

  it('the same while it is there is counted', async () => {
    const { h, b, v } = await viewer();
    h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: 1, x: 3, payload: new Uint8Array(128) }));
    await h.drive(h.now + 20);
    b.publishFrame(frameBytes(4000, 1), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(v.policy.badScore('evil', h.now)).toBeGreaterThan(0.9);
  });
});

describe('renewed ban reports', () => {
  it('the newest 4 bans are reported again every 4 s, counted from the first ban', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.link('b', 'v');
    const evil = ['e0', 'e1', 'e2', 'e3', 'e4'];
    for (const id of evil) {
      h.add(id, new PeerCore({ peerId: id, codec }));
      h.link(id, 'v');
    }
    const v = h.core('v') as PeerCore;
    const banOf = async (id: string) => {
      for (let i = 0; i < 50; i++) h.inject(id, 'v', garbage(i));
      await h.drive(h.now + 20);
      const ban = h.badPeers.find((x) => x.by === 'v' && x.peerId === id && x.banned);
      expect(ban, id).toBeDefined();
      return (ban as { t: number }).t;
    };
    const first = await banOf('e0');
    await h.drive(h.now + 1000);
    for (const id of evil.slice(1)) await banOf(id);
    const reports = () => h.sent.filter((s) => s.from === 'v' && s.to === 'b' && s.message.type === 'report').map((s) => (s.message.type === 'report' ? s.message.peerId : ''));
    // Each ban was reported once when it happened.
    expect(reports()).toEqual(evil);
    const tick = () => ((v as unknown as { lastTickMs: number }).lastTickMs = -Infinity);
    // Manual clock from here: 1 ms before 4 s after the first ban, nothing is renewed.
    tick();
    v.handleTimeout(first + 3999);
    h.flush('v');
    expect(reports()).toEqual(evil);
    // At 4 s: the newest four (not e0, the oldest of five).
    tick();
    v.handleTimeout(first + 4000);
    h.flush('v');
    expect(reports().slice(evil.length)).toEqual(['e1', 'e2', 'e3', 'e4']);
    // And again 4 s later, not before.
    tick();
    v.handleTimeout(first + 7999);
    h.flush('v');
    expect(reports()).toHaveLength(9);
    tick();
    v.handleTimeout(first + 8000);
    h.flush('v');
    expect(reports().slice(9)).toEqual(['e1', 'e2', 'e3', 'e4']);
  });
});

describe('a manifest verified at time 0', () => {
  it('counts as verified: the neighbour that opened it still opens unverifiedFramesPerNeighbour more', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['v', 'r']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('r', 'v');
    const v = h.core('v') as PeerCore;
    expect(h.now).toBe(0);
    // r relays the signed manifest of frame 0; its check ends at time 0 (manual clock).
    const m = await signManifest(h.key, streamHashOf(h.key.streamId), { seq: 0, frame: frameBytes(3000, 0), captureTimeMs: 0, flags: 0, broadcastId: b.broadcastId });
    v.handleMessage('r', encodeMessage({ type: 'manifest', manifest: m }), 0);
    h.flush('v');
    await (h as unknown as { settleCrypto(): Promise<void> }).settleCrypto();
    expect(h.now).toBe(0);
    expect(framesOf(v).has(0)).toBe(true);
    const quota = v.cfg.unverifiedFramesPerNeighbour;
    expect(quota).toBe(12);
    for (let seq = 1; seq <= quota + 1; seq++) v.handleMessage('r', encodeMessage({ type: 'feed', seq, x: 0, payload: new Uint8Array(128) }), 0);
    const open = [...framesOf(v).keys()].sort((a, b) => a - b);
    expect(open).toEqual(Array.from({ length: quota + 1 }, (_, i) => i));
  });
});
