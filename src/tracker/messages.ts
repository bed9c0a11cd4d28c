// Tracker messages: the zod schemas, types and bounds of every JSON text frame between a peer and
// the tracker, in both directions. Pure (no I/O, no Node modules), so the server and the browser
// client share it. The peer-to-peer wire format is elsewhere (docs/wire-format.md).

import * as z from 'zod/mini';
import { concatBytes } from '../bytes.ts';
import { P2PError } from '../errors.ts';
import { RENDITION_NAME_RE } from '../media/renditions.ts';

export const TRACKER_PROTOCOL_VERSION = 1;

/** Hard bounds of the tracker protocol. The server may configure smaller ones. */
export const LIMITS = {
  /** Largest text frame either side sends or accepts. */
  maxMessageBytes: 64 * 1024,
  /** Largest serialised `data` of one signal (SDP offers with candidates fit in a few KiB). */
  maxSignalBytes: 32 * 1024,
  /** Neighbours announced after a reconnect. */
  maxAnnouncedNeighbours: 64,
  /** Neighbours in one `neighbours` message (swarm + broadcaster feed + role links). */
  maxNeighbours: 128,
  /** Holders / producers listed in one `swarm` message. */
  maxRoleEntries: 256,
  maxKeysPerPeer: 32,
  maxErrorText: 200,
  /** STUN/TURN URLs in one `ice` message, in all. */
  maxIceUrls: 8,
} as const;

/** Code-segment keys c are 0…255; seed groups g are 0…31 (DESIGN section 3). */
export const MAX_SEGMENT_KEY = 255;
export const MAX_SEED_GROUP = 31;

const PEER_ID_RE = /^[A-Za-z0-9_-]{8,24}$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

const peerId = z.string().check(z.regex(PEER_ID_RE));
/** base64url of exactly 8 bytes: 11 characters, the last one carrying 2 zero bits. */
export const BROADCAST_ID_RE = /^[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]$/;
const broadcastId = z.string().check(z.regex(BROADCAST_ID_RE));
const streamId = z.string().check(z.length(43), z.regex(B64URL_RE));
const b64 = (max: number) => z.string().check(z.maxLength(max), z.regex(B64URL_RE));
const bps = z.number().check(z.minimum(0), z.maximum(1e12));
const segmentKeys = z.array(z.int().check(z.minimum(0), z.maximum(MAX_SEGMENT_KEY))).check(z.maxLength(LIMITS.maxKeysPerPeer));
const seedGroups = z.array(z.int().check(z.minimum(0), z.maximum(MAX_SEED_GROUP))).check(z.maxLength(MAX_SEED_GROUP + 1));

/** Why a producer complains about a holder: its seeds do not come, or do not verify. */
export const COMPLAINT_REASONS = ['withholding', 'corrupt'] as const;
export type ComplaintReason = (typeof COMPLAINT_REASONS)[number];

/** What a reconnecting peer still holds, so a restarted tracker rebuilds its soft state. */
const announce = z.object({
  holderKeys: z.optional(segmentKeys),
  producerGroups: z.optional(seedGroups),
  neighbours: z.optional(z.array(peerId).check(z.maxLength(LIMITS.maxAnnouncedNeighbours))),
  /** Broadcaster only: the swarm mode it was running, restored (and held a while) after a restart. */
  mode: z.optional(z.enum(['direct', 'holder'])),
});

/** A peer's own measurements, sent with join and heartbeat. */
const peerStats = {
  /** Upload capacity the peer claims, bits per second (capped and distrusted by the tracker). */
  uploadBps: z.optional(bps),
  /** Upload its transport measured, bits per second: lowers the claim, never raises it. */
  measuredUploadBps: z.optional(z.number().check(z.minimum(0), z.maximum(1e10))),
  /**
   * Share (0…1) of its recent upload samples taken with its send buffers backed up: near 1 the
   * measured figure is its capacity, near 0 a lower bound (it was not asked for more).
   */
  uploadLimitedShare: z.optional(z.number().check(z.minimum(0), z.maximum(1))),
  /** True when the peer's connections go through a TURN relay. */
  relayed: z.optional(z.boolean()),
};

/**
 * `peerSecret` (optional, 22–64 base64url chars, never shown to others) makes the tracker derive
 * the same peer id again after a reconnect or tracker restart; without it the id is random.
 */
