// Peer-to-peer wire format: every message the cores exchange, its binary form and its bounds.
// Pure; encoders trust their (typed) input, `parseMessage` trusts nothing and never throws.
// Used by the protocol cores, the session (which moves the bytes) and the simulator.
//
// Layout: version byte (1), type byte, then fixed little-endian fields. See docs/wire-format.md.

import { KEY_SET_BYTES } from './key-set.ts';

export const WIRE_VERSION = 1;
/** Largest media message (code-segment chunk, seed packet, feed packet), header included. */
export const MAX_MEDIA_MESSAGE = 1163;
/** Largest control message: an init segment of 64 KiB plus its manifest. */
export const MAX_CONTROL_MESSAGE = 2 + 122 + 65536;
export const MAX_FRAME_BYTES = 65536;
export const MAX_PACKET_BYTES = 1024;
export const CS_CHUNK_BYTES = 1024;
export const MAX_HAVE_ENTRIES = 64;
export const DIGEST_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Bytes of a broadcast id: the tracker announces the current one; manifests carry it, signed. */
export const BROADCAST_ID_BYTES = 8;
export const MANIFEST_BODY_BYTES = 4 + 4 + 8 + 2 + BROADCAST_ID_BYTES + DIGEST_BYTES + SIGNATURE_BYTES; // 122
export const NO_SEQ = 0xffffffff;
/** Longest peer id in a REPORT (tracker ids are short; bytes of its UTF-8 form). */
export const MAX_PEER_ID_BYTES = 64;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** HELLO role bits (bit 0: broadcaster, informative only); the others are reserved and must be 0. */
export const ROLES_DEFINED = 1;

/** Manifest flag bits (frame kinds); other bits are reserved and must be 0. */
export const FLAG_KEY_FRAME = 1;
export const FLAG_INIT_SEGMENT = 2;
export const FLAG_FRAGMENT_START = 4;
export const FLAG_FRAGMENT_END = 8;
export const FLAG_END_OF_STREAM = 16;
export const FLAGS_DEFINED = 31;

/** HAVE entry flag bits. */
export const HAVE_MANIFEST = 1;
export const HAVE_COMPLETE = 2;

export const T = {
  hello: 0x01,
  have: 0x02,
  request: 0x03,
  manifestRequest: 0x04,
  manifest: 0x05,
  subscribe: 0x06,
  csRepair: 0x07,
  directSlot: 0x08,
  initRequest: 0x09,
  initSegment: 0x0a,
  report: 0x0b,
  pushKeys: 0x0c,
  seedRequest: 0x0d,
  missing: 0x0e,
  csChunk: 0x10,
  seed: 0x11,
  feed: 0x12,
} as const;

export interface Manifest {
  seq: number;
  /** Frame length L, 1…65536. */
  length: number;
  captureTimeMs: number;
  flags: number;
  /** The broadcast this frame belongs to (BROADCAST_ID_BYTES, covered by the signature). */
  broadcastId: Uint8Array;
  digest: Uint8Array;
  signature: Uint8Array;
}

export interface HaveEntry {
  seq: number;
  /** HAVE_MANIFEST | HAVE_COMPLETE */
  flags: number;
  /** Keys newly held since the previous report to this neighbour (empty when complete). */
  keys: number[];
}

export type WireMessage =
  | { type: 'hello'; initSeq: number; roles: number }
  | { type: 'have'; entries: HaveEntry[] }
  | { type: 'request'; seq: number; count: number; allowed: Uint8Array }
  | { type: 'manifest-request'; seq: number }
  | { type: 'manifest'; manifest: Manifest }
  | { type: 'subscribe'; g: number; on: boolean; fromSeq: number }
  | { type: 'cs-repair'; seq: number; c: number; mask: number }
  | { type: 'direct-slot'; slot: number; slots: number; keys: number }
  | { type: 'init-request'; seq: number }
  | { type: 'init-segment'; manifest: Manifest; frame: Uint8Array }
  | { type: 'report'; peerId: string }
  /**
   * Direct feed, viewer → broadcaster: keys of the direct set of frame `seq` that never reached this
   * viewer while the frame was stuck (no neighbour offered them), as a key set (KEY_SET_BYTES).
   */
  | { type: 'missing'; seq: number; keys: Uint8Array }
  /** Push me these keys of every frame as soon as you get them (a 32-byte key map; all zero stops). */
  | { type: 'push-keys'; keys: Uint8Array }
  | { type: 'seed-request'; seq: number; g: number }
  | { type: 'cs-chunk'; seq: number; c: number; chunk: number; chunks: number; payload: Uint8Array }
  | { type: 'seed'; seq: number; c: number; g: number; payload: Uint8Array }
  | { type: 'feed'; seq: number; x: number; payload: Uint8Array };

