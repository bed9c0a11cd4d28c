// Who the broadcaster is comes from the tracker's neighbour list alone: a neighbour's HELLO
// claiming the broadcaster role changes nothing, and its out-of-role messages count as bad.

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

describe('broadcaster role comes from the tracker', () => {
  it("a HELLO with the broadcaster bit does not make a neighbour the broadcaster; its DIRECT_SLOT and CS_CHUNK count as bad", async () => {
    const h = await CoreHarness.create();
    h.add('b', new BroadcasterCore({ codec }));
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.add('evil', new PeerCore({ peerId: 'evil', codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    const v = h.core('v') as PeerCore;
    v.handleRoles({ holderKeys: [3], producerGroups: [] }, h.now);
    await h.drive(20);
    h.inject('evil', 'v', encodeMessage({ type: 'hello', initSeq: 0xffffffff, roles: 1 }));
    await h.drive(h.now + 20);
    h.inject('evil', 'v', encodeMessage({ type: 'direct-slot', slot: 0, slots: 2, keys: 65 }));
    h.inject('evil', 'v', encodeMessage({ type: 'cs-chunk', seq: 0, c: 3, chunk: 0, chunks: 5, payload: new Uint8Array(1024).fill(9) }));
    await h.drive(h.now + 20);
    expect(v.stats.badMessages).toBe(2);
    expect(v.framesBySeq.get(0)?.cs?.get(3)).toBeUndefined();
    // v reports its bans to the broadcaster the tracker named, not to the claimant.
    for (let i = 0; i < 60; i++) h.inject('evil', 'v', new Uint8Array([1, 0x7f]));
    await h.drive(h.now + 20);
    expect(v.isBanned('evil')).toBe(true);
    expect(h.sent.filter((s) => s.from === 'v' && s.type === 'report').map((s) => s.to)).toEqual(['b']);
  });

  it('the broadcaster named by the tracker is trusted for its role messages', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.link('b', 'v');
    b.publishFrame(new Uint8Array(5000).fill(1), 0, 0, 0);
    h.flush('b');
    await h.drive(300);
    expect(h.delivered.get('v')).toHaveLength(1);
    expect((h.core('v') as PeerCore).stats.badMessages).toBe(0);
  });
});
