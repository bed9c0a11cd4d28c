// A holder that missed chunks of its code segment asks the broadcaster for them again (CS_REPAIR):
// the broadcaster answers only a current holder, only for its own segments, only the chunks the mask
// names, each chunk once by repair (asked again: counted as bad), within the frame's repair
// allowance and the neighbour's repair bytes; anyone else, or an unknown frame, gets nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { CS_CHUNK_BYTES, encodeMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + salt * 29) & 0xff);

/** A broadcaster in holder mode with holders h0 (key 0) and h1 (key 1) and a plain viewer v; one frame sent. */
async function setup(config: ConstructorParameters<typeof BroadcasterCore>[0]['config'] = {}, h0Keys = [0]) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config });
  h.add('b', b);
  for (const id of ['h0', 'h1', 'v']) {
    h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('b', id);
  }
  (h.core('h0') as PeerCore).handleRoles({ holderKeys: h0Keys, producerGroups: [] }, 0);
  (h.core('h1') as PeerCore).handleRoles({ holderKeys: [1], producerGroups: [] }, 0);
  b.handleSwarm({ mode: 'holder', holders: [{ peerId: 'h0', keys: h0Keys }, { peerId: 'h1', keys: [1] }] }, 0);
  await h.drive(50);
  const frame = frameBytes(40000, 7); // code segments of 5 chunks
  const seq = b.publishFrame(frame, 0, h.now, h.now);
  h.flush('b');
  await h.drive(h.now + 200);
  /** cs-chunk messages b sent to `to` from index `since` of the log on. */
  const chunksTo = (to: string, since: number) =>
    h.sent.slice(since).filter((s) => s.from === 'b' && s.to === to && s.message.type === 'cs-chunk').map((s) => s.message as Extract<typeof s.message, { type: 'cs-chunk' }>);
  /** Sends a CS_REPAIR from `from` and lets it be answered; returns the chunks answered and the bad-message count added. */
  const ask = async (from: string, m: { seq: number; c: number; mask: number }) => {
    const since = h.sent.length;
    const bad = b.stats.badMessages;
    h.inject(from, 'b', encodeMessage({ type: 'cs-repair', ...m }));
    await h.drive(h.now + 20);
    return { chunks: chunksTo(from, since), bad: b.stats.badMessages - bad };
  };
  return { h, b, seq, frame, ask, chunksTo };
}

describe('CS_REPAIR at the broadcaster', () => {
  it('a holder gets exactly the chunks of its own segment that its mask names, with the right bytes', async () => {
    const { b, seq, frame, ask, chunksTo } = await setup();
    expect(chunksTo('h0', 0).length).toBeGreaterThan(1); // the first send, several chunks
    const cs = codec.codeSegment(frame, 0);
    const served = b.stats.repairsServed;
    const r = await ask('h0', { seq, c: 0, mask: 0b101 });
    expect(r.chunks.map((c) => [c.c, c.chunk])).toEqual([[0, 0], [0, 2]]);
    for (const c of r.chunks) {
      expect(c.chunks).toBe(cs.length / CS_CHUNK_BYTES);
      expect([...c.payload]).toEqual([...cs.subarray(c.chunk * CS_CHUNK_BYTES, (c.chunk + 1) * CS_CHUNK_BYTES)]);
    }
    expect(b.stats.repairsServed - served).toBe(2);
    expect(r.bad).toBe(0);
    // A mask bit past the segment's last chunk names nothing: bit 5 (the 6th of 5 chunks) and bit 7.
    expect((await ask('h0', { seq, c: 0, mask: 1 << 5 })).chunks).toEqual([]);
    expect((await ask('h0', { seq, c: 0, mask: 0x80 })).chunks).toEqual([]);
  });

  it('a chunk asked again is not served and counts as a bad message; the others still are', async () => {
    const { seq, ask } = await setup();
    expect((await ask('h0', { seq, c: 0, mask: 0b1 })).chunks).toHaveLength(1);
    const again = await ask('h0', { seq, c: 0, mask: 0b11 });
    expect(again.chunks.map((c) => c.chunk)).toEqual([1]);
    expect(again.bad).toBe(1);
  });

  it("nothing for another holder's segment, for a viewer that holds no key, or for an unknown frame", async () => {
    const { seq, ask } = await setup();
    expect((await ask('h0', { seq, c: 1, mask: 0b1 })).chunks).toEqual([]);
    expect((await ask('v', { seq, c: 0, mask: 0b1 })).chunks).toEqual([]);
    expect((await ask('h0', { seq: seq + 1000, c: 0, mask: 0b1 })).chunks).toEqual([]);
    // The holder of key 1 is served its own.
    expect((await ask('h1', { seq, c: 1, mask: 0b1 })).chunks.map((c) => [c.c, c.chunk])).toEqual([[1, 0]]);
  });

  it('repair requests for one frame stop at maxRepairsPerFrame x 4, the one beyond counted as bad', async () => {
    const { b, seq, ask } = await setup();
    const limit = b.cfg.maxRepairsPerFrame * 4;
    // Requests naming only a chunk past the segment's 5: nothing to serve, nothing bad, but each
    // one uses the frame's allowance.
    for (let i = 0; i < limit; i++) {
      const r = await ask('h0', { seq, c: 0, mask: 0x80 });
      expect(r).toEqual({ chunks: [], bad: 0 });
    }
    const over = await ask('h0', { seq, c: 0, mask: 0xff });
    expect(over.chunks).toEqual([]);
    expect(over.bad).toBe(1);
  });
});

describe('CS_REPAIR within the repair bytes', () => {
  it('an allowance of exactly 2 chunks serves 2 of the 5 asked, then nothing', async () => {
    // repairBurstBytes / 4 = 2048 = 2 chunks; no share of the frame added (repairShare 0).
    const { seq, ask } = await setup({ repairBurstBytes: 8 * CS_CHUNK_BYTES, repairShare: 0 });
    expect((await ask('h0', { seq, c: 0, mask: 0b11111 })).chunks.map((c) => c.chunk)).toEqual([0, 1]);
    expect((await ask('h0', { seq, c: 0, mask: 0b11100 })).chunks).toEqual([]);
  });

  it('each (segment, chunk) is its own: chunk 1 of segment 0 and chunk 0 of segment 8 are both served', async () => {
    const { seq, ask } = await setup({}, [0, 8]);
    expect((await ask('h0', { seq, c: 0, mask: 0b10 })).chunks.map((c) => [c.c, c.chunk])).toEqual([[0, 1]]);
    expect((await ask('h0', { seq, c: 8, mask: 0b1 })).chunks.map((c) => [c.c, c.chunk])).toEqual([[8, 0]]);
    expect((await ask('h0', { seq, c: 8, mask: 0b10 })).chunks.map((c) => [c.c, c.chunk])).toEqual([[8, 1]]);
  });

  it('a chunk asked again is the reason named when it bans the holder', async () => {
    const { h, seq, ask } = await setup({ badMessagesToBan: 1 });
    await ask('h0', { seq, c: 0, mask: 0b1 });
    await ask('h0', { seq, c: 0, mask: 0b1 });
    expect(h.badPeers.filter((p) => p.by === 'b').map((p) => [p.peerId, p.banned, p.reason])).toEqual([['h0', true, 'too many bad messages (last: code-segment chunk asked again)']]);
  });
});