export type WireType = WireMessage['type'];
export type ParseResult = { ok: true; message: WireMessage } | { ok: false; reason: string };

const MEDIA_TYPES = new Set<WireType>(['cs-chunk', 'seed', 'feed']);

/** True for messages that travel on the unreliable media channel. */
export function isMediaMessage(m: WireMessage): boolean {
  return MEDIA_TYPES.has(m.type);
}

/**
 * The frame a media message (CS_CHUNK, SEED or FEED: version, type, then seq u32 LE) carries a
 * piece of, read from its header only; null for anything else. The rest is parseMessage's to check.
 */
export function peekMediaSeq(bytes: Uint8Array): number | null {
  if (bytes.length < 6 || bytes[0] !== WIRE_VERSION || (bytes[1] !== T.csChunk && bytes[1] !== T.seed && bytes[1] !== T.feed)) return null;
  return (bytes[2] | (bytes[3] << 8) | (bytes[4] << 16) | (bytes[5] << 24)) >>> 0;
}

/** Packet size P of a frame of `length` bytes: 128·ceil(L/8192). */
export function packetSizeOf(length: number): number {
  return 128 * Math.ceil(length / 8192);
}

/** A request naming at most this many keys lists them; more travel as the 32-byte map. */
export const REQUEST_LIST_MAX = 24;

function popcount(map: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < KEY_SET_BYTES; i++) for (let b = map[i]; b; b &= b - 1) k++;
  return k;
}

const validPacketSize = (n: number) => n >= 128 && n <= MAX_PACKET_BYTES && n % 128 === 0;

/** Encoded size in bytes, without encoding (the simulator counts bytes this way). */
export function encodedLength(m: WireMessage): number {
  switch (m.type) {
    case 'hello': return 2 + 5;
    case 'have': {
      let n = 7;
      for (const e of m.entries) n += 3 + e.keys.length;
      return n;
    }
    case 'request': {
      const k = popcount(m.allowed);
      return 2 + 6 + (k <= REQUEST_LIST_MAX ? k : KEY_SET_BYTES);
    }
    case 'manifest-request': return 6;
    case 'manifest': return 2 + MANIFEST_BODY_BYTES;
    case 'subscribe': return 2 + 6;
    case 'cs-repair': return 2 + 6;
    case 'direct-slot': return 2 + 4;
    case 'init-request': return 6;
    case 'init-segment': return 2 + MANIFEST_BODY_BYTES + m.frame.length;
    case 'report': return 3 + utf8.encode(m.peerId).length;
    case 'push-keys': return 2 + KEY_SET_BYTES;
    case 'missing': return 6 + KEY_SET_BYTES;
    case 'seed-request': return 2 + 5;
    case 'cs-chunk': return 9 + m.payload.length;
    case 'seed': return 8 + m.payload.length;
    case 'feed': return 7 + m.payload.length;
  }
}

function writeManifest(v: DataView, out: Uint8Array, o: number, m: Manifest): number {
  v.setUint32(o, m.seq, true);
  v.setUint32(o + 4, m.length, true);
  v.setFloat64(o + 8, m.captureTimeMs, true);
  v.setUint16(o + 16, m.flags, true);
  out.set(m.broadcastId.subarray(0, BROADCAST_ID_BYTES), o + 18);
  out.set(m.digest.subarray(0, DIGEST_BYTES), o + 26);
  out.set(m.signature.subarray(0, SIGNATURE_BYTES), o + 26 + DIGEST_BYTES);
  return o + MANIFEST_BODY_BYTES;
}

