// A key a neighbour asked for (REQUEST) leaves ahead of the keys pushed to that neighbour and
// still waiting in the core's send queue (askedFirst): the asker lacks exactly those keys, often
// the last ones of its frame, while pushes run ahead of need. Pair harness, real bytes and crypto.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { KeySet } from './key-set.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, FLAG_KEY_FRAME } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

/**
 * b feeds a directly; c, linked to a only, subscribes to a's pushes. Then a's channel to c stays
 * full while a new frame's keys are pushed to c (they wait in a's queue) and c asks a for two keys
 * of an older frame. Returns the media a sends c once the channel drains: (seq, key) in order.
 */
async function run(askedFirst: number): Promise<Array<[number, number]>> {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  const a = new PeerCore({ peerId: 'a', codec, config: { askedFirst } });
  h.add('a', a);
  h.add('c', new PeerCore({ peerId: 'c', codec }));
  h.link('b', 'a');
  h.link('a', 'c');
  for (let seq = 0; seq < 4; seq++) {
    b.publishFrame(frameBytes(30000, seq), seq === 0 ? FLAG_KEY_FRAME : 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 400);
  }
  expect(h.delivered.get('c')?.length).toBe(4);
  expect(h.sent.some((s) => s.from === 'c' && s.to === 'a' && s.type === 'push-keys')).toBe(true);
  // From now on a's channel to c stays full (no drain report reaches a): what a sends c waits in its queue.
  const report = a.handleBufferedAmount.bind(a);
  report('c', 1e6, h.now);
  a.handleBufferedAmount = (peerId, bytes, nowMs) => {
    if (peerId !== 'c') report(peerId, bytes, nowMs);
  };
  b.publishFrame(frameBytes(30000, 9), 0, h.now, h.now);
  h.flush('b');
  await h.drive(h.now + 20);
  const before = h.sent.length;
  // c asks a for two keys of frame 1 (a re-encodes them from its verified frame).
  h.inject('c', 'a', encodeMessage({ type: 'request', seq: 1, count: 2, allowed: KeySet.of([250, 251]).toBytes() }));
  await h.drive(h.now + 10);
  expect(h.sent.slice(before).filter((s) => s.from === 'a' && s.to === 'c' && s.type === 'feed')).toHaveLength(0);
  a.handleBufferedAmount = report;
  report('c', 0, h.now);
  h.flush('a');
  return h.sent.slice(before).filter((s) => s.from === 'a' && s.to === 'c' && s.message.type === 'feed').map((s) => {
    const m = s.message as { seq: number; x: number };
    return [m.seq, m.x];
  });
}

describe('askedFirst: answers to a request leave ahead of queued pushes', () => {
  it('with it, the asked keys leave before the pushed ones once the channel drains; without it, they wait behind the pushes', async () => {
    // Keys 0…59 of frame 4 are pushed (c's subscription); the rest a sends c are answers to
    // requests (c's own for frame 4's unpushed keys, and the two keys of frame 1).
    const pushed = ([seq, x]: [number, number]) => seq === 4 && x < 60;
    const firstPush = (l: Array<[number, number]>) => l.findIndex(pushed);
    const asked = (l: Array<[number, number]>) => l.findIndex(([seq, x]) => seq === 1 && x === 250);
    const first = await run(1);
    expect(first.filter(pushed).length).toBeGreaterThan(0);
    expect(first).toContainEqual([1, 251]);
    expect(asked(first)).toBeLessThan(firstPush(first));
    expect(first.slice(firstPush(first)).every(pushed)).toBe(true);
    const fifo = await run(0);
    expect(asked(fifo)).toBeGreaterThan(firstPush(fifo));
  }, 60_000);
});
