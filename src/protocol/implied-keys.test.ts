// Implied zero keys: the systematic keys past a frame's signed length are all zero, nobody sends
// them, a viewer holds them once the manifest verifies (never on an unverified length), decoding
// with them gives the same bytes as decoding with the real packets, and the counters (keys held,
// requests in flight, the broadcaster's slot loss and MISSING reports) stay right.

import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createCodec, createReferenceCodec, type Codec } from '../codec/index.ts';
import { signManifest } from './manifest.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { streamHashOf } from './crypto-jobs.ts';
import { directSlotKeys } from './frame-state.ts';
import { dataParts, impliedKeyCount, isImpliedKey } from './implied-keys.ts';
import { KeySet } from './key-set.ts';
import { PeerCore, sameBytes } from './peer-core.ts';
import { BROADCAST_ID_BYTES, encodeMessage, packetSizeOf, parseMessage, type WireMessage } from './wire.ts';

let codec: Codec;
/** The WebAssembly codec (held to the reference elsewhere) for the property test: big frames decode fast. */
let fast: Codec;
beforeAll(async () => {
  codec = createReferenceCodec();
  fast = await createCodec();
});

const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => ((i * 31 + salt * 7) & 0xff) | 1);
const feedX = (m: WireMessage) => (m.type === 'feed' ? m.x : -1);

describe('which keys are implied', () => {
  it('the systematic keys from ceil(L / P) to 63, and no key of an empty frame', () => {
    expect(dataParts(0)).toBe(0);
    expect(impliedKeyCount(0)).toBe(0);
    for (let x = 0; x < 256; x++) expect(isImpliedKey(x, 0)).toBe(false);
    expect(dataParts(1)).toBe(1);
    expect(impliedKeyCount(1)).toBe(63);
    expect(dataParts(128)).toBe(1);
    expect(dataParts(129)).toBe(2);
    expect(dataParts(8192)).toBe(64);
    expect(impliedKeyCount(8192)).toBe(0);
    // P doubles past 8192: 8193 bytes fill 33 parts of 256.
    expect(dataParts(8193)).toBe(33);
    expect(dataParts(65536)).toBe(64);
    expect(isImpliedKey(63, 100)).toBe(true);
    expect(isImpliedKey(0, 100)).toBe(false);
    expect(isImpliedKey(64, 100)).toBe(false);
    expect(isImpliedKey(255, 1)).toBe(false);
  });

  it('an implied key is all zero, and decoding with zeros for them gives the same frame (any L, any decode set)', () => {
    const boundaries = [1, 2, 127, 128, 129, 255, 256, 257, 4095, 4096, 8191, 8192, 8193, 8448, 16384, 16385, 40000, 65535, 65536];
    const length = fc.oneof(fc.constantFrom(...boundaries), fc.integer({ min: 1, max: 65536 }));
    fc.assert(
      fc.property(length, fc.integer({ min: 0, max: 0xffff }), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 }), (L, salt, picks) => {
        const F = Uint8Array.from({ length: L }, (_, i) => (i * 131 + salt) & 0xff);
        const P = packetSizeOf(L);
        const real = dataParts(L);
        expect(impliedKeyCount(L)).toBe(64 - real);
        for (let x = real; x < 64; x++) expect(fast.feedPacket(F, x).every((b) => b === 0)).toBe(true);
        // The part that straddles L is not implied: it has frame bytes.
        expect(fast.feedPacket(F, real - 1).some((b) => b !== 0) || F.subarray((real - 1) * P).every((b) => b === 0)).toBe(true);
        // A decode set of `real` distinct non-implied keys drawn from picks (systematic and coded).
        const keys = new Set<number>();
        for (const p of picks) {
          const x = p < 64 ? p % real : p;
          if (keys.size < real) keys.add(x);
        }
        for (let x = 64; keys.size < real; x++) keys.add(x);
        const without = new Map<number, Uint8Array>();
        const withZeros = new Map<number, Uint8Array>();
        for (const x of keys) {
          const pk = fast.feedPacket(F, x);
          without.set(x, pk);
          withZeros.set(x, pk);
        }
        for (let x = real; x < 64; x++) {
          without.set(x, fast.feedPacket(F, x));
          withZeros.set(x, new Uint8Array(P));
        }
        const a = fast.decodeFrame(without, L);
        const b = fast.decodeFrame(withZeros, L);
        // (Compared byte by byte: a deep equality of 64 KiB arrays is slow.)
        expect(sameBytes(b, a)).toBe(true);
        expect(sameBytes(b, F)).toBe(true);
      }),
      { numRuns: 200, seed: 12 },
    );
  });
});

async function pair(viewers: string[], config?: ConstructorParameters<typeof BroadcasterCore>[0]['config']) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec, config });
  h.add('b', b);
  for (const v of viewers) h.add(v, new PeerCore({ peerId: v, codec }));
  return { h, b };
}