/** Binary form of a message. The message must be well formed (the cores build them). */
export function encodeMessage(m: WireMessage): Uint8Array {
  const out = new Uint8Array(encodedLength(m));
  const v = new DataView(out.buffer);
  out[0] = WIRE_VERSION;
  switch (m.type) {
    case 'hello':
      out[1] = T.hello;
      v.setUint32(2, m.initSeq >>> 0, true);
      out[6] = m.roles;
      break;
    case 'have': {
      // base seq (lowest of the entries) u32, entry count, entries of (seq − base) u8, flags, n, keys
      out[1] = T.have;
      let base = m.entries.length > 0 ? m.entries[0].seq : 0;
      for (const e of m.entries) if (e.seq < base) base = e.seq;
      v.setUint32(2, base, true);
      out[6] = m.entries.length;
      let o = 7;
      for (const e of m.entries) {
        out[o] = e.seq - base;
        out[o + 1] = e.flags;
        out[o + 2] = e.keys.length;
        for (let i = 0; i < e.keys.length; i++) out[o + 3 + i] = e.keys[i];
        o += 3 + e.keys.length;
      }
      break;
    }
    case 'request': {
      out[1] = T.request;
      v.setUint32(2, m.seq, true);
      out[6] = m.count;
      const k = popcount(m.allowed);
      if (k <= REQUEST_LIST_MAX) {
        out[7] = k;
        let o = 8;
        for (let x = 0; x < 256; x++) if (m.allowed[x >> 3] & (1 << (x & 7))) out[o++] = x;
      } else {
        out[7] = 0xff;
        out.set(m.allowed.subarray(0, KEY_SET_BYTES), 8);
      }
      break;
    }
    case 'manifest-request':
      out[1] = T.manifestRequest;
      v.setUint32(2, m.seq, true);
      break;
    case 'manifest':
      out[1] = T.manifest;
      writeManifest(v, out, 2, m.manifest);
      break;
    case 'subscribe':
      out[1] = T.subscribe;
      out[2] = m.g;
      out[3] = m.on ? 1 : 0;
      v.setUint32(4, m.fromSeq, true);
      break;
    case 'cs-repair':
      out[1] = T.csRepair;
      v.setUint32(2, m.seq, true);
      out[6] = m.c;
      out[7] = m.mask;
      break;
    case 'seed-request':
      out[1] = T.seedRequest;
      v.setUint32(2, m.seq, true);
      out[6] = m.g;
      break;
    case 'direct-slot':
      out[1] = T.directSlot;
      out[2] = m.slot;
      out[3] = m.slots;
      v.setUint16(4, m.keys, true);
      break;
    case 'init-request':
      out[1] = T.initRequest;
      v.setUint32(2, m.seq >>> 0, true);
      break;
    case 'init-segment':
      out[1] = T.initSegment;
      out.set(m.frame, writeManifest(v, out, 2, m.manifest));
      break;
    case 'report': {
      out[1] = T.report;
      const id = utf8.encode(m.peerId);
      out[2] = id.length;
      out.set(id, 3);
      break;
    }
    case 'push-keys':
      out[1] = T.pushKeys;
      out.set(m.keys.subarray(0, KEY_SET_BYTES), 2);
      break;
    case 'missing':
      out[1] = T.missing;
      v.setUint32(2, m.seq, true);
      out.set(m.keys.subarray(0, KEY_SET_BYTES), 6);
      break;
    case 'cs-chunk':
      out[1] = T.csChunk;
      v.setUint32(2, m.seq, true);
      out[6] = m.c;
      out[7] = m.chunk;
      out[8] = m.chunks;
      out.set(m.payload, 9);
      break;
    case 'seed':
      out[1] = T.seed;
      v.setUint32(2, m.seq, true);
      out[6] = m.c;
      out[7] = m.g;
      out.set(m.payload, 8);
      break;
    case 'feed':
      out[1] = T.feed;
      v.setUint32(2, m.seq, true);
      out[6] = m.x;
      out.set(m.payload, 7);
      break;
  }
  return out;
}

const fail = (reason: string): ParseResult => ({ ok: false, reason });

function readManifest(v: DataView, b: Uint8Array, o: number): Manifest | string {
  const length = v.getUint32(o + 4, true);
  if (length < 1 || length > MAX_FRAME_BYTES) return 'manifest length out of range';
  const captureTimeMs = v.getFloat64(o + 8, true);
  if (!Number.isFinite(captureTimeMs) || captureTimeMs < 0) return 'manifest capture time invalid';
  const flags = v.getUint16(o + 16, true);
  if (flags & ~FLAGS_DEFINED) return 'manifest uses reserved flag bits';
  return {
    seq: v.getUint32(o, true),
    length,
    captureTimeMs,
    flags,
    broadcastId: b.slice(o + 18, o + 26),
    digest: b.slice(o + 26, o + 26 + DIGEST_BYTES),
    signature: b.slice(o + 26 + DIGEST_BYTES, o + MANIFEST_BODY_BYTES),
  };
}