const peerSecret = z.optional(b64(64).check(z.minLength(22)));

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('join'),
    streamId,
    peerSecret,
    ...peerStats,
    announce: z.optional(announce),
  }),
  z.object({
    type: z.literal('publish'),
    streamId,
    peerSecret,
    /** Stream public key, wire form (alg byte ‖ raw key), base64url. */
    publicKey: b64(96),
    /** Signature of nonce ‖ streamId ‖ broadcastId ‖ tracker identity, base64url of 64 bytes. */
    signature: b64(90),
    /** This go-live's id, chosen at random by the broadcaster (base64url of 8 bytes). */
    broadcastId,
    /** Stream bitrate, bits per second (helps choose holders strong enough). */
    bitrateBps: z.optional(bps),
    /**
     * A lower rendition's name (1 … 16 of a-z 0-9 _ -): streamId is then that rendition's swarm id,
     * derived from the key's stream id and this name (docs/media.md, Renditions).
     */
    rendition: z.optional(z.string().check(z.regex(RENDITION_NAME_RE))),
    ...peerStats,
    announce: z.optional(announce),
  }),
  z.object({ type: z.literal('heartbeat'), ...peerStats }),
  z.object({ type: z.literal('signal'), to: peerId, data: z.unknown() }),
  z.object({ type: z.literal('failed'), peerId }),
  z.object({ type: z.literal('leave') }),
  /**
   * A producer's complaint against a holder whose seeds it uses (withheld or corrupt), with its
   * evidence: the key concerned (the tracker ignores a complaint about a key the holder no longer
   * holds), the newest frame concerned and in how many frames the seeds were missing or bad.
   */
  z.object({
    type: z.literal('complaint'),
    peerId,
    reason: z.enum(COMPLAINT_REASONS),
    key: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_SEGMENT_KEY))),
    seq: z.optional(z.int().check(z.minimum(0), z.maximum(0xffffffff))),
    frames: z.optional(z.int().check(z.minimum(1), z.maximum(1_000_000))),
  }),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type Announce = z.infer<typeof announce>;

export type StreamState = 'waiting' | 'live' | 'ended';
export type SwarmMode = 'direct' | 'holder';
/**
 * Why a neighbour is one, seen from the receiving peer:
 * `swarm` viewer mesh; `broadcaster` the neighbour is the broadcaster; `viewer` (broadcaster
 * side) a viewer fed directly; `holder` the neighbour holds code-segment keys you feed (as
 * broadcaster) or subscribe to (as producer); `producer` the neighbour produces from your seeds.
 */
export type NeighbourReason = 'swarm' | 'broadcaster' | 'viewer' | 'holder' | 'producer';

export interface NeighbourInfo {
  peerId: string;
  reasons: NeighbourReason[];
  /** True when this side makes the WebRTC offer. Exactly one side of a pair has it. */
  initiator: boolean;
  /** Code-segment keys the neighbour holds (only for holders). */
  holderKeys?: number[];
}

export interface RoleEntry {
  peerId: string;
  keys: number[];
}

/** One STUN or TURN server as the tracker hands it out (RTCIceServer's shape). */
export interface IceServerInfo {
  urls: string[];
  username?: string;
  credential?: string;
}

export type ServerMessage =
  | { type: 'welcome'; version: number; peerId: string; nonce: string; heartbeatMs: number; maxSignalBytes: number }
  | { type: 'joined'; streamId: string; peerId: string; broadcaster: boolean }
  | { type: 'stream'; streamId: string; state: StreamState; mode: SwarmMode; broadcastId?: string }
  | { type: 'neighbours'; neighbours: NeighbourInfo[] }
  | { type: 'roles'; holderKeys: number[]; producerGroups: number[]; leaseMs: number; heartbeatMs: number }
  | { type: 'swarm'; mode: SwarmMode; viewers: number; holders: RoleEntry[]; producers: RoleEntry[] }
  | { type: 'signal'; from: string; data: unknown }
  /** STUN/TURN servers for this peer's connections; TURN credentials expire after `ttlMs`. */
  | { type: 'ice'; iceServers: IceServerInfo[]; ttlMs: number }
  | { type: 'error'; code: string; message: string };

const reason = z.enum(['swarm', 'broadcaster', 'viewer', 'holder', 'producer']);
const roleEntry = z.object({ peerId, keys: z.array(z.int().check(z.minimum(0), z.maximum(MAX_SEGMENT_KEY))).check(z.maxLength(LIMITS.maxKeysPerPeer)) });
const roleList = z.array(roleEntry).check(z.maxLength(LIMITS.maxRoleEntries));
const ms = z.int().check(z.minimum(0), z.maximum(24 * 3600 * 1000));

