import { describe, expect, it } from 'vitest';
import {
  ALG_ECDSA_P256, ALG_ED25519, base64url, exportStreamKey, fromBase64url, generateStreamKey,
  importStreamKey, isStreamId, signBytes, streamIdOf, verifyBytes,
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
    expect(() => fromBase64url('not+url')).toThrow();
  });
});