describe('nobody sends implied keys', () => {
  it('direct feed and the exchange: the broadcaster and the viewers send no implied key, and every viewer decodes the frame', async () => {
    const { h, b } = await pair(['a', 'c', 'd'], { directSpareKeys: 2 });
    h.link('b', 'a');
    h.link('b', 'c');
    h.link('a', 'c');
    h.link('a', 'd');
    h.link('c', 'd');
    const lengths = [1, 100, 3000, 8191, 8193, 20000];
    const frames = lengths.map((L, i) => frameBytes(L, i));
    for (const F of frames) {
      b.publishFrame(F, 0, h.now, h.now);
      h.flush('b');
      await h.drive(h.now + 200);
    }
    await h.drive(h.now + 600);
    for (const v of ['a', 'c', 'd']) expect((h.delivered.get(v) ?? []).map((d) => d.frame)).toEqual(frames);
    const implied = h.sent.filter((s) => s.type === 'feed' && s.message.type === 'feed' && isImpliedKey(s.message.x, lengths[s.message.seq]));
    expect(implied.map((s) => `${s.from}→${s.to} ${feedX(s.message)}`)).toEqual([]);
    // The broadcaster sent the data parts and the spare keys of each frame, once.
    const direct = h.sent.filter((s) => s.from === 'b' && s.type === 'feed');
    expect(direct.length).toBe(lengths.reduce((n, L) => n + dataParts(L) + 2, 0));
    expect(b.upload.directData).toBe(lengths.reduce((n, L) => n + L, 0));
  });

  it('a viewer that asked for its slot keys before the manifest came holds the implied ones after it: nothing lost, nothing left in flight', async () => {
    const { h, b } = await pair(['v'], { directSpareKeys: 1 });
    h.link('b', 'v');
    const empty = encodeMessage({ type: 'have', entries: [] });
    // Every systematic key of the direct feed and the manifest first-hand go missing: the viewer,
    // holding only the spare key and no hint of L, asks for its whole slot before it knows L.
    h.tamper = (from, bytes, type) => {
      if (from !== 'b' || h.now >= 50) return bytes;
      if (type === 'manifest') return empty;
      const r = parseMessage(bytes);
      return r.ok && r.message.type === 'feed' && r.message.x < 64 ? empty : bytes;
    };
    const F = frameBytes(3000, 5);
    b.publishFrame(F, 0, 0, 0);
    h.flush('b');
    await h.drive(800);
    const v = h.core('v') as PeerCore;
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([F]);
    // It did ask for implied keys (the case under test) …
    const asked = h.sent.filter((s) => s.from === 'v' && s.message.type === 'request').flatMap((s) => (s.message.type === 'request' ? KeySet.fromBytes(s.message.allowed).toArray() : []));
    expect(asked.some((x) => isImpliedKey(x, 3000))).toBe(true);
    // … the broadcaster sent none, and the viewer gave them up without counting them as lost.
    expect(h.sent.filter((s) => s.from === 'b' && s.message.type === 'feed' && isImpliedKey(s.message.x, 3000))).toEqual([]);
    expect(v.stats.keysTimedOut).toBe(0);
    expect(v.neighbours.get('b')?.inflight).toBe(0);
    // (Its slot's real keys, lost on the way, were asked for and count as the slot's loss; the implied ones do not.)
    expect(b.stats.slotKeysAsked).toBe(dataParts(3000));
    expect(b.stats.badMessages).toBe(0);
    const f = v.framesBySeq.get(0);
    expect(f?.state).toBe('done');
    expect(f?.keysMs).toBeGreaterThanOrEqual(0);
  });
});