/** The client validates what the tracker sends too: a tracker is only semi-trusted. */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    version: z.int(),
    peerId,
    nonce: b64(64),
    heartbeatMs: ms,
    maxSignalBytes: z.int().check(z.minimum(0), z.maximum(LIMITS.maxSignalBytes)),
  }),
  z.object({ type: z.literal('joined'), streamId, peerId, broadcaster: z.boolean() }),
  z.object({ type: z.literal('stream'), streamId, state: z.enum(['waiting', 'live', 'ended']), mode: z.enum(['direct', 'holder']), broadcastId: z.optional(broadcastId) }),
  z.object({
    type: z.literal('neighbours'),
    neighbours: z.array(z.object({ peerId, reasons: z.array(reason).check(z.maxLength(5)), initiator: z.boolean(), holderKeys: z.optional(segmentKeys) })).check(z.maxLength(LIMITS.maxNeighbours)),
  }),
  z.object({ type: z.literal('roles'), holderKeys: segmentKeys, producerGroups: seedGroups, leaseMs: ms, heartbeatMs: ms }),
  z.object({ type: z.literal('swarm'), mode: z.enum(['direct', 'holder']), viewers: z.int().check(z.minimum(0)), holders: roleList, producers: roleList }),
  z.object({ type: z.literal('signal'), from: peerId, data: z.unknown() }),
  z.object({
    type: z.literal('ice'),
    iceServers: z.array(z.object({
      urls: z.array(z.string().check(z.maxLength(256), z.regex(/^(stun|stuns|turn|turns):\S+$/))).check(z.minLength(1), z.maxLength(LIMITS.maxIceUrls)),
      username: z.optional(z.string().check(z.maxLength(256))),
      credential: z.optional(z.string().check(z.maxLength(256))),
    })).check(z.maxLength(LIMITS.maxIceUrls)),
    ttlMs: ms,
  }),
  z.object({ type: z.literal('error'), code: z.string().check(z.maxLength(64)), message: z.string().check(z.maxLength(LIMITS.maxErrorText)) }),
]);

/** Bytes of the UTF-8 encoding of `text`, without allocating. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Deepest nesting of arrays and objects a message may have (signals are SDP objects, 3–4 deep). */
export const MAX_JSON_DEPTH = 32;

/**
 * True when `text` takes more than `max` bytes in UTF-8. A UTF-16 unit is at most 3 bytes (a
 * surrogate pair, 2 units, is 4), so a text of at most max/3 units is never counted byte by byte.
 */
export function overUtf8Bytes(text: string, max: number): boolean {
  if (text.length > max) return true;
  return text.length * 3 > max && utf8Length(text) > max;
}

/**
 * True when the JSON text nests deeper than `limit`. Depth never exceeds the number of `{` and `[`
 * in the text, counted natively (indexOf); only a text with more of them is scanned character by
 * character (strings skipped).
 */
function nestedDeeper(text: string, limit: number): boolean {
  let opens = 0;
  for (const ch of ['{', '[']) {
    for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) {
      if (++opens > limit) return jsonDepth(text, limit) > limit;
    }
  }
  return false;
}

/** Nesting depth of the JSON text, counted outside strings, stopping once it passes `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return depth;
}

function parseJson(text: string, maxBytes: number): unknown {
  if (typeof text !== 'string') throw new P2PError('BAD_MESSAGE', 'message is not text');
  if (overUtf8Bytes(text, maxBytes)) throw new P2PError('MESSAGE_TOO_LARGE', `message over ${maxBytes} bytes`);
  // Deep nesting would make JSON.stringify (signal size) and the validators recurse past the stack.
  if (nestedDeeper(text, MAX_JSON_DEPTH)) throw new P2PError('BAD_MESSAGE', `message nested deeper than ${MAX_JSON_DEPTH}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new P2PError('BAD_JSON', 'message is not JSON');
  }
}

function firstIssue(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  const i = error.issues[0];
  return i ? `${i.path.map(String).join('.') || '(root)'}: ${i.message}` : 'invalid';
}

/**
 * Parses and validates one client message. Throws P2PError with code BAD_JSON, MESSAGE_TOO_LARGE,
 * UNKNOWN_TYPE, BAD_MESSAGE or SIGNAL_TOO_LARGE; never anything else.
 */
export function parseClientMessage(text: string, maxBytes: number = LIMITS.maxMessageBytes, maxSignalBytes: number = LIMITS.maxSignalBytes, out?: ParseOut): ClientMessage {
  try {
    return parseClient(text, maxBytes, maxSignalBytes, out);
  } catch (e) {
    // The contract is P2PError only: anything else (a RangeError deep inside, say) is a bad message.
    if (e instanceof P2PError) throw e;
    throw new P2PError('BAD_MESSAGE', `message could not be read: ${String((e as Error)?.name ?? e)}`);
  }
}

/** What parsing a client message leaves for its relay: a signal's `data` as JSON text (serialised once for its size check). */
export interface ParseOut {
  dataText?: string;
}

/** Inside [lo, hi]: a finite number (JSON gives no NaN; an overflowing literal such as 1e400 is Infinity and fails). */
function within(v: unknown, lo: number, hi: number): boolean {
  return typeof v === 'number' && v >= lo && v <= hi;
}

