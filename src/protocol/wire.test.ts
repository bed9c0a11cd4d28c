import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  encodeMessage, encodedLength, isMediaMessage, MAX_CONTROL_MESSAGE, MAX_MEDIA_MESSAGE, parseMessage,
  packetSizeOf, type Manifest, type WireMessage,
} from './wire.ts';
import { KeySet } from './key-set.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 255 });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const packet = fc.integer({ min: 1, max: 8 }).chain((k) => bytes(128 * k));

const manifest: fc.Arbitrary<Manifest> = fc.record({
  seq: u32,
  length: fc.integer({ min: 1, max: 65536 }),
  captureTimeMs: fc.double({ min: 0, max: 1e15, noNaN: true }),
  flags: fc.integer({ min: 0, max: 31 }),
  broadcastId: bytes(8),
  digest: bytes(32),
  signature: bytes(64),
});

const message: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), initSeq: u32, roles: fc.integer({ min: 0, max: 1 }) }),
  fc.record({
    type: fc.constant('have' as const),
    entries: fc.array(
      fc.record({ seq: fc.integer({ min: 0, max: 255 }), flags: fc.integer({ min: 0, max: 3 }), keys: fc.array(u8, { maxLength: 80 }) }),
      { maxLength: 12 },
    ),
  }).chain((h) => u32.map((base) => ({ ...h, entries: h.entries.map((e) => ({ ...e, seq: Math.min(base, 0xffffffff - 255) + e.seq })) }))),
  fc.record({ type: fc.constant('request' as const), seq: u32, count: fc.integer({ min: 1, max: 255 }), allowed: bytes(32) }),
  fc.record({
    type: fc.constant('request' as const), seq: u32, count: fc.integer({ min: 1, max: 255 }),
    allowed: fc.uniqueArray(u8, { maxLength: 30 }).map((k) => KeySet.of(k).toBytes()),
  }),
  fc.record({ type: fc.constant('manifest-request' as const), seq: u32 }),
  fc.record({ type: fc.constant('manifest' as const), manifest }),
  fc.record({ type: fc.constant('subscribe' as const), g: fc.integer({ min: 0, max: 31 }), on: fc.boolean(), fromSeq: u32 }),
  fc.record({ type: fc.constant('cs-repair' as const), seq: u32, c: u8, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ type: fc.constant('seed-request' as const), seq: u32, g: fc.integer({ min: 0, max: 31 }) }),
  fc.integer({ min: 1, max: 255 }).chain((slots) =>
    fc.record({ type: fc.constant('direct-slot' as const), slot: fc.integer({ min: 0, max: slots - 1 }), slots: fc.constant(slots), keys: fc.integer({ min: 0, max: 256 }) }),
  ),
  fc.record({ type: fc.constant('init-request' as const), seq: u32 }),
  fc.record({ type: fc.constant('report' as const), peerId: fc.string({ minLength: 1, maxLength: 16 }) }),
  fc.record({ type: fc.constant('push-keys' as const), keys: bytes(32) }),
  fc.record({ type: fc.constant('missing' as const), seq: u32, keys: fc.uniqueArray(u8, { minLength: 1, maxLength: 256 }).map((k) => KeySet.of(k).toBytes()) }),
  manifest.chain((m) =>
    fc.record({ type: fc.constant('init-segment' as const), manifest: fc.constant({ ...m, length: Math.min(m.length, 3000) }), frame: bytes(Math.min(m.length, 3000)) }),
  ),
  fc.integer({ min: 1, max: 8 }).chain((chunks) =>
    fc.record({ type: fc.constant('cs-chunk' as const), seq: u32, c: u8, chunk: fc.integer({ min: 0, max: chunks - 1 }), chunks: fc.constant(chunks), payload: bytes(1024) }),
  ),
  fc.record({ type: fc.constant('seed' as const), seq: u32, c: u8, g: fc.integer({ min: 0, max: 31 }), payload: packet }),
  fc.record({ type: fc.constant('feed' as const), seq: u32, x: u8, payload: packet }),
);

const normalise = (m: WireMessage): unknown => JSON.parse(JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));