describe('only a verified length implies zeros', () => {
  /** A viewer v with neighbours n and e whose bytes the test writes; the stream key of the harness signs. */
  async function viewer() {
    const h = await CoreHarness.create();
    for (const id of ['v', 'n', 'e']) h.add(id, new PeerCore({ peerId: id, codec }));
    h.link('n', 'v');
    h.link('e', 'v');
    const sign = (seq: number, frame: Uint8Array) =>
      signManifest(h.key, streamHashOf(h.key.streamId), { seq, frame, captureTimeMs: 0, flags: 0, broadcastId: new Uint8Array(BROADCAST_ID_BYTES) });
    return { h, v: h.core('v') as PeerCore, sign };
  }

  it('a manifest with a bad signature (a made-up short length) implies nothing; the true one then does', async () => {
    const { h, v, sign } = await viewer();
    const F = frameBytes(8000, 9);
    const good = await sign(0, F);
    const lie = { ...(await sign(0, F.subarray(0, 100))), signature: new Uint8Array(good.signature.length) };
    h.inject('e', 'v', encodeMessage({ type: 'manifest', manifest: lie }));
    for (let x = 0; x < 8; x++) h.inject('n', 'v', encodeMessage({ type: 'feed', seq: 0, x, payload: codec.feedPacket(F, x) }));
    await h.drive(h.now + 50);
    const f = v.framesBySeq.get(0);
    expect(f?.manifest).toBeUndefined();
    expect(f?.have.toArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The true manifest (L = 8000: 63 data parts of 128, key 63 implied) and the rest of the keys.
    h.inject('n', 'v', encodeMessage({ type: 'manifest', manifest: good }));
    for (let x = 8; x < 63; x++) h.inject('n', 'v', encodeMessage({ type: 'feed', seq: 0, x, payload: codec.feedPacket(F, x) }));
    await h.drive(h.now + 50);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([F]);
  });

  it('a pending manifest implies nothing until its signature checks out', async () => {
    const { h, v, sign } = await viewer();
    const F = frameBytes(1000, 3);
    const m = await sign(0, F);
    h.inject('n', 'v', encodeMessage({ type: 'feed', seq: 0, x: 0, payload: codec.feedPacket(F, 0) }));
    await h.drive(h.now + 10);
    // Handled directly, without settling the signature check.
    v.handleMessage('n', encodeMessage({ type: 'manifest', manifest: m }), h.now);
    const f = v.framesBySeq.get(0);
    expect(f?.manifestPending).toBe(true);
    expect(f?.have.toArray()).toEqual([0]);
    h.flush('v');
    await h.drive(h.now + 10);
    expect(f?.manifestPending).toBe(false);
    expect(f?.have.size).toBe(1 + impliedKeyCount(1000));
  });

  it('a key past L sent before the manifest is replaced by the zeros it must be: no pollution search, the right frame', async () => {
    const { h, v, sign } = await viewer();
    const F = frameBytes(3000, 4);
    const real = dataParts(3000);
    // A polluter sends a made-up key 63 before the manifest is there.
    h.inject('e', 'v', encodeMessage({ type: 'feed', seq: 0, x: 63, payload: new Uint8Array(128).fill(0x5a) }));
    await h.drive(h.now + 10);
    // Then the data parts but the last, a coded key in its place, and the manifest.
    for (let x = 0; x < real - 1; x++) h.inject('n', 'v', encodeMessage({ type: 'feed', seq: 0, x, payload: codec.feedPacket(F, x) }));
    h.inject('n', 'v', encodeMessage({ type: 'feed', seq: 0, x: 64, payload: codec.feedPacket(F, 64) }));
    h.inject('n', 'v', encodeMessage({ type: 'manifest', manifest: await sign(0, F) }));
    await h.drive(h.now + 50);
    expect((h.delivered.get('v') ?? []).map((d) => d.frame)).toEqual([F]);
    expect(v.stats.framesPolluted).toBe(0);
  });
});

describe('the broadcaster and implied keys', () => {
  async function setup() {
    const h = await CoreHarness.create();
    const b = new BroadcasterCore({ codec, config: { directSpareKeys: 0, directSpareKeysMax: 0 } });
    h.add('b', b);
    for (const id of ['a', 'c']) b.handlePeerConnected(id, 0);
    const F = frameBytes(1000, 1);
    const seq = b.publishFrame(F, 0, 0, 0);
    for (let o = b.pollOutput(); o; o = b.pollOutput()) if (o.type === 'want-writable') b.handleBufferedAmount(o.peerId, 0, 0);
    const sent = (): WireMessage[] => {
      const out: WireMessage[] = [];
      for (let o = b.pollOutput(); o; o = b.pollOutput()) {
        if (o.type === 'send') out.push(o.message);
        if (o.type === 'want-writable') b.handleBufferedAmount(o.peerId, 0, 10);
      }
      return out;
    };
    return { b, seq, sent };
  }

  it('a request for implied slot keys is answered with nothing, not counted as bad nor as slot loss', async () => {
    const { b, seq, sent } = await setup();
    // Viewer a has slot 0 of 2: it asks for every key of it, implied or not.
    const slotA = directSlotKeys(seq, 0, 2, 64);
    const real = slotA.filter((x) => !isImpliedKey(x, 1000));
    b.handleParsed('a', { type: 'request', seq, count: 64, allowed: KeySet.of(slotA).toBytes() }, 10);
    const out = sent();
    expect(out.filter((m) => m.type === 'feed').map(feedX).sort((x, y) => x - y)).toEqual(real);
    expect(b.stats.badMessages).toBe(0);
    expect(b.stats.slotKeysAsked).toBe(real.length);
  });

  it('MISSING naming only implied keys blames no slot holder', async () => {
    const { b, seq } = await setup();
    const spy = vi.spyOn(b.slotJudge, 'report');
    const implied = Array.from({ length: 64 }, (_, x) => x).filter((x) => isImpliedKey(x, 1000));
    b.handleParsed('a', { type: 'missing', seq, keys: KeySet.of(implied).toBytes() }, 10);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][1]).toEqual([]);
  });
});
