// Stream identity: the broadcaster's key pair, its wire encoding and the self-certifying streamId.
// Pure WebCrypto (browsers and Node >= 20 alike); no I/O, no storage (the broadcaster page keeps
// the key in IndexedDB). Used by the tracker (broadcaster proof), the protocol (manifests) and
// the broadcaster.
//
// Public key wire form: 1 algorithm byte ‖ raw key (Ed25519: 32 bytes; ECDSA P-256: 65 bytes,
// uncompressed point). streamId = base64url(SHA-256(public key wire form)), 43 characters.
// Signatures are 64 bytes for both algorithms (ECDSA in IEEE P1363 r ‖ s form).

import { P2PError } from '../errors.ts';

export const ALG_ED25519 = 1;
export const ALG_ECDSA_P256 = 2;
export type StreamKeyAlg = typeof ALG_ED25519 | typeof ALG_ECDSA_P256;

export const SIGNATURE_BYTES = 64;
export const STREAM_ID_LENGTH = 43;
export const MAX_PUBLIC_KEY_BYTES = 66;

export interface StreamKeyPair {
  alg: StreamKeyAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Wire form of the public key: alg byte ‖ raw key. */
  publicKeyBytes: Uint8Array;
  streamId: string;
}

const subtle = (): SubtleCrypto => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new P2PError('CRYPTO_UNAVAILABLE', 'WebCrypto (crypto.subtle) is not available here; a secure context is needed');
  return s;
};

const algParams = (alg: StreamKeyAlg) =>
  alg === ALG_ED25519 ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
const signParams = (alg: StreamKeyAlg) =>
  alg === ALG_ED25519 ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };

export function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new P2PError('BAD_BASE64URL', 'not base64url text');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function isStreamId(text: unknown): text is string {
  return typeof text === 'string' && text.length === STREAM_ID_LENGTH && /^[A-Za-z0-9_-]+$/.test(text);
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', bytes as BufferSource));
}

/** streamId of a public key in wire form. */
export async function streamIdOf(publicKeyBytes: Uint8Array): Promise<string> {
  return base64url(await sha256(publicKeyBytes));
}

async function complete(alg: StreamKeyAlg, privateKey: CryptoKey, publicKey: CryptoKey): Promise<StreamKeyPair> {
  const raw = new Uint8Array(await subtle().exportKey('raw', publicKey));
  const publicKeyBytes = new Uint8Array(1 + raw.length);
  publicKeyBytes[0] = alg;
  publicKeyBytes.set(raw, 1);
  return { alg, privateKey, publicKey, publicKeyBytes, streamId: await streamIdOf(publicKeyBytes) };
}

/** Makes a new stream key: Ed25519 where the platform has it, else ECDSA P-256. */
export async function generateStreamKey(prefer: StreamKeyAlg = ALG_ED25519): Promise<StreamKeyPair> {
  const order: StreamKeyAlg[] = prefer === ALG_ED25519 ? [ALG_ED25519, ALG_ECDSA_P256] : [ALG_ECDSA_P256];
  let lastError: unknown;
  for (const alg of order) {
    try {
      const pair = (await subtle().generateKey(algParams(alg) as EcKeyGenParams, true, ['sign', 'verify'])) as CryptoKeyPair;
      return await complete(alg, pair.privateKey, pair.publicKey);
    } catch (e) {
      lastError = e;
    }
  }
  throw new P2PError('CRYPTO_UNAVAILABLE', `cannot make a stream key: ${String(lastError)}`);
}

/** JSON-safe export of a key pair (JWK of the private key), for storage by the broadcaster. */
export async function exportStreamKey(key: StreamKeyPair): Promise<{ alg: StreamKeyAlg; jwk: JsonWebKey }> {
  return { alg: key.alg, jwk: await subtle().exportKey('jwk', key.privateKey) };
}

/** Rebuilds a key pair from `exportStreamKey` output; the streamId comes out the same. */
export async function importStreamKey(stored: { alg: StreamKeyAlg; jwk: JsonWebKey }): Promise<StreamKeyPair> {
  const { alg, jwk } = stored;
  if (alg !== ALG_ED25519 && alg !== ALG_ECDSA_P256) throw new P2PError('BAD_STREAM_KEY', `unknown key algorithm ${alg}`);
  if (!jwk || typeof jwk !== 'object' || typeof jwk.x !== 'string') throw new P2PError('BAD_STREAM_KEY', 'stored key has no public part');
  const params = algParams(alg) as EcKeyImportParams;
  const privateKey = await subtle().importKey('jwk', jwk, params, true, ['sign']);
  const pubJwk: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) };
  const publicKey = await subtle().importKey('jwk', pubJwk, params, true, ['verify']);
  return complete(alg, privateKey, publicKey);
}

/** Imports a public key from its wire form; throws P2PError('BAD_PUBLIC_KEY') when malformed. */
export async function importPublicKey(publicKeyBytes: Uint8Array): Promise<CryptoKey> {
  const alg = publicKeyBytes[0];
  const len = publicKeyBytes.length - 1;
  if (!((alg === ALG_ED25519 && len === 32) || (alg === ALG_ECDSA_P256 && len === 65))) {
    throw new P2PError('BAD_PUBLIC_KEY', `public key of algorithm ${alg} and ${len} bytes is not supported`);
  }
  try {
    return await subtle().importKey('raw', publicKeyBytes.subarray(1) as BufferSource, algParams(alg) as EcKeyImportParams, true, ['verify']);
  } catch (e) {
    throw new P2PError('BAD_PUBLIC_KEY', `public key does not import: ${String(e)}`);
  }
}

export async function signBytes(key: StreamKeyPair, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().sign(signParams(key.alg), key.privateKey, data as BufferSource));
}

/** Verifies a 64-byte signature; false (never a throw) for any malformed input. */
export async function verifyBytes(
  publicKeyBytes: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
  imported?: CryptoKey,
): Promise<boolean> {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    const key = imported ?? (await importPublicKey(publicKeyBytes));
    return await subtle().verify(signParams(publicKeyBytes[0] as StreamKeyAlg), key, signature as BufferSource, data as BufferSource);
  } catch {
    return false;
  }
}
