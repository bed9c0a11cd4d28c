// Frame manifests: the bytes the broadcaster signs, signing and verification with the stream key,
// and the replay window that admits each sequence number once. Async only where WebCrypto is;
// the cores never call these directly (they emit crypto jobs, see crypto-jobs.ts).

import { sha256, signBytes, verifyBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import { BROADCAST_ID_BYTES, DIGEST_BYTES, type Manifest } from './wire.ts';

const DOMAIN = new TextEncoder().encode('p2p-player manifest v2\0');
export const SIGNED_MANIFEST_BYTES = DOMAIN.length + 32 + 4 + 4 + 8 + 2 + BROADCAST_ID_BYTES + DIGEST_BYTES;

/**
 * The signed bytes: domain tag ‖ streamId hash (32) ‖ seq u32 ‖ L u32 ‖ capture time f64 ‖
 * flags u16 ‖ broadcast id (8) ‖ SHA-256 of the frame (32), little-endian. Binding the stream's
 * public-key hash stops a manifest of one stream from being replayed into another; the broadcast
 * id, one broadcast of the stream from being replayed into a later one with the same key.
 */
export function manifestSignedBytes(streamHash: Uint8Array, m: Omit<Manifest, 'signature'>): Uint8Array {
  const out = new Uint8Array(SIGNED_MANIFEST_BYTES);
  const v = new DataView(out.buffer);
  out.set(DOMAIN, 0);
  let o = DOMAIN.length;
  out.set(streamHash.subarray(0, 32), o);
  o += 32;
  v.setUint32(o, m.seq, true);
  v.setUint32(o + 4, m.length, true);
  v.setFloat64(o + 8, m.captureTimeMs, true);
  v.setUint16(o + 16, m.flags, true);
  out.set(m.broadcastId.subarray(0, BROADCAST_ID_BYTES), o + 18);
  out.set(m.digest.subarray(0, DIGEST_BYTES), o + 18 + BROADCAST_ID_BYTES);
  return out;
}

/** Builds and signs the manifest of one frame (broadcaster side). */
export async function signManifest(
  key: StreamKeyPair,
  streamHash: Uint8Array,
  fields: { seq: number; frame: Uint8Array; captureTimeMs: number; flags: number; broadcastId: Uint8Array },
): Promise<Manifest> {
  const digest = await sha256(fields.frame);
  const body = { seq: fields.seq, length: fields.frame.length, captureTimeMs: fields.captureTimeMs, flags: fields.flags, broadcastId: fields.broadcastId.slice(0, 8), digest };
  return { ...body, signature: await signBytes(key, manifestSignedBytes(streamHash, body)) };
}

/** True when the manifest's signature holds for this stream; false (never a throw) otherwise. */
export async function verifyManifest(publicKeyBytes: Uint8Array, streamHash: Uint8Array, m: Manifest, imported?: CryptoKey): Promise<boolean> {
  return verifyBytes(publicKeyBytes, m.signature, manifestSignedBytes(streamHash, m), imported);
}

/**
 * Admits each sequence number at most once, within `size` of the newest admitted one.
 * An old signed manifest replayed by a peer is refused without spending a signature check.
 */
export class ReplayWindow {
  private newest = -1;
  private readonly seen = new Set<number>();

  constructor(private readonly size = 512) {}

  /** True when seq would be admitted (not seen, not older than the window). */
  fresh(seq: number): boolean {
    if (this.seen.has(seq)) return false;
    return this.newest < 0 || seq > this.newest - this.size;
  }

  /** Records seq as admitted; call after its manifest verified. */
  admit(seq: number): void {
    this.seen.add(seq);
    if (seq > this.newest) this.newest = seq;
    if (this.seen.size > 2 * this.size) {
      for (const s of this.seen) if (s <= this.newest - this.size) this.seen.delete(s);
    }
  }

  get newestSeq(): number {
    return this.newest;
  }
}
