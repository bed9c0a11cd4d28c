import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore, type BroadcasterConfig } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, FLAG_INIT_SEGMENT, FLAG_KEY_FRAME, parseMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7) & 0xff);

/** The producer made group g of frame 0 once, and its packets are the true FP(8g … 8g+7). */
function expectProduced(p: PeerCore, frame: Uint8Array, g: number): void {
  expect(p.producer.produced).toBe(1);
  const f = p.framesBySeq.get(0);
  for (let m = 0; m < 8; m++) expect(f?.packets.get(8 * g + m)).toEqual(codec.feedPacket(frame, 8 * g + m));
}

async function setup(viewers: string[], config?: Partial<BroadcasterConfig>) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config });
  h.add('b', b);
  for (const v of viewers) h.add(v, new PeerCore({ peerId: v, codec }));
  return { h, b };
}

describe('pair exchanges (virtual time, real bytes and crypto)', () => {
  it('direct feed: hello, slot, feed packets and manifest give a verified frame', async () => {
    const { h, b } = await setup(['v']);
    h.link('b', 'v');
    const frame = frameBytes(20000, 1);
    b.publishFrame(frame, FLAG_KEY_FRAME, 0, h.now);
    h.flush('b');
    await h.drive(300);
    const got = h.delivered.get('v') ?? [];
    expect(got).toHaveLength(1);
    expect(got[0].frame).toEqual(frame);
    expect(got[0].manifest.flags).toBe(FLAG_KEY_FRAME);
    const types = new Set(h.sent.filter((s) => s.from === 'b').map((s) => s.type));
    expect([...types].sort()).toEqual(['direct-slot', 'feed', 'hello', 'manifest']);
    // Its history says when the keys and the checked manifest were there.
    const [s] = (h.cores.get('v') as PeerCore).recentFrames;
    expect(s.outcome).toBe('done');
    expect(s.keysAfterMs).toBeGreaterThanOrEqual(0);
    expect(s.manifestOkAfterMs).toBeGreaterThanOrEqual(s.manifestAfterMs as number);
    expect(s.tookMs).toBeGreaterThanOrEqual(Math.max(s.keysAfterMs as number, s.manifestOkAfterMs as number));
  });

  it('viewer to viewer: HAVE, request and feed packets; served keys are re-encoded after verification', async () => {
    const { h, b } = await setup(['a', 'c']);
    h.link('b', 'a');
    h.link('a', 'c');
    const frame = frameBytes(30000, 2);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(500);
    expect(h.delivered.get('a')?.[0]?.frame).toEqual(frame);
    expect(h.delivered.get('c')?.[0]?.frame).toEqual(frame);
    const fromA = h.sent.filter((s) => s.from === 'a').map((s) => s.type);
    expect(fromA).toContain('have');
    expect(fromA).toContain('feed');
    expect(fromA).toContain('manifest');
    expect(h.sent.filter((s) => s.from === 'c').map((s) => s.type)).toContain('request');
    // c never talked to the broadcaster: its manifest came from a, which got it from b.
    expect(h.sent.some((s) => s.from === 'b' && s.to === 'c')).toBe(false);
  });

  it('loss on the direct feed is repaired from the broadcaster slot', async () => {
    const { h, b } = await setup(['v']);
    h.link('b', 'v');
    let n = 0;
    h.dropMedia = (from) => from === 'b' && n++ % 5 === 0; // 20 % of the first sends
    b.publishFrame(frameBytes(16000, 3), 0, 0, h.now);
    h.flush('b');
    await h.drive(600);
    expect(h.delivered.get('v')).toHaveLength(1);
    expect(h.sent.filter((s) => s.from === 'v' && s.to === 'b').map((s) => s.type)).toContain('request');
  });

  it('a viewer leaving mid-frame: the others fetch its slot keys from the broadcaster at once, not after stuckMs', async () => {
    const viewers = ['a', 'c', 'd', 'e'];
    const { h, b } = await setup(viewers);
    for (const v of viewers) h.link('b', v);
    for (const [i, v] of viewers.entries()) for (const w of viewers.slice(i + 1)) h.link(v, w);
    b.publishFrame(frameBytes(20000, 5), 0, 0, h.now);
    h.flush('b');
    await h.drive(400);
    for (const v of viewers) expect(h.delivered.get(v)).toHaveLength(1);
    // d is gone: its neighbours notice, the broadcaster not yet (it still sends d's slot, lost).
    for (const v of ['a', 'c', 'e']) h.unlink(v, 'd');
    h.cores.delete('d');
    const t0 = h.now;
    b.publishFrame(frameBytes(20000, 6), 0, 0, h.now);
    h.flush('b');
    await h.drive(t0 + 1500);
    const stuckMs = (h.core('a') as PeerCore).cfg.stuckMs;
    for (const v of ['a', 'c', 'e']) {
      const got = h.delivered.get(v) ?? [];
      expect(got).toHaveLength(2);
      expect(got[1].t - t0, `${v} decoded the frame in flight`).toBeLessThan(stuckMs);
    }
  });

  it('holder and producer: code segments, standing seed subscriptions, produced feed packets', async () => {
    const { h, b } = await setup(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'p']);
    const holders = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9'];
    for (const x of holders) h.link('b', x);
    for (const x of holders) h.link('p', x);
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: [c + 3], producerGroups: [] }, 0));
    const p = h.core('p') as PeerCore;
    p.handleNeighbours(holders.map((x, c) => ({ peerId: x, reasons: ['holder'], holderKeys: [c + 3] })), 0);
    p.handleRoles({ holderKeys: [], producerGroups: [2] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: [c + 3] })) }, 0);
    await h.drive(50);
    const frame = frameBytes(40000, 4);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(400);
    expectProduced(p, frame, 2);
    expect(h.sent.filter((s) => s.type === 'seed' && s.to === 'p')).toHaveLength(9);
    expect(h.sent.filter((s) => s.from === 'b' && s.type === 'cs-chunk')).toHaveLength(9 * 5);
  });

  it('a lost seed: the producer asks that holder again (SEED_REQUEST) and makes its group', async () => {
    // Eight holders of keys 0–7 and no spare: one lost seed would leave the group short for good.
    const holders = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8'];
    const { h, b } = await setup([...holders, 'p', 'q']);
    for (const x of holders) h.link('b', x);
    for (const x of holders) h.link('p', x);
    h.link('q', 'h3');
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: [c], producerGroups: [] }, 0));
    const p = h.core('p') as PeerCore;
    p.handleNeighbours(holders.map((x, c) => ({ peerId: x, reasons: ['holder'], holderKeys: [c] })), 0);
    p.handleRoles({ holderKeys: [], producerGroups: [1] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: [c] })) }, 0);
    await h.drive(50);
    let dropped = 0;
    h.dropMedia = (from, to) => from === 'h3' && to === 'p' && dropped++ === 0;
    const frame = frameBytes(30000, 9);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(400);
    expectProduced(p, frame, 1);
    expect(h.sent.filter((s) => s.type === 'seed-request').map((s) => `${s.from}>${s.to}`)).toEqual(['p>h3']);
    expect(h.sent.filter((s) => s.type === 'seed' && s.from === 'h3' && s.to === 'p')).toHaveLength(2);
    // A peer with no subscription gets nothing for its request, and it counts against it.
    const h3 = h.core('h3') as PeerCore;
    const bad = h3.stats.badMessages;
    h.inject('q', 'h3', encodeMessage({ type: 'seed-request', seq: 0, g: 1 }));
    await h.drive(450);
    expect(h3.stats.badMessages).toBe(bad + 1);
    expect(h.sent.filter((s) => s.type === 'seed' && s.to === 'q')).toHaveLength(0);
  });

  it('a producer that holds keys itself makes their seeds here: a holder gone mid-frame still leaves 8', async () => {
    const { h, b } = await setup(['h1', 'h2', 'h3', 'p']);
    const keysOf: Record<string, number[]> = { h1: [0, 1, 2], h2: [3, 4, 5], h3: [6, 7, 8], p: [9, 10, 11] };
    for (const x of Object.keys(keysOf)) h.link('b', x);
    for (const x of ['h1', 'h2', 'h3']) h.link('p', x);
    for (const [x, ks] of Object.entries(keysOf)) (h.core(x) as PeerCore).handleRoles({ holderKeys: ks, producerGroups: [] }, 0);
    const p = h.core('p') as PeerCore;
    p.handleNeighbours(['h1', 'h2', 'h3'].map((x) => ({ peerId: x, reasons: ['holder'], holderKeys: keysOf[x] })), 0);
    p.handleRoles({ holderKeys: keysOf.p, producerGroups: [2] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: Object.entries(keysOf).map(([peerId, keys]) => ({ peerId, keys })) }, 0);
    await h.drive(50);
    // h3 is gone before its seeds went out: 3 remote seeds + 3 remote seeds + p's own 3.
    h.unlink('p', 'h3');
    const frame = frameBytes(40000, 6);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(400);
    expectProduced(p, frame, 2);
    // Its own keys are not asked of anyone.
    expect(h.sent.filter((s) => s.type === 'seed' && s.to === 'p')).toHaveLength(6);
  });

  it('a producer given a group mid-frame gets the seeds of the frames under way (subscription backfill)', async () => {
    const holders = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9'];
    const { h, b } = await setup([...holders, 'q', 'p']);
    for (const x of holders) h.link('b', x);
    for (const x of holders) h.link('p', x);
    for (const x of holders) h.link('q', x);
    h.link('p', 'q');
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: [c], producerGroups: [] }, 0));
    const p = h.core('p') as PeerCore;
    const q = h.core('q') as PeerCore;
    for (const v of [p, q]) v.handleNeighbours(holders.map((x, c) => ({ peerId: x, reasons: ['holder'], holderKeys: [c] })), 0);
    q.handleRoles({ holderKeys: [], producerGroups: [1] }, 0);
    h.flush('q');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: [c] })) }, 0);
    await h.drive(50);
    const frame = frameBytes(40000, 7);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(150);
    // The frame is under way at p (q offered its keys); the holders pushed their seeds long ago.
    expect(p.framesBySeq.get(0)?.state).toBe('collecting');
    p.handleRoles({ holderKeys: [], producerGroups: [2] }, h.now);
    h.flush('p');
    await h.drive(400);
    expectProduced(p, frame, 2);
  });

  it('the neighbour asked for a manifest leaves before answering: another is asked at once, not after retryMs', async () => {
    // b feeds w and x directly (each gets the manifest); v pulls from both and asks one of them for
    // the manifest, which leaves with the question unanswered.
    const { h, b } = await setup(['w', 'x', 'v']);
    for (const p of ['w', 'x']) {
      h.link('b', p);
      h.link(p, 'v');
    }
    h.link('w', 'x');
    const v = h.core('v') as PeerCore;
    b.publishFrame(frameBytes(20000, 9), 0, 0, h.now);
    h.flush('b');
    const asks = () => h.sent.filter((m) => m.from === 'v' && m.type === 'manifest-request').map((m) => m.to);
    while (asks().length === 0 && h.now < 400) await h.drive(h.now + 1, 1);
    const [first] = asks();
    expect(first).toBeDefined();
    const t0 = h.now;
    h.unlink('v', first);
    while (asks().length < 2 && h.now < t0 + 1000) await h.drive(h.now + 1, 1);
    expect(asks()[1]).toBe(first === 'w' ? 'x' : 'w');
    expect(h.now - t0).toBeLessThan(v.cfg.retryMs / 2);
    await h.drive(t0 + 1000);
    expect(h.delivered.get('v')).toHaveLength(1);
  });

  it('a neighbour dropped from the tracker list: its pending requests are asked of others at once', async () => {
    // b feeds a; c and d pull from a and each other. d falls silent (its link lingers, as after a
    // closed page) while c has requests out to it; the tracker's next list for c lacks d.
    async function scenario(dropFromList: boolean): Promise<{ t: number; stuckOnD: number }> {
      const { h, b } = await setup(['a', 'd']);
      // A small request budget per neighbour makes c spread its requests over a and d.
      h.add('c', new PeerCore({ peerId: 'c', codec, config: { maxInflightPerNeighbour: 12 } }));
      h.link('b', 'a');
      h.link('a', 'c');
      h.link('a', 'd');
      h.link('c', 'd');
      const c = h.core('c') as PeerCore;
      c.handleNeighbours([{ peerId: 'a' }, { peerId: 'd' }], 0);
      h.dropMedia = (from, to) => from === 'd' && to === 'c' && h.now > 10;
      b.publishFrame(frameBytes(60000, 8), 0, 0, h.now);
      h.flush('b');
      const onD = () => (c.framesBySeq.get(0)?.inflight.keys() ?? []).filter((x) => c.framesBySeq.get(0)?.inflight.peerOf(x) === 'd').length;
      while (onD() === 0 && h.now < 400) await h.drive(h.now + 1, 1);
      const stuckOnD = onD();
      if (dropFromList) {
        c.handleNeighbours([{ peerId: 'a' }], h.now);
        expect(onD()).toBe(0);
        h.flush('c');
      }
      await h.drive(1500);
      return { t: h.delivered.get('c')?.[0]?.t ?? Infinity, stuckOnD };
    }
    const kept = await scenario(false);
    const dropped = await scenario(true);
    // A list keeping under half of the neighbours named before is partial (a restarted tracker): nobody is marked.
    const { h } = await setup(['a', 'c', 'd', 'e']);
    for (const x of ['a', 'd', 'e']) h.link('c', x);
    const c = h.core('c') as PeerCore;
    c.handleNeighbours([{ peerId: 'a' }, { peerId: 'd' }, { peerId: 'e' }], 0);
    c.handleNeighbours([{ peerId: 'a' }], 10);
    expect([...c.unlisted]).toEqual([]);
    c.handleNeighbours([{ peerId: 'a' }, { peerId: 'd' }, { peerId: 'e' }], 20);
    c.handleNeighbours([{ peerId: 'a' }, { peerId: 'd' }], 30);
    expect([...c.unlisted]).toEqual(['e']);
    expect(kept.stuckOnD).toBeGreaterThan(0);
    expect(dropped.stuckOnD).toBeGreaterThan(0);
    expect(kept.t).toBeLessThan(Infinity);
    // Without the list the keys asked of d wait out their timeout; with it they come from a at once.
    expect(dropped.t).toBeLessThan(kept.t);
  });

  it("a key moved to a new holder mid-frame: the broadcaster sends it that key's segments of the frames under way", async () => {
    // Keys 0–7 on eight holders; hx (key 7) is gone before the frame, so the producer has 7 seeds.
    const holders = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hx'];
    // No direct-feed overlap after the switch to holder mode: the frame travels by segments only.
    const { h, b } = await setup([...holders, 'hy', 'p'], { overlapFrames: 0 });
    for (const x of [...holders, 'hy']) h.link('b', x);
    for (const x of [...holders, 'hy']) h.link('p', x);
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: [c], producerGroups: [] }, 0));
    const p = h.core('p') as PeerCore;
    const list = (hs: string[]) => hs.map((x, c) => ({ peerId: x, reasons: ['holder'], holderKeys: [c] }));
    p.handleNeighbours(list(holders), 0);
    p.handleRoles({ holderKeys: [], producerGroups: [2] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: [c] })) }, 0);
    await h.drive(50);
    h.unlink('b', 'hx');
    h.unlink('p', 'hx');
    const frame = frameBytes(40000, 9);
    b.publishFrame(frame, 0, 0, h.now);
    h.flush('b');
    await h.drive(200);
    expect(p.producer.produced).toBe(0);
    // The tracker moves key 7 to hy.
    const moved = [...holders.slice(0, 7), 'hy'];
    (h.core('hy') as PeerCore).handleRoles({ holderKeys: [7], producerGroups: [] }, h.now);
    b.handleSwarm({ mode: 'holder', holders: moved.map((x, c) => ({ peerId: x, keys: [c] })) }, h.now);
    h.flush('b');
    p.handleNeighbours(list(moved), h.now);
    h.flush('p');
    await h.drive(500);
    expectProduced(p, frame, 2);
    // Only the moved key's segment went out again.
    const chunks = h.sent.filter((s) => s.from === 'b' && s.type === 'cs-chunk');
    expect(chunks.filter((s) => s.to === 'hy')).toHaveLength(5);
    expect(chunks).toHaveLength(7 * 5 + 5);
  });

  it('a key move seen at different moments by holders, broadcaster and producer costs nobody a bad-message count', async () => {
    const holders = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'];
    const { h, b } = await setup([...holders, 'p'], { overlapFrames: 0 });
    for (const x of holders) {
      h.link('b', x);
      h.link('p', x);
    }
    const p = h.core('p') as PeerCore;
    const layout = (keys: number[][]) => holders.map((x, i) => ({ peerId: x, reasons: ['holder'], holderKeys: keys[i] }));
    const before = holders.map((_, c) => [c]);
    const after = holders.map((_, c) => (c === 6 ? [6, 7] : c === 7 ? [] : [c]));
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: before[c], producerGroups: [] }, 0));
    p.handleNeighbours(layout(before), 0);
    p.handleRoles({ holderKeys: [], producerGroups: [2] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: before[c] })) }, 0);
    await h.drive(50);
    b.publishFrame(frameBytes(30000, 1), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(p.producer.produced).toBe(1);
    // The tracker moves key 7 from h7 to h6. The holders hear first: the broadcaster still sends key 7 to h7.
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: after[c], producerGroups: [] }, h.now));
    b.publishFrame(frameBytes(30000, 2), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    // Then the broadcaster: h6 gets key 7 and sends its seeds to p, whose list still says h6 holds only 6.
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: after[c] })) }, h.now);
    b.publishFrame(frameBytes(30000, 3), 0, 0, h.now);
    h.flush('b');
    await h.drive(h.now + 300);
    expect(h.sent.some((m) => m.from === 'h6' && m.to === 'p' && m.type === 'seed')).toBe(true);
    p.handleNeighbours(layout(after), h.now);
    h.flush('p');
    await h.drive(h.now + 300);
    for (const x of [...holders, 'p']) expect((h.core(x) as PeerCore).stats.badMessages, x).toBe(0);
    expect(h.badPeers).toEqual([]);
    // A peer that is not a holder sending a seed packet is still a bad message.
    const stranger = encodeMessage({ type: 'seed', seq: 0, c: 3, g: 2, payload: new Uint8Array(128) });
    h.add('s', new PeerCore({ peerId: 's', codec }));
    h.link('p', 's');
    h.inject('s', 'p', stranger);
    await h.drive(h.now + 20);
    expect(p.stats.badMessages).toBe(1);
  });

  it('a producer strikes the holder whose seed disagrees', async () => {
    const { h, b } = await setup(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'p']);
    const holders = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10'];
    for (const x of holders) h.link('b', x);
    for (const x of holders) h.link('p', x);
    holders.forEach((x, c) => (h.core(x) as PeerCore).handleRoles({ holderKeys: [c], producerGroups: [] }, 0));
    const p = h.core('p') as PeerCore;
    p.handleNeighbours(holders.map((x, c) => ({ peerId: x, holderKeys: [c] })), 0);
    p.handleRoles({ holderKeys: [], producerGroups: [9] }, 0);
    h.flush('p');
    b.handleSwarm({ mode: 'holder', holders: holders.map((x, c) => ({ peerId: x, keys: [c] })) }, 0);
    h.tamper = (from, bytes, type) => {
      if (from !== 'h4' || type !== 'seed') return bytes;
      const c = bytes.slice();
      c[20] ^= 1;
      return c;
    };
    await h.drive(50);
    b.publishFrame(frameBytes(10000, 5), 0, 0, h.now);
    h.flush('b');
    await h.drive(400);
    expect(h.badPeers.some((x) => x.by === 'p' && x.peerId === 'h4')).toBe(true);
    expect(p.producer.produced).toBe(1);
  });

  it('a late joiner fetches the newest init segment from a neighbour', async () => {
    const { h, b } = await setup(['a', 'late']);
    h.link('b', 'a');
    const init = frameBytes(700, 6);
    b.publishFrame(init, FLAG_INIT_SEGMENT, 0, h.now);
    h.flush('b');
    await h.drive(300);
    h.unlink('b', 'a');
    h.link('a', 'late');
    await h.drive(600);
    const got = h.delivered.get('late') ?? [];
    expect(got.map((d) => d.frame)).toEqual([init]);
    expect(h.sent.filter((s) => s.from === 'late').map((s) => s.type)).toContain('init-request');
  });

  it('a forged manifest earns a strike; garbage bytes are counted and finally banned', async () => {
    const { h, b } = await setup(['v', 'evil']);
    h.link('b', 'v');
    h.link('evil', 'v');
    b.publishFrame(frameBytes(9000, 7), 0, 0, h.now);
    h.flush('b');
    await h.drive(200);
    const v = h.core('v') as PeerCore;
    const seq1 = { seq: 1, length: 100, captureTimeMs: 1, flags: 0, broadcastId: new Uint8Array(8), digest: new Uint8Array(32), signature: new Uint8Array(64).fill(3) };
    h.inject('evil', 'v', encodeMessage({ type: 'manifest', manifest: seq1 }));
    await h.drive(300);
    expect(h.badPeers.some((x) => x.peerId === 'evil' && x.reason.includes('signature'))).toBe(true);
    for (let i = 0; i < 60; i++) h.inject('evil', 'v', new Uint8Array([1, 0x7f, i]));
    await h.drive(400);
    expect(v.isBanned('evil')).toBe(true);
    expect(v.stats.badMessages).toBeGreaterThanOrEqual(50);
    expect(parseMessage(new Uint8Array([1, 0x7f])).ok).toBe(false);
  });

  it('a joining viewer collects only joinBacklogFrames before the newest frame it hears of', async () => {
    const { h, b } = await setup(['a']);
    h.link('b', 'a');
    for (let i = 0; i < 30; i++) {
      b.publishFrame(frameBytes(2000, i), i % 10 === 0 ? FLAG_KEY_FRAME : 0, h.now, h.now);
      h.flush('b');
      await h.drive(100);
    }
    h.add('late', new PeerCore({ peerId: 'late', codec, config: { joinBacklogFrames: 5 } }));
    h.link('a', 'late');
    await h.drive(1500);
    const a = h.core('a') as PeerCore;
    const newest = Math.max(...a.framesBySeq.keys());
    expect(a.framesBySeq.has(newest - 20)).toBe(true); // the neighbour still keeps older frames
    const seqs = (h.delivered.get('late') ?? []).map((d) => d.manifest.seq);
    expect(seqs).toContain(newest);
    expect(Math.min(...seqs)).toBeGreaterThanOrEqual(newest - 5);
    expect(Math.min(...(h.core('late') as PeerCore).framesBySeq.keys())).toBeGreaterThanOrEqual(newest - 5);
  });
});
