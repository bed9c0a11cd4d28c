import { describe, expect, it } from 'vitest';
import { ALG_ECDSA_P256, generateStreamKey, sha256 } from '../crypto/stream-key.ts';
import { manifestSignedBytes, ReplayWindow, signManifest, verifyManifest } from './manifest.ts';
import { createCryptoRunner, streamHashOf } from './crypto-jobs.ts';
import { encodeMessage, parseMessage } from './wire.ts';

describe('manifests', () => {
  it('sign, travel on the wire and verify; any changed field fails', async () => {
    const key = await generateStreamKey();
    const hash = streamHashOf(key.streamId);
    const frame = new Uint8Array(5000).map((_, i) => i * 7);
    const m = await signManifest(key, hash, { seq: 42, frame, captureTimeMs: 1234.5, flags: 1 | 4, broadcastId: new Uint8Array(8).fill(7) });
    expect(m.digest).toEqual(await sha256(frame));
    const r = parseMessage(encodeMessage({ type: 'manifest', manifest: m }));
    expect(r.ok).toBe(true);
    const back = r.ok && r.message.type === 'manifest' ? r.message.manifest : m;
    expect(await verifyManifest(key.publicKeyBytes, hash, back)).toBe(true);
    for (const change of [{ seq: 43 }, { length: 4999 }, { captureTimeMs: 1234.6 }, { flags: 1 }, { broadcastId: new Uint8Array(8).fill(8) }]) {
      expect(await verifyManifest(key.publicKeyBytes, hash, { ...back, ...change })).toBe(false);
    }
    const digest = back.digest.slice();
    digest[0] ^= 1;
    expect(await verifyManifest(key.publicKeyBytes, hash, { ...back, digest })).toBe(false);
    const other = await generateStreamKey();
    expect(await verifyManifest(other.publicKeyBytes, streamHashOf(other.streamId), back)).toBe(false);
    expect(await verifyManifest(key.publicKeyBytes, streamHashOf(other.streamId), back)).toBe(false);
  });

  it('works with ECDSA P-256 stream keys through the crypto job runner', async () => {
    const key = await generateStreamKey(ALG_ECDSA_P256);
    const run = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId, key });
    const signed = await run({ kind: 'sign-manifest', id: 1, seq: 7, frame: new Uint8Array([1, 2, 3]), captureTimeMs: 9, flags: 2, broadcastId: new Uint8Array(8) });
    if (signed.kind !== 'sign-manifest') throw new Error('wrong result kind');
    expect(await run({ kind: 'verify-manifest', id: 2, manifest: signed.manifest })).toEqual({ kind: 'verify-manifest', id: 2, valid: true });
    const bad = { ...signed.manifest, signature: new Uint8Array(64) };
    expect(await run({ kind: 'verify-manifest', id: 3, manifest: bad })).toEqual({ kind: 'verify-manifest', id: 3, valid: false });
  });

  it('signed bytes bind the stream', () => {
    const f = { seq: 1, length: 1, captureTimeMs: 0, flags: 0, broadcastId: new Uint8Array(8), digest: new Uint8Array(32) };
    expect(manifestSignedBytes(new Uint8Array(32), f)).not.toEqual(manifestSignedBytes(new Uint8Array(32).fill(1), f));
  });

  it('replay window admits each seq once and refuses old ones', () => {
    const w = new ReplayWindow(8);
    expect(w.fresh(5)).toBe(true);
    w.admit(5);
    expect(w.fresh(5)).toBe(false);
    expect(w.fresh(4)).toBe(true);
    w.admit(20);
    expect(w.fresh(12)).toBe(false);
    expect(w.fresh(13)).toBe(true);
    for (let s = 21; s < 60; s++) w.admit(s);
    expect(w.fresh(40)).toBe(false);
    expect(w.fresh(60)).toBe(true);
    expect(w.newestSeq).toBe(59);
  });
});
