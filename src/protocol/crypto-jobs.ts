// The crypto work the cores hand out (verify a manifest, hash a decoded frame, sign a manifest) as
// plain job records, and a runner that does it with WebCrypto. The cores stay synchronous and
// I/O-free: they emit a job and take its result back through handleCryptoResult. Used by the
// session, the tests and the simulator in real-bytes mode.

import { fromBase64url, sha256, importPublicKey, type StreamKeyPair } from '../crypto/stream-key.ts';
import { P2PError } from '../errors.ts';
import { signManifest, verifyManifest } from './manifest.ts';
import type { Manifest } from './wire.ts';

export type CryptoJob =
  | { kind: 'verify-manifest'; id: number; manifest: Manifest }
  | { kind: 'digest'; id: number; data: Uint8Array }
  | { kind: 'sign-manifest'; id: number; seq: number; frame: Uint8Array; captureTimeMs: number; flags: number; broadcastId: Uint8Array };

export type CryptoResult =
  | { kind: 'verify-manifest'; id: number; valid: boolean }
  | { kind: 'digest'; id: number; digest: Uint8Array }
  | { kind: 'sign-manifest'; id: number; manifest: Manifest };

/** The 32 hash bytes a streamId names (its public key's SHA-256). */
export function streamHashOf(streamId: string): Uint8Array {
  return fromBase64url(streamId);
}

/**
 * Runs jobs with WebCrypto for one stream. `key` (the private stream key) is needed only by the
 * broadcaster for sign jobs. A verify job never rejects (false on any failure).
 */
export function createCryptoRunner(opts: { publicKeyBytes: Uint8Array; streamId: string; key?: StreamKeyPair }) {
  const streamHash = streamHashOf(opts.streamId);
  let imported: Promise<CryptoKey | undefined> | undefined;
  const publicKey = () => (imported ??= importPublicKey(opts.publicKeyBytes).catch(() => undefined));
  return async function run(job: CryptoJob): Promise<CryptoResult> {
    switch (job.kind) {
      case 'verify-manifest': {
        const k = await publicKey();
        const valid = k ? await verifyManifest(opts.publicKeyBytes, streamHash, job.manifest, k) : false;
        return { kind: job.kind, id: job.id, valid };
      }
      case 'digest':
        return { kind: job.kind, id: job.id, digest: await sha256(job.data) };
      case 'sign-manifest': {
        if (!opts.key) throw new P2PError('NO_STREAM_KEY', 'a sign-manifest job needs the private stream key');
        const manifest = await signManifest(opts.key, streamHash, job);
        return { kind: job.kind, id: job.id, manifest };
      }
    }
  };
}
