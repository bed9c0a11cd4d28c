// A broadcaster that starts over (a reloaded page) numbers its frames from a point far above the
// viewers' window (sequence numbers follow wall-clock time, so none is reused). Viewers follow it:
// the broadcaster named by the tracker may move the window with a manifest that verifies.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

async function publish(h: CoreHarness, id: string, b: BroadcasterCore, count: number, salt = 0): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < count; i++) {
    seqs.push(b.publishFrame(frameBytes(3000, salt + i), 0, h.now, h.now));
    h.flush(id);
    await h.drive(h.now + 100);
  }
  return seqs;
}

describe('a broadcaster that starts over', () => {
  it('is followed from far above the window, by its direct viewer and by a viewer fed only through it', async () => {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, firstSeq: 100 });
    h.add('b', b);
    h.add('v', new PeerCore({ peerId: 'v', codec }));
    h.add('w', new PeerCore({ peerId: 'w', codec }));
    h.link('b', 'v');
    h.link('v', 'w');
    await publish(h, 'b', b, 3);
    h.unlink('b', 'v');
    // The reloaded page: a new core, numbering from far above (more than any window ahead).
    const b2 = new BroadcasterCore({ codec, firstSeq: 100 + 20_000 });
    h.add('b2', b2);
    h.link('b2', 'v');
    await h.drive(h.now + 200);
    const fresh = await publish(h, 'b2', b2, 4, 50);
    await h.drive(h.now + 2000);
    for (const id of ['v', 'w']) {
      const seqs = (h.delivered.get(id) ?? []).map((d) => d.manifest.seq);
      expect(seqs).toEqual(expect.arrayContaining([100, 101, 102, ...fresh.slice(1)]));
      expect((h.core(id) as PeerCore).stats.badMessages).toBe(0);
    }
  });
});
