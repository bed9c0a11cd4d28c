// How a viewer learns the stream's public key (the watch link carries only its hash, the streamId):
// every session that knows the key sends it once to each new neighbour as a small control message
// with its own marker byte (never a protocol message: those start with the wire version, 1). The
// receiver accepts it only if SHA-256 of the key is the streamId. Pure helpers; used by the sessions.

import { MAX_PUBLIC_KEY_BYTES, streamIdOf } from '../crypto/stream-key.ts';

/** First byte of a stream-key message (the wire format's version byte is 1). */
export const STREAM_KEY_MARKER = 0xf5;

/** marker ‖ public key in wire form (alg byte ‖ raw key). */
export function encodeStreamKey(publicKeyBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + publicKeyBytes.length);
  out[0] = STREAM_KEY_MARKER;
  out.set(publicKeyBytes, 1);
  return out;
}

/** True when `bytes` is a stream-key message (well-formed or not). */
export function isStreamKeyMessage(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === STREAM_KEY_MARKER;
}

/** The public key of a stream-key message if it names `streamId`, else null. Never throws. */
export async function acceptStreamKey(bytes: Uint8Array, streamId: string): Promise<Uint8Array | null> {
  if (!isStreamKeyMessage(bytes) || bytes.length < 2 || bytes.length > 1 + MAX_PUBLIC_KEY_BYTES) return null;
  const key = bytes.slice(1);
  try {
    return (await streamIdOf(key)) === streamId ? key : null;
  } catch {
    return null;
  }
}
