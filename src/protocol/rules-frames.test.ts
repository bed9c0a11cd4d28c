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