/**
 * The hot messages (heartbeat, signal: nearly every message a busy tracker reads) checked by hand.
 * Returns the parsed value itself when it has exactly a shape the schema accepts and would return
 * unchanged (no key the schema does not name, every field within its bounds); otherwise undefined,
 * and the schema decides and words the error. The schema parse copies the object and allocates
 * about ten times the bytes of `JSON.parse` for a heartbeat: at thousands of messages a second that
 * is a fifth of the tracker's allocation, and so of its scavenge pauses (docs/tracker.md).
 * `fast-path.test.ts` holds it to the schema's answer on generated and mutated messages.
 */
export function fastClientMessage(value: unknown): ClientMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type === 'heartbeat') {
    for (const k in v) {
      if (k === 'type') continue;
      const f = v[k];
      if (k === 'uploadBps' ? !within(f, 0, 1e12)
        : k === 'measuredUploadBps' ? !within(f, 0, 1e10)
        : k === 'uploadLimitedShare' ? !within(f, 0, 1)
        : k === 'relayed' ? typeof f !== 'boolean'
        : true) return undefined;
    }
    return v as ClientMessage;
  }
  if (v.type === 'signal') {
    for (const k in v) if (k !== 'type' && k !== 'to' && k !== 'data') return undefined;
    if (typeof v.to !== 'string' || !PEER_ID_RE.test(v.to) || v.data === undefined) return undefined;
    return v as ClientMessage;
  }
  return undefined;
}

/** The client's hot message, a relayed signal, checked by hand like `fastClientMessage`. */
export function fastServerMessage(value: unknown): ServerMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.type !== 'signal') return undefined;
  for (const k in v) if (k !== 'type' && k !== 'from' && k !== 'data') return undefined;
  if (typeof v.from !== 'string' || !PEER_ID_RE.test(v.from) || v.data === undefined) return undefined;
  return v as ServerMessage;
}

function parseClient(text: string, maxBytes: number, maxSignalBytes: number, out?: ParseOut): ClientMessage {
  const value = parseJson(text, maxBytes);
  const fast = fastClientMessage(value);
  const r = fast ? { success: true as const, data: fast } : clientMessageSchema.safeParse(value);
  if (!r.success) {
    const type = (value as { type?: unknown } | null)?.type;
    const known = ['join', 'publish', 'heartbeat', 'signal', 'failed', 'leave', 'complaint'];
    if (typeof value !== 'object' || value === null || typeof type !== 'string' || !known.includes(type)) {
      throw new P2PError('UNKNOWN_TYPE', 'message has no known type');
    }
    throw new P2PError('BAD_MESSAGE', `${type}: ${firstIssue(r.error)}`);
  }
  const m = r.data;
  if (m.type === 'signal') {
    if (m.data === undefined) throw new P2PError('BAD_MESSAGE', 'signal: data missing');
    const dataText = JSON.stringify(m.data);
    if (overUtf8Bytes(dataText, maxSignalBytes)) throw new P2PError('SIGNAL_TOO_LARGE', `signal data over ${maxSignalBytes} bytes`);
    if (out) out.dataText = dataText;
  }
  return m;
}

/** Parses and validates one tracker message (client side). Throws P2PError like parseClientMessage. */
export function parseServerMessage(text: string, maxBytes: number = 2 * LIMITS.maxMessageBytes): ServerMessage {
  let value: unknown;
  try {
    value = parseJson(text, maxBytes);
  } catch (e) {
    if (e instanceof P2PError) throw e;
    throw new P2PError('BAD_MESSAGE', `tracker message could not be read: ${String((e as Error)?.name ?? e)}`);
  }
  const fast = fastServerMessage(value);
  if (fast) return fast;
  const r = serverMessageSchema.safeParse(value);
  if (!r.success) {
    const type = (value as { type?: unknown } | null)?.type;
    throw new P2PError(typeof type === 'string' ? 'BAD_MESSAGE' : 'UNKNOWN_TYPE', `tracker message ${String(type)}: ${firstIssue(r.error)}`);
  }
  return r.data as ServerMessage;
}

const encoder = new TextEncoder();

/**
 * The bytes a broadcaster signs to prove it holds the stream key and to bind this go-live's id:
 * nonce (raw bytes) ‖ streamId (43 ASCII bytes) ‖ broadcastId (11 ASCII bytes) ‖ tracker
 * identity (UTF-8 `host[:port]`, last because it alone varies in length).
 */
export function publishProofBytes(nonce: Uint8Array, streamIdText: string, broadcastIdText: string, origin: string): Uint8Array {
  return concatBytes([nonce, encoder.encode(streamIdText), encoder.encode(broadcastIdText), encoder.encode(origin)]);
}