/**
 * Parses one message. Never throws: a malformed, oversized or unknown message gives
 * `{ ok: false, reason }` (the caller drops it and counts it against the sender).
 * Payloads are views into `bytes` (no copy).
 */
export function parseMessage(bytes: Uint8Array): ParseResult {
  const r = parseFields(bytes);
  // One message, one form: a control message whose re-encoding differs (unsorted or duplicate
  // request keys, a map where a list belongs, a HAVE base below its entries…) is refused. Media
  // messages have a fixed layout, so their bytes are their only form.
  if (r.ok && !MEDIA_TYPES.has(r.message.type)) {
    const again = encodeMessage(r.message);
    if (again.length !== bytes.length) return fail(`${r.message.type}: not in canonical form`);
    for (let i = 0; i < again.length; i++) if (again[i] !== bytes[i]) return fail(`${r.message.type}: not in canonical form`);
  }
  return r;
}

function parseFields(bytes: Uint8Array): ParseResult {
  if (!(bytes instanceof Uint8Array)) return fail('not bytes');
  const n = bytes.length;
  if (n < 2) return fail('too short');
  if (n > MAX_CONTROL_MESSAGE) return fail('too long');
  if (bytes[0] !== WIRE_VERSION) return fail(`unknown version ${bytes[0]}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, n);
  const type = bytes[1];
  const exact = (len: number) => n === len;
  switch (type) {
    case T.hello:
      if (!exact(7)) return fail('hello: bad size');
      if (bytes[6] & ~ROLES_DEFINED) return fail('hello: reserved role bits');
      return { ok: true, message: { type: 'hello', initSeq: v.getUint32(2, true), roles: bytes[6] } };
    case T.have: {
      if (n < 7 || n > 7 + MAX_HAVE_ENTRIES * (3 + 255)) return fail('have: bad size');
      const base = v.getUint32(2, true);
      const count = bytes[6];
      if (count > MAX_HAVE_ENTRIES) return fail('have: too many entries');
      const entries: HaveEntry[] = [];
      let o = 7;
      for (let i = 0; i < count; i++) {
        if (o + 3 > n) return fail('have: truncated');
        const flags = bytes[o + 1];
        const k = bytes[o + 2];
        if (flags & ~(HAVE_MANIFEST | HAVE_COMPLETE)) return fail('have: reserved flags');
        if (base + bytes[o] > 0xffffffff) return fail('have: sequence beyond u32');
        if (o + 3 + k > n) return fail('have: truncated keys');
        entries.push({ seq: base + bytes[o], flags, keys: Array.from(bytes.subarray(o + 3, o + 3 + k)) });
        o += 3 + k;
      }
      if (o !== n) return fail('have: trailing bytes');
      return { ok: true, message: { type: 'have', entries } };
    }
    case T.request: {
      if (n < 8) return fail('request: bad size');
      const count = bytes[6];
      if (count === 0) return fail('request: zero count');
      const form = bytes[7];
      let allowed: Uint8Array;
      if (form === 0xff) {
        if (n !== 8 + KEY_SET_BYTES) return fail('request: bad size');
        allowed = bytes.slice(8, 8 + KEY_SET_BYTES);
      } else {
        if (form > REQUEST_LIST_MAX || n !== 8 + form) return fail('request: bad key list');
        allowed = new Uint8Array(KEY_SET_BYTES);
        for (let i = 8; i < n; i++) allowed[bytes[i] >> 3] |= 1 << (bytes[i] & 7);
      }
      return { ok: true, message: { type: 'request', seq: v.getUint32(2, true), count, allowed } };
    }
    case T.manifestRequest:
      if (!exact(6)) return fail('manifest-request: bad size');
      return { ok: true, message: { type: 'manifest-request', seq: v.getUint32(2, true) } };
    case T.manifest: {
      if (!exact(2 + MANIFEST_BODY_BYTES)) return fail('manifest: bad size');
      const m = readManifest(v, bytes, 2);
      return typeof m === 'string' ? fail(m) : { ok: true, message: { type: 'manifest', manifest: m } };
    }
    case T.subscribe: {
      if (!exact(8)) return fail('subscribe: bad size');
      const g = bytes[2];
      if (g > 31) return fail('subscribe: group out of range');
      if (bytes[3] > 1) return fail('subscribe: bad switch');
      return { ok: true, message: { type: 'subscribe', g, on: bytes[3] === 1, fromSeq: v.getUint32(4, true) } };
    }
    case T.csRepair: {
      if (!exact(8)) return fail('cs-repair: bad size');
      if (bytes[7] === 0) return fail('cs-repair: empty mask');
      return { ok: true, message: { type: 'cs-repair', seq: v.getUint32(2, true), c: bytes[6], mask: bytes[7] } };
    }
    case T.seedRequest: {
      if (!exact(7)) return fail('seed-request: bad size');
      if (bytes[6] > 31) return fail('seed-request: group out of range');
      return { ok: true, message: { type: 'seed-request', seq: v.getUint32(2, true), g: bytes[6] } };
    }
    case T.directSlot: {
      if (!exact(6)) return fail('direct-slot: bad size');
      const slot = bytes[2];
      const slots = bytes[3];
      const keys = v.getUint16(4, true);
      if (slots !== 0 && slot >= slots) return fail('direct-slot: slot out of range');
      if (keys > 256) return fail('direct-slot: too many keys');
      return { ok: true, message: { type: 'direct-slot', slot, slots, keys } };
    }
    case T.initRequest:
      if (!exact(6)) return fail('init-request: bad size');
      return { ok: true, message: { type: 'init-request', seq: v.getUint32(2, true) } };
    case T.initSegment: {
      if (n < 2 + MANIFEST_BODY_BYTES + 1) return fail('init-segment: bad size');
      const m = readManifest(v, bytes, 2);
      if (typeof m === 'string') return fail(m);
      const frame = bytes.subarray(2 + MANIFEST_BODY_BYTES);
      if (frame.length !== m.length) return fail('init-segment: length disagrees with manifest');
      return { ok: true, message: { type: 'init-segment', manifest: m, frame } };
    }
    case T.report: {
      if (n < 4 || n !== 3 + bytes[2] || bytes[2] > MAX_PEER_ID_BYTES) return fail('report: bad size');
      try {
        return { ok: true, message: { type: 'report', peerId: fromUtf8.decode(bytes.subarray(3)) } };
      } catch {
        return fail('report: peer id is not UTF-8');
      }
    }
    case T.pushKeys:
      if (!exact(2 + KEY_SET_BYTES)) return fail('push-keys: bad size');
      return { ok: true, message: { type: 'push-keys', keys: bytes.slice(2) } };
    case T.missing: {
      if (!exact(6 + KEY_SET_BYTES)) return fail('missing: bad size');
      const keys = bytes.slice(6);
      if (popcount(keys) === 0) return fail('missing: no key');
      return { ok: true, message: { type: 'missing', seq: v.getUint32(2, true), keys } };
    }
    case T.csChunk: {
      if (n !== 9 + CS_CHUNK_BYTES) return fail('cs-chunk: bad size');
      const chunks = bytes[8];
      const chunk = bytes[7];
      if (chunks < 1 || chunks > 8 || chunk >= chunks) return fail('cs-chunk: chunk out of range');
      return { ok: true, message: { type: 'cs-chunk', seq: v.getUint32(2, true), c: bytes[6], chunk, chunks, payload: bytes.subarray(9) } };
    }
    case T.seed: {
      if (!validPacketSize(n - 8)) return fail('seed: bad packet size');
      const g = bytes[7];
      if (g > 31) return fail('seed: group out of range');
      return { ok: true, message: { type: 'seed', seq: v.getUint32(2, true), c: bytes[6], g, payload: bytes.subarray(8) } };
    }
    case T.feed: {
      if (!validPacketSize(n - 7)) return fail('feed: bad packet size');
      return { ok: true, message: { type: 'feed', seq: v.getUint32(2, true), x: bytes[6], payload: bytes.subarray(7) } };
    }
    default:
      return fail(`unknown type ${type}`);
  }
}

/** The 122-byte manifest body on its own (the edge's frame bundles carry it beside each frame). */
export function encodeManifestBody(m: Manifest): Uint8Array {
  const out = new Uint8Array(MANIFEST_BODY_BYTES);
  writeManifest(new DataView(out.buffer), out, 0, m);
  return out;
}

/** Reads a manifest body at `offset`; a reason string when it is short or out of range. Never throws. */
export function parseManifestBody(bytes: Uint8Array, offset = 0): Manifest | string {
  if (!(offset >= 0) || bytes.length - offset < MANIFEST_BODY_BYTES) return 'manifest body truncated';
  return readManifest(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, offset);
}
