// What the protocol refuses from its own caller (never from a peer: peer input is dropped and
// counted): a frame the broadcaster cannot publish (BAD_FRAME, at each bound) and a sign job
// without the private stream key (NO_STREAM_KEY). A refused frame takes no sequence number.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { expectCode, expectRejectCode } from '../expect-code.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { createCryptoRunner } from './crypto-jobs.ts';
import { FLAGS_DEFINED, MAX_FRAME_BYTES } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

describe('protocol input errors', () => {
  it('the broadcaster refuses frames out of 1…MAX_FRAME_BYTES, reserved flags and bad capture times with BAD_FRAME', () => {
    const b = new BroadcasterCore({ codec, firstSeq: 10 });
    const ok = new Uint8Array(100).fill(1);
    expectCode(() => b.publishFrame(new Uint8Array(0), 0, 0, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(new Uint8Array(MAX_FRAME_BYTES + 1), 0, 0, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame([1, 2, 3] as unknown as Uint8Array, 0, 0, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(ok, FLAGS_DEFINED + 1, 0, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(ok, -1, 0, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(ok, 1.5, 0, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(ok, 0, -1, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(ok, 0, Number.NaN, 0), 'BAD_FRAME');
    expectCode(() => b.publishFrame(ok, 0, Number.POSITIVE_INFINITY, 0), 'BAD_FRAME');
    // The bounds themselves are accepted, and the refused frames took no sequence number.
    expect(b.publishFrame(new Uint8Array(1), 0, 0, 0)).toBe(10);
    expect(b.publishFrame(new Uint8Array(MAX_FRAME_BYTES).fill(3), FLAGS_DEFINED, 0, 0)).toBe(11);
    expect(b.stats.framesPublished).toBe(2);
  });

  it('a crypto runner without the private key refuses sign jobs with NO_STREAM_KEY and still verifies and hashes', async () => {
    const key = await generateStreamKey();
    const viewer = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId });
    const job = { kind: 'sign-manifest' as const, id: 1, seq: 7, frame: new Uint8Array([1, 2, 3]), captureTimeMs: 9, flags: 0, broadcastId: new Uint8Array(8) };
    await expectRejectCode(viewer(job), 'NO_STREAM_KEY');
    const broadcaster = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId, key });
    const signed = await broadcaster(job);
    if (signed.kind !== 'sign-manifest') throw new Error('wrong result kind');
    expect(await viewer({ kind: 'verify-manifest', id: 2, manifest: signed.manifest })).toEqual({ kind: 'verify-manifest', id: 2, valid: true });
    expect((await viewer({ kind: 'digest', id: 3, data: job.frame })).kind).toBe('digest');
  });
});
