import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { signManifest } from './manifest.ts';
import { MAX_OUTSIDE_PENDING, PeerCore } from './peer-core.ts';
import { FLAG_KEY_FRAME, type Manifest } from './wire.ts';
import { dataParts } from './implied-keys.ts';

// A frame got outside the swarm (the HLS edge over HTTP) enters a viewer's core only through its own
// signature and digest checks; once taken, the viewer serves it to a neighbour like a decoded frame.

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

/**
 * b broadcasts to the edge viewer e; h (the HTTP viewer) and its neighbour n have no path to b or e.
 * Returns the frames e verified, as the edge would serve them.
 */
async function rig(frames: Uint8Array[]) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  for (const id of ['e', 'h', 'n']) h.add(id, new PeerCore({ peerId: id, codec }));
  h.link('b', 'e');
  h.link('h', 'n');
  frames.forEach((fr, i) => {
    b.publishFrame(fr, i === 0 ? FLAG_KEY_FRAME : 0, 1000 + i, h.now);
    h.flush('b');
  });
  await h.drive(400);
  const got = h.delivered.get('e') ?? [];
  expect(got.map((d) => d.frame)).toEqual(frames);
  return { h, fromEdge: got.map((d) => ({ manifest: d.manifest, frame: d.frame })), core: (id: string) => h.core(id) as PeerCore };
}

function give(h: CoreHarness, core: PeerCore, manifest: Manifest, frame: Uint8Array): boolean {
  const ok = core.handleOutsideFrame(manifest, frame, h.now);
  h.flush('h');
  return ok;
}

describe('frames verified outside the swarm (handleOutsideFrame)', () => {
  it('a frame got over HTTP is checked, delivered and served to a neighbour that never reached the broadcaster', async () => {
    const frames = [frameBytes(20000, 1), frameBytes(9000, 2)];
    const { h, fromEdge, core } = await rig(frames);
    for (const d of fromEdge) expect(give(h, core('h'), d.manifest, d.frame)).toBe(true);
    await h.drive(h.now + 600);
    expect([...(h.delivered.get('h') ?? [])].sort((x, y) => x.manifest.seq - y.manifest.seq).map((d) => d.frame)).toEqual(frames);
    expect(core('h').stats.outsideFrames).toBe(2);
    expect(core('h').stats.outsideRefused).toBe(0);
    // n decoded both from feed packets h made from the frames: h is its only link.
    const atN = [...(h.delivered.get('n') ?? [])].sort((x, y) => x.manifest.seq - y.manifest.seq);
    expect(atN.map((d) => d.frame)).toEqual(frames);
    const toN = h.sent.filter((s) => s.to === 'n');
    expect(toN.every((s) => s.from === 'h')).toBe(true);
    // (Each frame's data parts at least; the implied zero keys past its length are never sent.)
    expect(toN.filter((s) => s.type === 'feed').length).toBeGreaterThanOrEqual(dataParts(20000) + dataParts(9000));
    expect(h.badPeers).toEqual([]);
  });

  it('refuses and counts a frame whose bytes do not match its signed digest, then takes the genuine one', async () => {
    const frame = frameBytes(12000, 3);
    const { h, fromEdge, core } = await rig([frame]);
    const forged = frame.slice();
    forged[5000] ^= 1;
    expect(give(h, core('h'), fromEdge[0].manifest, forged)).toBe(true); // checked asynchronously
    await h.drive(h.now + 300);
    expect(h.delivered.get('h')).toEqual([]);
    expect(h.delivered.get('n')).toEqual([]);
    expect(core('h').stats).toMatchObject({ outsideFrames: 0, outsideRefused: 1 });
    // The signed manifest was genuine: the same sequence is not locked out for the real frame.
    expect(give(h, core('h'), fromEdge[0].manifest, frame)).toBe(true);
    await h.drive(h.now + 600);
    expect(h.delivered.get('h')?.map((d) => d.frame)).toEqual([frame]);
    expect(h.delivered.get('n')?.map((d) => d.frame)).toEqual([frame]);
    expect(core('h').stats).toMatchObject({ outsideFrames: 1, outsideRefused: 1 });
  });

  it('refuses a manifest with a bad signature, one signed by another key, and a length that is not the frame\'s', async () => {
    const frame = frameBytes(8000, 4);
    const { h, fromEdge, core } = await rig([frame]);
    const m = fromEdge[0].manifest;
    const badSig = { ...m, signature: m.signature.slice() };
    badSig.signature[10] ^= 0x40;
    expect(give(h, core('h'), badSig, frame)).toBe(true);
    // Another key signs the same fields (an edge that made up its own stream key).
    const other = await generateStreamKey();
    const streamHash = new Uint8Array(32);
    const foreign = await signManifest(other, streamHash, { seq: m.seq, frame, captureTimeMs: m.captureTimeMs, flags: m.flags, broadcastId: m.broadcastId });
    expect(give(h, core('h'), foreign, frame)).toBe(true);
    await h.drive(h.now + 300);
    // A frame cut at another length is refused at once.
    expect(give(h, core('h'), m, frame.subarray(0, 7999))).toBe(false);
    expect(give(h, core('h'), { ...m, length: 7999 }, frame.subarray(0, 7999))).toBe(true); // signature covers L
    await h.drive(h.now + 300);
    expect(h.delivered.get('h')).toEqual([]);
    expect(h.delivered.get('n')).toEqual([]);
    expect(core('h').stats).toMatchObject({ outsideFrames: 0, outsideRefused: 4 });
    expect(core('h').framesBySeq.size).toBe(0); // forged sequences leave no frame state behind
    expect(h.badPeers).toEqual([]); // no neighbour is blamed for what the edge sent
  });

  it('refuses a frame it already has, and bounds the checks under way', async () => {
    const frames = Array.from({ length: 3 }, (_, i) => frameBytes(3000, 10 + i));
    const { h, fromEdge, core } = await rig(frames);
    expect(give(h, core('h'), fromEdge[0].manifest, fromEdge[0].frame)).toBe(true);
    await h.drive(h.now + 200);
    expect(give(h, core('h'), fromEdge[0].manifest, fromEdge[0].frame)).toBe(false);
    expect(core('h').stats).toMatchObject({ outsideFrames: 1, outsideRefused: 1 });
    // Checks under way are bounded: without settling crypto, the (MAX + 1)-th is refused at once.
    const p = new PeerCore({ peerId: 'p', codec });
    const m = fromEdge[1].manifest;
    for (let i = 0; i < MAX_OUTSIDE_PENDING; i++) expect(p.handleOutsideFrame({ ...m, seq: m.seq + i }, fromEdge[1].frame, 0)).toBe(true);
    expect(p.handleOutsideFrame({ ...m, seq: m.seq + MAX_OUTSIDE_PENDING }, fromEdge[1].frame, 0)).toBe(false);
    expect(p.stats.outsideRefused).toBe(1);
    // Checks never answered (no stream key yet) are given up after a frame's lifetime, and counted.
    const later = p.cfg.frameLifetimeMs + 2 * p.cfg.tickMs;
    expect(p.nextTimeout()).toBeDefined();
    p.handleTimeout(later);
    expect(p.stats.outsideRefused).toBe(1 + MAX_OUTSIDE_PENDING);
    expect(p.handleOutsideFrame({ ...m, seq: m.seq + 100 }, fromEdge[1].frame, later)).toBe(true);
  });
});