describe('wire format', () => {
  it('round-trips every message type and states its size exactly', () => {
    fc.assert(
      fc.property(message, (m) => {
        const b = encodeMessage(m);
        expect(b.length).toBe(encodedLength(m));
        const r = parseMessage(b);
        expect(r.ok).toBe(true);
        if (r.ok) expect(normalise(r.message)).toEqual(normalise(m));
        if (isMediaMessage(m)) expect(b.length).toBeLessThanOrEqual(MAX_MEDIA_MESSAGE);
        expect(b.length).toBeLessThanOrEqual(MAX_CONTROL_MESSAGE);
      }),
      { numRuns: 600 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1300 }), (b) => {
        const r = parseMessage(b);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid messages (truncated, extended, flipped bytes)', () => {
    fc.assert(
      fc.property(message, fc.nat(), u8, fc.integer({ min: -3, max: 3 }), (m, at, xor, grow) => {
        const b = encodeMessage(m);
        const i = at % b.length;
        const c = new Uint8Array(Math.max(0, b.length + grow));
        c.set(b.subarray(0, c.length));
        if (i < c.length) c[i] ^= xor;
        const r = parseMessage(c);
        expect(typeof r.ok).toBe('boolean');
        if (r.ok && isMediaMessage(r.message)) expect(c.length).toBeLessThanOrEqual(MAX_MEDIA_MESSAGE);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects wrong versions, unknown types, bad packet sizes and reserved flags', () => {
    const feed = encodeMessage({ type: 'feed', seq: 1, x: 3, payload: new Uint8Array(1024) });
    expect(parseMessage(feed).ok).toBe(true);
    expect(parseMessage(feed.subarray(0, feed.length - 1)).ok).toBe(false);
    const v2 = feed.slice();
    v2[0] = 2;
    expect(parseMessage(v2)).toEqual({ ok: false, reason: 'unknown version 2' });
    expect(parseMessage(new Uint8Array([1, 0x7f])).ok).toBe(false);
    expect(parseMessage(new Uint8Array(70000)).ok).toBe(false);
    const m = encodeMessage({
      type: 'manifest',
      manifest: { seq: 1, length: 10, captureTimeMs: 5, flags: 0, broadcastId: new Uint8Array(8), digest: new Uint8Array(32), signature: new Uint8Array(64) },
    });
    m[2 + 16] = 64; // reserved flag bit
    expect(parseMessage(m).ok).toBe(false);
  });

  it('fits the largest feed, seed and code-segment chunk in one SCTP packet', () => {
    expect(encodedLength({ type: 'feed', seq: 0, x: 0, payload: new Uint8Array(1024) })).toBe(1031);
    expect(encodedLength({ type: 'seed', seq: 0, c: 0, g: 0, payload: new Uint8Array(1024) })).toBe(1032);
    expect(encodedLength({ type: 'cs-chunk', seq: 0, c: 0, chunk: 0, chunks: 8, payload: new Uint8Array(1024) })).toBe(1033);
    expect(packetSizeOf(1)).toBe(128);
    expect(packetSizeOf(8192)).toBe(128);
    expect(packetSizeOf(8193)).toBe(256);
    expect(packetSizeOf(65536)).toBe(1024);
  });

  it('key sets round-trip through their 32-byte wire map', () => {
    fc.assert(
      fc.property(fc.uniqueArray(u8, { maxLength: 256 }), (keys) => {
        const s = KeySet.of(keys);
        expect(s.size).toBe(keys.length);
        expect(s.toArray()).toEqual([...keys].sort((a, b) => a - b));
        expect(KeySet.fromBytes(s.toBytes()).toArray()).toEqual(s.toArray());
      }),
    );
  });
});

describe('canonical form', () => {
  const mutated = fc.tuple(message, fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 })).map(([m, flips]) => {
    const b = encodeMessage(m).slice();
    for (const [i, v] of flips) b[i % b.length] = v;
    return b;
  });

  it('whatever parses re-encodes to the very same bytes (random and mutated inputs)', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ minLength: 2, maxLength: 300 }).map((b) => { b[0] = 1; return b; })), (b) => {
        const r = parseMessage(b);
        if (r.ok) expect(Array.from(encodeMessage(r.message))).toEqual(Array.from(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses reserved role bits and non-canonical forms', () => {
    const hello = encodeMessage({ type: 'hello', initSeq: 3, roles: 1 });
    expect(parseMessage(hello).ok).toBe(true);
    for (const roles of [2, 4, 0x80, 0xff]) {
      const b = hello.slice();
      b[6] = roles;
      expect(parseMessage(b)).toEqual({ ok: false, reason: 'hello: reserved role bits' });
    }
    // A request listing its keys out of order, or twice, or as a map though few.
    expect(parseMessage(Uint8Array.from([1, 0x03, 5, 0, 0, 0, 2, 2, 9, 3])).ok).toBe(false);
    expect(parseMessage(Uint8Array.from([1, 0x03, 5, 0, 0, 0, 2, 2, 3, 3])).ok).toBe(false);
    expect(parseMessage(Uint8Array.from([1, 0x03, 5, 0, 0, 0, 2, 2, 3, 9])).ok).toBe(true);
    const map = new Uint8Array(40);
    map.set([1, 0x03, 5, 0, 0, 0, 2, 0xff]);
    map[8] = 0b1000;
    expect(parseMessage(map).ok).toBe(false);
    // A HAVE whose base lies below its lowest entry.
    expect(parseMessage(Uint8Array.from([1, 0x02, 10, 0, 0, 0, 1, 2, 0, 0])).ok).toBe(false);
    expect(parseMessage(Uint8Array.from([1, 0x02, 10, 0, 0, 0, 1, 0, 0, 0])).ok).toBe(true);
  });
});
