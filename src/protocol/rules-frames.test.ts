// Where frame state may be opened, at its edges (pair harness in virtual time): each neighbour may
// hold open exactly unverifiedFramesPerNeighbour frames whose manifest has not verified
// (joinBacklogFrames + 1 before the first manifest), the table never holds more than maxFrames,
// a verified frame is never opened again, and the broadcaster tells each viewer its slot once
// while the slots do not change.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);
const feed = (seq: number) => encodeMessage({ type: 'feed', seq, x: 0, payload: new Uint8Array(128) });

async function setup(evil: string[]) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  for (const id of ['v', ...evil]) h.add(id, new PeerCore({ peerId: id, codec }));
  for (const id of evil) h.link(id, 'v');
  return { h, b, v: h.core('v') as PeerCore };
}

async function publish(h: CoreHarness, b: BroadcasterCore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    b.publishFrame(frameBytes(3000, i), 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 100);
  }
}

const openedBy = (v: PeerCore, id: string) => [...v.framesBySeq.values()].filter((f) => f.openedBy === id).length;

describe('frames a neighbour may open', () => {
  it('after the first manifest: exactly unverifiedFramesPerNeighbour (12) each', async () => {
    const { h, b, v } = await setup(['e1', 'e2']);
    h.link('b', 'v');
    await publish(h, b, 1);
    expect(v.cfg.unverifiedFramesPerNeighbour).toBe(12);
    for (let s = 1; s < 40; s++) h.inject('e1', 'v', feed(s));
    for (let s = 40; s < 45; s++) h.inject('e2', 'v', feed(s));
    await h.drive(h.now + 20);
    expect(openedBy(v, 'e1')).toBe(12);
    expect(openedBy(v, 'e2')).toBe(5);
  });

  it('before the first manifest: joinBacklogFrames + 1 (17) each', async () => {
    const { h, v } = await setup(['e1']);
    expect(v.cfg.joinBacklogFrames).toBe(16);
    for (let s = 1; s < 40; s++) h.inject('e1', 'v', feed(s));
    await h.drive(h.now + 20);
    expect(openedBy(v, 'e1')).toBe(17);
  });

  it('the frame table holds maxFrames (64) at most, whoever opens them', async () => {
    const evil = ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'];
    const { h, b, v } = await setup(evil);
    h.link('b', 'v');
    await publish(h, b, 1);
    evil.forEach((id, i) => {
      for (let s = 0; s < 12; s++) h.inject(id, 'v', feed(1 + i * 12 + s));
    });
    await h.drive(h.now + 20);
    expect(v.cfg.maxFrames).toBe(64);
    expect(v.framesBySeq.size).toBe(64);
  });

  it('a verified frame that expired is not opened again by its old sequence', async () => {
    const { h, b, v } = await setup(['e1']);
    h.link('b', 'v');
    await publish(h, b, 2);
    await h.drive(h.now + v.cfg.keepFrameMs + 400);
    expect(v.framesBySeq.has(0)).toBe(false);
    h.inject('e1', 'v', feed(0));
    h.inject('e1', 'v', feed(1));
    await h.drive(h.now + 20);
    expect(v.framesBySeq.has(0)).toBe(false);
    expect(v.framesBySeq.has(1)).toBe(false);
  });
});

describe('direct-slot messages', () => {
  it('one per viewer while the slots stay the same; all told again when a viewer joins', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['a', 'c', 'd']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'a');
    h.link('b', 'c');
    await publish(h, b, 3);
    const slots = () => h.sent.filter((s) => s.from === 'b' && s.message.type === 'direct-slot').map((s) => (s.message.type === 'direct-slot' ? `${s.to}:${s.message.slot}/${s.message.slots}` : ''));
    expect(slots()).toEqual(['a:0/2', 'c:1/2']);
    h.link('b', 'd');
    await publish(h, b, 2);
    expect(slots()).toEqual(['a:0/2', 'c:1/2', 'a:0/3', 'c:1/3', 'd:2/3']);
    // A viewer leaving: the others are told the new slots, once.
    h.unlink('b', 'c');
    await publish(h, b, 2);
    expect(slots()).toEqual(['a:0/2', 'c:1/2', 'a:0/3', 'c:1/3', 'd:2/3', 'a:0/2', 'd:1/2']);
  });
});

describe('direct slots: the wire bounds and the work', () => {
  it('at most 255 slots: the 256th viewer is not fed directly; slots go on the control channel', () => {
    const b = new BroadcasterCore({ codec });
    const viewers = Array.from({ length: 256 }, (_, i) => `p${String(i).padStart(3, '0')}`);
    for (const p of viewers) b.handlePeerConnected(p, 0);
    while (b.pollOutput());
    // A full frame (8192 bytes: every systematic key holds data, none is implied) and 1 spare key.
    b.publishFrame(frameBytes(8192, 1), 0, 0, 0);
    const slots = new Map<string, number>();
    const fed = new Set<string>();
    for (let o = b.pollOutput(); o; o = b.pollOutput()) {
      if (o.type !== 'send') continue;
      if (o.message.type === 'direct-slot') {
        expect(o.channel).toBe('control');
        expect(o.message.slots).toBe(255);
        slots.set(o.peerId, o.message.slot);
      }
      if (o.message.type === 'feed') fed.add(o.peerId);
    }
    expect(slots.size).toBe(255);
    expect(slots.has('p255')).toBe(false);
    expect(slots.get('p254')).toBe(254);
    expect(fed.has('p255')).toBe(false);
    expect(fed.size).toBe(65);
  });

  it('no viewers: no feed packet is encoded', () => {
    let encoded = 0;
    const counting = { ...codec, feedPacket: (f: Uint8Array, x: number) => (encoded++, codec.feedPacket(f, x)) } as Codec;
    const b = new BroadcasterCore({ codec: counting });
    b.publishFrame(frameBytes(3000, 1), 0, 0, 0);
    expect(encoded).toBe(0);
    b.handlePeerConnected('a', 0);
    b.publishFrame(frameBytes(3000, 2), 0, 0, 0);
    // Its 24 data parts and 1 spare key (the 40 implied zero keys past 3000 bytes are not encoded).
    expect(encoded).toBe(25);
  });
});

describe('the first verified manifest sets the window', () => {
  it('frames opened before it below its floor or above its ceiling are dropped', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, firstSeq: 100 });
    h.add('b', b);
    for (const id of ['v', 'e1']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('e1', 'v');
    const v = h.core('v') as PeerCore;
    for (const s of [50, 83, 84, 99, 228, 229, 300]) h.inject('e1', 'v', feed(s));
    await h.drive(h.now + 20);
    expect([...v.framesBySeq.keys()].sort((x, y) => x - y)).toEqual([50, 83, 84, 99, 228, 229, 300]);
    h.link('b', 'v');
    await publish(h, b, 1);
    // Floor 100 − joinBacklogFrames = 84, ceiling 100 + maxAheadFrames = 228.
    expect([...v.framesBySeq.keys()].sort((x, y) => x - y)).toEqual([84, 99, 100, 228]);
  });
});
