// Replay of an earlier broadcast: manifests carry a signed broadcast id; a viewer told the current
// one by the tracker refuses manifests and init segments of any other (same stream key or not).

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, FLAG_INIT_SEGMENT } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const OLD = Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1]);
const NOW = Uint8Array.from([2, 3, 4, 5, 6, 7, 8, 9]);

describe('broadcast id', () => {
  it('a viewer refuses the manifests and init segment of an earlier broadcast, counted against the sender', async () => {
    const h = await CoreHarness.create();
    // The earlier broadcast, same stream key: its messages are recorded.
    const old = new BroadcasterCore({ codec, broadcastId: OLD });
    h.add('old', old);
    h.add('rec', new PeerCore({ peerId: 'rec', codec }));
    h.link('old', 'rec');
    old.publishFrame(new Uint8Array(900).fill(5), FLAG_INIT_SEGMENT, 0, 0);
    old.publishFrame(new Uint8Array(3000).fill(6), 0, 0, 0);
    h.flush('old');
    await h.drive(300);
    const recorded = h.sent.filter((s) => s.from === 'old' && s.type === 'manifest').map((s) => s.message);
    expect(recorded.length).toBe(2);
    // The current broadcast.
    const b = new BroadcasterCore({ codec, broadcastId: NOW });
    h.add('b', b);
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    const v = h.core('v') as PeerCore;
    v.handleBroadcast(NOW, h.now);
    h.link('b', 'v');
    h.link('evil', 'v');
    const init = new Uint8Array(800).fill(9);
    b.publishFrame(init, FLAG_INIT_SEGMENT, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([init]);
    // evil replays the earlier broadcast's manifests and its init segment (a higher seq would win).
    const oldInit = recorded[0];
    if (oldInit.type !== 'manifest') throw new Error('not a manifest');
    for (const m of recorded) h.inject('evil', 'v', encodeMessage(m));
    h.inject('evil', 'v', encodeMessage({ type: 'init-segment', manifest: { ...oldInit.manifest, seq: 5 }, frame: new Uint8Array(900).fill(5) }));
    h.inject('evil', 'v', encodeMessage({ type: 'init-segment', manifest: oldInit.manifest, frame: new Uint8Array(900).fill(5) }));
    await h.drive(h.now + 300);
    expect(v.stats.badMessages).toBe(4);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([init]);
    expect(recorded.every((m) => m.type === 'manifest' && !v.framesBySeq.get(m.manifest.seq)?.manifest?.broadcastId.every((x, i) => x === OLD[i]))).toBe(true);
  });

  it('the broadcast id is signed: a manifest whose id was changed fails verification', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, broadcastId: NOW });
    h.add('b', b);
    h.add('x', new PeerCore({ peerId: 'x', codec }));
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    h.link('b', 'x');
    b.publishFrame(new Uint8Array(3000).fill(1), 0, 0, 0);
    h.flush('b');
    await h.drive(100);
    const m = h.sent.find((s) => s.from === 'b' && s.type === 'manifest')?.message;
    if (m?.type !== 'manifest') throw new Error('no manifest');
    h.link('evil', 'v');
    (h.core('v') as PeerCore).handleBroadcast(OLD, h.now);
    h.inject('evil', 'v', encodeMessage({ type: 'manifest', manifest: { ...m.manifest, broadcastId: OLD } }));
    await h.drive(h.now + 100);
    expect(h.badPeers.some((x) => x.peerId === 'evil' && x.reason.includes('signature'))).toBe(true);
  });

  it('a broadcaster core takes an 8-byte broadcast id only', () => {
    expect(() => new BroadcasterCore({ codec, broadcastId: new Uint8Array(7) })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
