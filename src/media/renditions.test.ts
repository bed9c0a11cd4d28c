import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateStreamKey, isStreamId, signBytes, verifyBytes } from '../crypto/stream-key.ts';
import { expectCode, expectRejectCode } from '../expect-code.ts';
import {
  MAX_RENDITION_LIST_BYTES,
  checkRenditionList,
  decodeRenditionMessage,
  encodeRenditionBody,
  encodeRenditionMessage,
  renditionSignedBytes,
  renditionSwarmId,
  type RenditionInfo,
} from './renditions.ts';

const LIST: RenditionInfo[] = [
  { name: '720p', height: 720, bitrateBps: 1_500_000 },
  { name: '360p', height: 360, bitrateBps: 400_000 },
];

describe('renditionSwarmId', () => {
  it('is a 43-character id, deterministic, different per name and per stream', async () => {
    const key = await generateStreamKey();
    const a = await renditionSwarmId(key.streamId, '360p');
    expect(isStreamId(a)).toBe(true);
    expect(await renditionSwarmId(key.streamId, '360p')).toBe(a);
    expect(await renditionSwarmId(key.streamId, '240p')).not.toBe(a);
    expect(a).not.toBe(key.streamId);
    const other = await generateStreamKey();
    expect(await renditionSwarmId(other.streamId, '360p')).not.toBe(a);
  });

  it('refuses a bad stream id or name', async () => {
    const key = await generateStreamKey();
    await expectRejectCode(renditionSwarmId('short', '360p'), 'BAD_RENDITIONS');
    await expectRejectCode(renditionSwarmId(key.streamId, 'UPPER'), 'BAD_RENDITIONS');
    await expectRejectCode(renditionSwarmId(key.streamId, 'x'.repeat(17)), 'BAD_RENDITIONS');
  });
});

describe('checkRenditionList', () => {
  it('takes a top-first list and refuses bad ones', () => {
    checkRenditionList(LIST);
    expectCode(() => checkRenditionList([]), 'BAD_RENDITIONS');
    expectCode(() => checkRenditionList([...LIST].reverse()), 'BAD_RENDITIONS');
    expectCode(() => checkRenditionList([LIST[0], { ...LIST[1], name: '720p' }]), 'BAD_RENDITIONS');
    expectCode(() => checkRenditionList(Array.from({ length: 5 }, (_, i) => ({ name: `r${i}`, height: 1000 - i * 100, bitrateBps: 1 }))), 'BAD_RENDITIONS');
  });
});

describe('rendition list message', () => {
  it('round-trips and its signature verifies with the stream key', async () => {
    const key = await generateStreamKey();
    const broadcastId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const body = encodeRenditionBody(broadcastId, LIST);
    const sig = await signBytes(key, renditionSignedBytes(key.streamId, body));
    const msg = encodeRenditionMessage(body, sig);
    expect(msg.length).toBeLessThanOrEqual(MAX_RENDITION_LIST_BYTES);
    const d = decodeRenditionMessage(msg)!;
    expect(d.list).toEqual(LIST);
    expect([...d.broadcastId]).toEqual([...broadcastId]);
    expect(await verifyBytes(key.publicKeyBytes, d.signature, renditionSignedBytes(key.streamId, d.body))).toBe(true);
    const other = await generateStreamKey();
    expect(await verifyBytes(key.publicKeyBytes, d.signature, renditionSignedBytes(other.streamId, d.body))).toBe(false);
  });

  it('a list of four renditions with the longest names fits the bound exactly', async () => {
    const key = await generateStreamKey();
    const list = [0, 1, 2, 3].map((i) => ({ name: `${i}`.repeat(16), height: 1000 - i * 200, bitrateBps: 50_000_000 }));
    const body = encodeRenditionBody(new Uint8Array(8), list);
    const msg = encodeRenditionMessage(body, await signBytes(key, renditionSignedBytes(key.streamId, body)));
    expect(MAX_RENDITION_LIST_BYTES).toBe(168);
    expect(msg.length).toBe(MAX_RENDITION_LIST_BYTES);
    expect(decodeRenditionMessage(msg)?.list).toEqual(list);
  });

  it('never throws on arbitrary bytes and stays within its bound', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const d = decodeRenditionMessage(bytes);
      if (d) expect(bytes.length).toBeLessThanOrEqual(MAX_RENDITION_LIST_BYTES);
    }));
  });

  it('refuses a truncated or extended message', async () => {
    const key = await generateStreamKey();
    const body = encodeRenditionBody(new Uint8Array(8), LIST);
    const msg = encodeRenditionMessage(body, await signBytes(key, renditionSignedBytes(key.streamId, body)));
    expect(decodeRenditionMessage(msg.subarray(0, msg.length - 1))).toBeNull();
    expect(decodeRenditionMessage(Uint8Array.from([...msg, 0]))).toBeNull();
  });
});
