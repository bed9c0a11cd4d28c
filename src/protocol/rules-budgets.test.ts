// The broadcaster's repair budget at its edges (pair harness in virtual time, real bytes): a
// directly fed viewer gets back only keys of its own slot or beyond the direct set (the key just
// below the direct set's end is another slot's, the one at it an extra), never more than it asked
// (count), each key at most twice, at most maxRepairsPerFrame × 4 requests per frame (the 8th is
// served, the 9th is not and counts against it), and only while its repair allowance lasts.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore, type BroadcasterConfig } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { KeySet } from './key-set.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

/** Broadcaster and viewers a (slot 0) and c (slot 1) after one 8000-byte frame: 65 direct keys. */
async function twoSlots(config?: Partial<BroadcasterConfig>) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config });
  h.add('b', b);
  for (const id of ['a', 'c']) {
    h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', id);
  }
  b.publishFrame(frameBytes(8000, 1), 0, 0, h.now);
  h.flush('b');
  await h.drive(h.now + 200);
  /** Sends a request from `who` and returns the keys the broadcaster answered with. */
  const ask = async (who: string, keys: number[], count = 255): Promise<number[]> => {
    const from = h.sent.length;
    h.inject(who, 'b', encodeMessage({ type: 'request', seq: 0, count, allowed: KeySet.of(keys).toBytes() }));
    await h.drive(h.now + 20);
    return h.sent.slice(from).flatMap((s) => (s.from === 'b' && s.to === who && s.message.type === 'feed' ? [s.message.x] : []));
  };
  return { h, b, ask };
}

describe('broadcaster repairs', () => {
  it('own slot keys and extras only: not another slot\'s keys', async () => {
    const { ask } = await twoSlots();
    // a holds slot 0 of 2 (even keys below 65); 1 and 3 are c's; 65 and 66 are beyond the direct set.
    expect(await ask('a', [0, 1, 2, 3, 4, 65, 66])).toEqual([0, 2, 4, 65, 66]);
    expect(await ask('c', [0, 1, 2, 3])).toEqual([1, 3]);
  });

  it('the direct set ends at 64 + directSpareKeys: key 64 is slot 0\'s, key 65 the first extra', async () => {
    const { b, ask } = await twoSlots();
    expect(b.cfg.directSpareKeys).toBe(1);
    expect(await ask('c', [64, 65])).toEqual([65]);
    expect(await ask('a', [64])).toEqual([64]);
  });

  it('never more keys than asked for', async () => {
    const { ask } = await twoSlots();
    expect(await ask('a', [0, 2, 4, 6, 8], 3)).toEqual([0, 2, 4]);
    expect(await ask('a', [70, 71], 1)).toEqual([70]);
  });

  it('a key twice at most; the third ask counts against the asker', async () => {
    const { b, ask } = await twoSlots();
    expect(await ask('a', [0])).toEqual([0]);
    expect(await ask('a', [0])).toEqual([0]);
    const bad = b.stats.badMessages;
    expect(await ask('a', [0])).toEqual([]);
    expect(b.stats.badMessages).toBe(bad + 1);
  });

  it('maxRepairsPerFrame × 4 requests per frame: the 8th is answered, the 9th refused and counted', async () => {
    const { b, ask } = await twoSlots();
    expect(b.cfg.maxRepairsPerFrame * 4).toBe(8);
    for (let i = 0; i < 8; i++) expect(await ask('a', [80 + i]), `request ${i + 1}`).toEqual([80 + i]);
    const bad = b.stats.badMessages;
    expect(await ask('a', [90])).toEqual([]);
    expect(b.stats.badMessages).toBe(bad + 1);
    // c's count is its own.
    expect(await ask('c', [91])).toEqual([91]);
  });

  it('the repair allowance bounds the bytes: a 1000-byte allowance is 7 packets of 128 bytes', async () => {
    const { b, ask } = await twoSlots({ repairBurstBytes: 4000 });
    expect(b.cfg.repairBurstBytes / 4).toBe(1000);
    // The frame itself added 8000 × 0.08 / 2 = 320 bytes: 1320 in all, 10 packets.
    const got = await ask('a', Array.from({ length: 40 }, (_, i) => 100 + i));
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
    expect(await ask('a', [200])).toEqual([]);
  });

  it('a neighbour without a slot in the frame gets nothing', async () => {
    const { h, b, ask } = await twoSlots();
    h.add('late', new PeerCore({ peerId: 'late', codec }));
    h.link('b', 'late');
    await h.drive(h.now + 20);
    const bad = b.stats.badMessages;
    expect(await ask('late', [0, 1, 65])).toEqual([]);
    expect(b.stats.badMessages).toBe(bad);
  });
});

/** A neighbour that sends only what the test injects in its name (its own requests would use up its budget). */
const silent = () =>
  ({
    handleNeighbours() {},
    handlePeerConnected() {},
    handlePeerDisconnected() {},
    handleMessage() {},
    handleCryptoResult() {},
    handleBufferedAmount() {},
    handleTimeout() {},
    nextTimeout: () => undefined,
    pollOutput: () => undefined,
  }) as unknown as PeerCore;

describe('a viewer serving pull requests', () => {
  /** v has verified frame 0 (20000 bytes); evil is linked to v and asks only what the test sends. */
  async function served() {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.add('evil', silent());
    h.link('b', 'v');
    h.link('evil', 'v');
    b.publishFrame(frameBytes(20000, 1), 0, 0, 0);
    h.flush('b');
    await h.drive(300);
    expect(h.delivered.get('v')).toHaveLength(1);
    const v = h.core('v') as PeerCore;
    const ask = async (keys: number[], count = 255): Promise<number[]> => {
      const from = h.sent.length;
      h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 0, count, allowed: KeySet.of(keys).toBytes() }));
      await h.drive(h.now + 20);
      return h.sent.slice(from).flatMap((s) => (s.from === 'v' && s.to === 'evil' && s.message.type === 'feed' ? [s.message.x] : []));
    };
    return { h, v, ask };
  }
  const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

  it('count keys, lowest first; each key twice; the excess refused and counted once per request', async () => {
    const { v, ask } = await served();
    expect(await ask(range(0, 10), 5)).toEqual(range(0, 5));
    expect(await ask(range(0, 10), 5)).toEqual(range(0, 5));
    const bad = v.stats.badMessages;
    expect(await ask(range(0, 10), 7)).toEqual(range(5, 5));
    expect(v.stats.badMessages).toBe(bad + 1);
  });

  it('96 keys of a frame in all: after 90, a request for 10 new keys gets 6', async () => {
    const { v, ask } = await served();
    expect(await ask(range(100, 90))).toEqual(range(100, 90));
    const bad = v.stats.badMessages;
    expect(await ask(range(0, 10))).toEqual(range(0, 6));
    expect(v.stats.badMessages).toBe(bad + 1);
    expect(await ask([50])).toEqual([]);
  });

  it('a frame it does not have: nothing, and no count against the asker', async () => {
    const { h, v } = await served();
    const bad = v.stats.badMessages;
    const from = h.sent.length;
    h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 5, count: 10, allowed: KeySet.of(range(0, 10)).toBytes() }));
    await h.drive(h.now + 20);
    expect(h.sent.slice(from).filter((s) => s.from === 'v' && s.to === 'evil' && s.message.type === 'feed')).toEqual([]);
    expect(v.stats.badMessages).toBe(bad);
  });
});
