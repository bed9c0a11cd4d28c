// Renditions: one broadcast sent at several picture sizes, each its own swarm under the same stream
// key. This module is the one description of how a rendition is named, how its swarm id derives
// from the stream id, and how the signed rendition list that tells viewers what exists is laid out.
// Pure apart from SHA-256 (WebCrypto). Used by the broadcaster config, the sessions and the player.

import { P2PError } from '../errors.ts';
import { base64url, fromBase64url, isStreamId, sha256 } from '../crypto/stream-key.ts';

/** At most this many renditions per broadcast (the top one included). */
export const MAX_RENDITIONS = 4;
/** A rendition's name: 1 … 16 characters of a-z, 0-9, '_' and '-', starting with a letter or digit. */
export const RENDITION_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,15}$/;
export const MAX_RENDITION_NAME = 16;

/** One rendition as viewers see it. */
export interface RenditionInfo {
  /** Its name, e.g. '720p'; the quality a player offers. */
  name: string;
  /** Encoded picture height, pixels (0: audio only). */
  height: number;
  /** Video bitrate the encoder aims at, bits per second. */
  bitrateBps: number;
}

/** Default name of a rendition of `height` pixels. */
export function renditionName(height: number): string {
  return `${height}p`;
}

const SWARM_DOMAIN = new TextEncoder().encode('p2p-player rendition v1\0');

/**
 * The swarm id of a rendition other than the top one: base64url(SHA-256(domain ‖ the 32 bytes the
 * stream id names ‖ name)), 43 characters like every stream id, so trackers, links and manifests
 * handle it as one. The top rendition's swarm is the stream id itself (what a watch link names).
 * Deterministic: any viewer that knows the stream id and a rendition's name finds its swarm.
 */
export async function renditionSwarmId(streamId: string, name: string): Promise<string> {
  if (!isStreamId(streamId)) throw new P2PError('BAD_RENDITIONS', `stream id ${String(streamId).slice(0, 60)} is not 43 base64url characters`);
  if (!RENDITION_NAME_RE.test(name)) throw new P2PError('BAD_RENDITIONS', `rendition name ${JSON.stringify(String(name).slice(0, 40))} is not 1 … 16 of a-z 0-9 _ -`);
  const hash = fromBase64url(streamId);
  const name8 = new TextEncoder().encode(name);
  const bytes = new Uint8Array(SWARM_DOMAIN.length + hash.length + name8.length);
  bytes.set(SWARM_DOMAIN, 0);
  bytes.set(hash, SWARM_DOMAIN.length);
  bytes.set(name8, SWARM_DOMAIN.length + hash.length);
  return base64url(await sha256(bytes));
}

/** Checks a list of renditions viewers were given (order: top first, heights falling). */
export function checkRenditionList(list: readonly RenditionInfo[]): void {
  const bad = (msg: string): never => {
    throw new P2PError('BAD_RENDITIONS', msg);
  };
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_RENDITIONS) bad(`a broadcast has 1 … ${MAX_RENDITIONS} renditions, got ${Array.isArray(list) ? list.length : typeof list}`);
  const names = new Set<string>();
  list.forEach((r, i) => {
    if (typeof r?.name !== 'string' || !RENDITION_NAME_RE.test(r.name)) bad(`rendition ${i}: name ${JSON.stringify(String(r?.name).slice(0, 40))} is not 1 … 16 of a-z 0-9 _ -`);
    if (names.has(r.name)) bad(`rendition ${i}: name ${r.name} is used twice`);
    names.add(r.name);
    if (!(Number.isInteger(r.height) && r.height >= 0 && r.height <= 4096)) bad(`rendition ${r.name}: height ${r.height} is not an integer in 0 … 4096`);
    if (!(Number.isInteger(r.bitrateBps) && r.bitrateBps >= 0 && r.bitrateBps <= 50_000_000)) bad(`rendition ${r.name}: bitrateBps ${r.bitrateBps} is not an integer in 0 … 50 000 000`);
    if (i > 0 && !(r.height < list[i - 1].height)) bad(`rendition ${r.name}: height ${r.height} is not below the one before (${list[i - 1].height}); list the top rendition first`);
  });
}

