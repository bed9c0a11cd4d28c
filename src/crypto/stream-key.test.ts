import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectCode, expectRejectCode } from '../expect-code.ts';
import {
  ALG_ECDSA_P256, ALG_ED25519, base64url, exportStreamKey, fromBase64url, generateStreamKey,
  importPublicKey, importStreamKey, isStreamId, sha256, signBytes, streamIdOf, verifyBytes,
} from './stream-key.ts';

describe('stream key', () => {
  for (const alg of [ALG_ED25519, ALG_ECDSA_P256] as const) {
    it(`signs and verifies with algorithm ${alg}; streamId is the hash of the public key`, async () => {
      const key = await generateStreamKey(alg);
      expect(key.alg).toBe(alg);
      expect(isStreamId(key.streamId)).toBe(true);
      expect(await streamIdOf(key.publicKeyBytes)).toBe(key.streamId);
      const data = new TextEncoder().encode('frame 1');
      const sig = await signBytes(key, data);
      expect(sig.length).toBe(64);
      expect(await verifyBytes(key.publicKeyBytes, sig, data)).toBe(true);
      const other = new Uint8Array(data);
      other[0] ^= 1;
      expect(await verifyBytes(key.publicKeyBytes, sig, other)).toBe(false);
    });

    it(`survives export and import with the same streamId (algorithm ${alg})`, async () => {
      const key = await generateStreamKey(alg);
      const again = await importStreamKey(JSON.parse(JSON.stringify(await exportStreamKey(key))));
      expect(again.streamId).toBe(key.streamId);
      const sig = await signBytes(again, new Uint8Array([1, 2, 3]));
      expect(await verifyBytes(key.publicKeyBytes, sig, new Uint8Array([1, 2, 3]))).toBe(true);
    });
  }

  it('rejects malformed keys and signatures without throwing', async () => {
    expect(await verifyBytes(new Uint8Array([9, 1, 2]), new Uint8Array(64), new Uint8Array(1))).toBe(false);
    expect(await verifyBytes(new Uint8Array(33).fill(1), new Uint8Array(63), new Uint8Array(1))).toBe(false);
    expect(isStreamId('short')).toBe(false);
  });

  it('base64url round-trips', () => {
    const b = new Uint8Array([0, 255, 62, 63, 1]);
    expect(fromBase64url(base64url(b))).toEqual(b);
    expectCode(() => fromBase64url('not+url'), 'BAD_BASE64URL');
    expectCode(() => fromBase64url('a b'), 'BAD_BASE64URL');
  });
});

describe('stream key errors', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('a stored key of an unknown algorithm or without its public part is BAD_STREAM_KEY', async () => {
    const stored = await exportStreamKey(await generateStreamKey(ALG_ED25519));
    await expectRejectCode(importStreamKey({ ...stored, alg: 3 as never }), 'BAD_STREAM_KEY');
    await expectRejectCode(importStreamKey({ ...stored, jwk: { ...stored.jwk, x: undefined } }), 'BAD_STREAM_KEY');
    await expectRejectCode(importStreamKey({ alg: ALG_ED25519, jwk: null as never }), 'BAD_STREAM_KEY');
    expect((await importStreamKey(stored)).alg).toBe(ALG_ED25519);
  });

  it('a public key of the wrong size or off the curve is BAD_PUBLIC_KEY', async () => {
    const key = await generateStreamKey(ALG_ECDSA_P256);
    await expect(importPublicKey(key.publicKeyBytes)).resolves.toBeDefined();
    await expectRejectCode(importPublicKey(key.publicKeyBytes.subarray(0, 65)), 'BAD_PUBLIC_KEY');
    await expectRejectCode(importPublicKey(new Uint8Array([ALG_ED25519, ...new Uint8Array(31)])), 'BAD_PUBLIC_KEY');
    await expectRejectCode(importPublicKey(new Uint8Array([9, ...new Uint8Array(32)])), 'BAD_PUBLIC_KEY');
    const offCurve = key.publicKeyBytes.slice();
    offCurve[2] ^= 1; // x changed, y kept: not a point of P-256
    await expectRejectCode(importPublicKey(offCurve), 'BAD_PUBLIC_KEY');
  });

  it('without WebCrypto every key operation is CRYPTO_UNAVAILABLE', async () => {
    vi.stubGlobal('crypto', undefined);
    await expectRejectCode(sha256(new Uint8Array(1)), 'CRYPTO_UNAVAILABLE');
    await expectRejectCode(generateStreamKey(), 'CRYPTO_UNAVAILABLE');
  });
});
