// The ban policy as the cores apply it, at its edges, in the pair harness (virtual time, real bytes
// and crypto): the broadcaster drops a neighbour at its 50th bad message and not its 49th, and
// never takes it back; a viewer's first proven bad frame is a strike, its second a ban; a banned
// neighbour's messages and reconnections are ignored.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { KeySet } from './key-set.ts';
import { signManifest } from './manifest.ts';
import { streamHashOf } from './crypto-jobs.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);
const garbage = (i: number) => new Uint8Array([1, 0x7f, i & 0xff]);

describe('broadcaster ban threshold', () => {
  it('49 bad messages keep a neighbour, the 50th drops it for good', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    h.link('b', 'evil');
    expect(b.cfg.badMessagesToBan).toBe(50);
    for (let i = 0; i < 49; i++) h.inject('evil', 'b', garbage(i));
    await h.drive(h.now + 20);
    expect(h.badPeers.filter((x) => x.by === 'b')).toEqual([]);
    expect(b.stats.badMessages).toBe(49);
    h.inject('evil', 'b', garbage(49));
    await h.drive(h.now + 20);
    expect(h.badPeers.filter((x) => x.by === 'b').map((x) => [x.peerId, x.banned])).toEqual([['evil', true]]);
    expect(h.badPeers.find((x) => x.by === 'b')?.reason).toMatch(/^too many bad messages \(last: /);
    // Dropped: no feed for it, and a reconnection is refused.
    b.handlePeerConnected('evil', h.now);
    h.flush('b');
    const before = h.sent.length;
    b.publishFrame(frameBytes(4000, 1), 0, 0, h.now);
    h.flush('b');
    expect(h.sent.slice(before).filter((s) => s.to === 'evil')).toEqual([]);
    // Further bad messages neither count against it again nor ban it twice.
    for (let i = 0; i < 60; i++) h.inject('evil', 'b', garbage(i));
    await h.drive(h.now + 20);
    expect(h.badPeers.filter((x) => x.by === 'b')).toHaveLength(1);
  });

  it('a configured threshold is the one applied (3: the 2nd keeps, the 3rd drops)', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { badMessagesToBan: 3 } });
    h.add('b', b);
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    h.link('b', 'evil');
    h.inject('evil', 'b', garbage(0));
    h.inject('evil', 'b', garbage(1));
    await h.drive(h.now + 20);
    expect(h.badPeers.filter((x) => x.by === 'b')).toEqual([]);
    h.inject('evil', 'b', garbage(2));
    await h.drive(h.now + 20);
    expect(h.badPeers.filter((x) => x.by === 'b').map((x) => x.banned)).toEqual([true]);
  });
});

describe('viewer strikes', () => {
  async function viewer() {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['v', 'evil']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    b.publishFrame(frameBytes(4000, 1), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(h.delivered.get('v')).toHaveLength(1);
    return { h, b, v: h.core('v') as PeerCore };
  }

  /** A manifest of frame seq with a signature that does not verify. */
  async function forged(h: CoreHarness, b: BroadcasterCore, seq: number) {
    const m = await signManifest(h.key, streamHashOf(h.key.streamId), { seq, frame: frameBytes(4000, seq), captureTimeMs: 0, flags: 0, broadcastId: b.broadcastId });
    const signature = m.signature.slice();
    signature[3] ^= 1;
    return encodeMessage({ type: 'manifest', manifest: { ...m, signature } });
  }

  it('a bad signature is a strike (reported, not banned); a second bans and the neighbour is ignored after', async () => {
    const { h, b, v } = await viewer();
    h.inject('evil', 'v', await forged(h, b, 1));
    await h.drive(h.now + 50);
    expect(h.badPeers.filter((x) => x.by === 'v').map((x) => [x.peerId, x.banned])).toEqual([['evil', false]]);
    expect(v.isBanned('evil')).toBe(false);
    expect(v.policy.strikesOf('evil')).toBe(1);
    expect(v.stats.strikes).toBe(1);
    expect(h.badPeers.find((x) => x.by === 'v')?.reason).toMatch(/signature/);
    h.inject('evil', 'v', await forged(h, b, 2));
    await h.drive(h.now + 50);
    expect(h.badPeers.filter((x) => x.by === 'v').map((x) => [x.peerId, x.banned])).toEqual([['evil', false], ['evil', true]]);
    expect(v.isBanned('evil')).toBe(true);
    expect(v.stats.bans).toBe(1);
    // The broadcaster hears of the ban.
    expect(h.sent.some((s) => s.from === 'v' && s.to === 'b' && s.message.type === 'report' && s.message.peerId === 'evil')).toBe(true);
    // Ignored after: its requests go unanswered, its reconnection is refused.
    const before = h.sent.length;
    h.inject('evil', 'v', encodeMessage({ type: 'request', seq: 0, count: 10, allowed: KeySet.of([0, 1, 2]).toBytes() }));
    await h.drive(h.now + 50);
    v.handlePeerConnected('evil', h.now);
    h.flush('v');
    expect(h.sent.slice(before).filter((s) => s.from === 'v' && s.to === 'evil')).toEqual([]);
    expect(h.badPeers.filter((x) => x.by === 'v')).toHaveLength(2);
  });

  it('49 garbage messages and one strike: the strike is not a ban, the 50th message is', async () => {
    const { h, b, v } = await viewer();
    for (let i = 0; i < 49; i++) h.inject('evil', 'v', garbage(i));
    await h.drive(h.now + 20);
    h.inject('evil', 'v', await forged(h, b, 1));
    await h.drive(h.now + 50);
    expect(v.isBanned('evil')).toBe(false);
    h.inject('evil', 'v', garbage(49));
    await h.drive(h.now + 20);
    expect(v.isBanned('evil')).toBe(true);
    const ban = h.badPeers.filter((x) => x.by === 'v' && x.banned);
    expect(ban).toHaveLength(1);
    expect(ban[0].reason).toMatch(/^too many bad messages \(last: /);
  });
});