// The signed rendition list, as a control message between peers (like the stream key, any peer that
// has it may pass it on: it carries the broadcaster's signature):
//   u8 marker 0xF6 ‖ u8 version 1 ‖ broadcastId (8) ‖ u8 count ‖ count × (u8 nameLength ‖ name ‖
//   u16 height ‖ u32 bitrateBps) ‖ u8 signatureLength ‖ signature, little-endian.
// The signature covers 'p2p-player renditions v1\0' ‖ the stream id's 32 bytes ‖ everything from the
// version byte to the last rendition. At most 4 renditions: the message is at most 168 bytes.
export const RENDITION_LIST_MARKER = 0xf6;
export const MAX_RENDITION_LIST_BYTES = 2 + 8 + 1 + MAX_RENDITIONS * (1 + MAX_RENDITION_NAME + 6) + 1 + 64;
const LIST_DOMAIN = new TextEncoder().encode('p2p-player renditions v1\0');

/** The body of a rendition list (version … last rendition), the part that is signed. */
export function encodeRenditionBody(broadcastId: Uint8Array, list: readonly RenditionInfo[]): Uint8Array {
  checkRenditionList(list);
  if (broadcastId.length !== 8) throw new P2PError('BAD_RENDITIONS', `broadcast id must be 8 bytes, got ${broadcastId.length}`);
  const enc = new TextEncoder();
  const parts: number[] = [1, ...broadcastId, list.length];
  for (const r of list) {
    const n = enc.encode(r.name);
    parts.push(n.length, ...n, r.height & 0xff, r.height >>> 8, ...[0, 8, 16, 24].map((s) => (r.bitrateBps >>> s) & 0xff));
  }
  return Uint8Array.from(parts);
}

/** The bytes a rendition list's signature covers. */
export function renditionSignedBytes(streamId: string, body: Uint8Array): Uint8Array {
  const hash = fromBase64url(streamId);
  const out = new Uint8Array(LIST_DOMAIN.length + hash.length + body.length);
  out.set(LIST_DOMAIN, 0);
  out.set(hash, LIST_DOMAIN.length);
  out.set(body, LIST_DOMAIN.length + hash.length);
  return out;
}

/** marker ‖ body ‖ signature length ‖ signature. */
export function encodeRenditionMessage(body: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length < 1 || signature.length > 64) throw new P2PError('BAD_RENDITIONS', `signature of ${signature.length} bytes`);
  const out = new Uint8Array(1 + body.length + 1 + signature.length);
  out[0] = RENDITION_LIST_MARKER;
  out.set(body, 1);
  out[1 + body.length] = signature.length;
  out.set(signature, 2 + body.length);
  return out;
}

export function isRenditionMessage(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === RENDITION_LIST_MARKER;
}

/** Parses a rendition-list message; null (never a throw) when it is malformed or out of bounds. */
export function decodeRenditionMessage(bytes: Uint8Array): { body: Uint8Array; signature: Uint8Array; broadcastId: Uint8Array; list: RenditionInfo[] } | null {
  if (bytes.length < 13 || bytes.length > MAX_RENDITION_LIST_BYTES || bytes[0] !== RENDITION_LIST_MARKER || bytes[1] !== 1) return null;
  const dec = new TextDecoder('utf-8', { fatal: true });
  let o = 2;
  const broadcastId = bytes.slice(o, o + 8);
  o += 8;
  const count = bytes[o++];
  if (count < 1 || count > MAX_RENDITIONS) return null;
  const list: RenditionInfo[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const n = bytes[o++];
      if (n < 1 || n > MAX_RENDITION_NAME || o + n + 6 > bytes.length) return null;
      const name = dec.decode(bytes.subarray(o, o + n));
      o += n;
      const height = bytes[o] | (bytes[o + 1] << 8);
      const bitrateBps = (bytes[o + 2] | (bytes[o + 3] << 8) | (bytes[o + 4] << 16) | (bytes[o + 5] << 24)) >>> 0;
      o += 6;
      list.push({ name, height, bitrateBps });
    }
    checkRenditionList(list);
  } catch {
    return null;
  }
  const body = bytes.slice(1, o);
  if (o >= bytes.length) return null;
  const sigLen = bytes[o++];
  if (sigLen < 1 || sigLen > 64 || o + sigLen !== bytes.length) return null;
  return { body, signature: bytes.slice(o), broadcastId, list };
}
