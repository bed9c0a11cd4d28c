// A feed packet's size is proven only by the frame's verified manifest (pair harness, virtual time,
// real codec and crypto). A neighbour that sends packets of another size before the manifest fixes
// the frame's packet size until the manifest verifies; the packets of the right size that arrive
// meanwhile (the broadcaster's own) are dropped but never counted against their sender. When the
// manifest verifies, the packets it disproves are dropped and each counted against its sender
// (frame-verifier.ts), and the frame is collected and delivered as usual. Before this rule, two
// such packets made the viewer count every direct packet of the frame against the broadcaster and
// ban it.

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

describe('packets of another size than the manifest says', () => {
  it("sent before the manifest: the sender counted once per packet when the manifest verifies, the broadcaster's packets never, the frame delivered", async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec });
    h.add('b', b);
    for (const id of ['v', 'evil']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    const v = h.core('v') as PeerCore;
    const counted: string[] = [];
    const vv = v as unknown as { countBad(p: string, r: string): void };
    const count = vv.countBad.bind(vv);
    vv.countBad = (p, r) => {
      counted.push(`${p}: ${r}`);
      count(p, r);
    };
    b.publishFrame(frameBytes(4000, 0), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(h.delivered.get('v')).toHaveLength(1);
    // Frame 1 is 4000 bytes (packets of 128); evil sends two of 256 before it is published.
    for (const x of [3, 4]) h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: 1, x, payload: new Uint8Array(256) }));
    await h.drive(h.now + 20);
    const frame = frameBytes(4000, 1);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 1000);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([frameBytes(4000, 0), frame]);
    expect(counted).toEqual(['evil: feed packet of the wrong size', 'evil: feed packet of the wrong size']);
    expect(h.badPeers.filter((x) => x.by === 'v')).toEqual([]);
    expect(v.policy.badScore('b', h.now)).toBe(0);
  });

  it('sent after the manifest verified: counted at once', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { directSpareKeys: 0 } });
    h.add('b', b);
    for (const id of ['v', 'evil']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', 'v');
    h.link('evil', 'v');
    const v = h.core('v') as PeerCore;
    const counted: string[] = [];
    const vv = v as unknown as { countBad(p: string, r: string): void };
    const count = vv.countBad.bind(vv);
    vv.countBad = (p, r) => {
      counted.push(`${p}: ${r}`);
      count(p, r);
    };
    // Dropped direct packets keep frame 0 collecting with its manifest verified.
    h.dropMedia = (from) => from === 'b';
    b.publishFrame(frameBytes(4000, 0), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 30);
    const f0 = (v as unknown as { framesBySeq: Map<number, { manifestOkMs: number; state: string }> }).framesBySeq.get(0);
    expect(f0?.manifestOkMs).toBeGreaterThanOrEqual(0);
    expect(f0?.state).toBe('collecting');
    h.inject('evil', 'v', encodeMessage({ type: 'feed', seq: 0, x: 3, payload: new Uint8Array(256) }));
    await h.drive(h.now + 10);
    expect(counted).toEqual(['evil: feed packet of the wrong size']);
  });
});
