// The broadcaster's upload by cause: every message it sends is counted once, under the cause it was
// sent for, the parts add up to the bytes it sent, and media dropped from a queue as stale is not
// counted.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { BroadcasterCore, type BroadcasterConfig } from './broadcaster-core.ts';
import type { CoreOutput } from './core-types.ts';
import { createCryptoRunner } from './crypto-jobs.ts';
import { KeySet } from './key-set.ts';
import { dataBytesOfPart } from './upload-breakdown.ts';
import { encodedLength, FLAG_INIT_SEGMENT, type WireMessage } from './wire.ts';

let codec: Codec;
let run: ReturnType<typeof createCryptoRunner>;
beforeAll(async () => {
  codec = createReferenceCodec();
  const key = await generateStreamKey();
  run = createCryptoRunner({ publicKeyBytes: key.publicKeyBytes, streamId: key.streamId, key });
});

type Sent = { to: string; message: WireMessage };

/** A broadcaster with viewers a, b, c; `drain` reads its output, media acknowledged unless `hold`. */
function setup(config?: Partial<BroadcasterConfig>) {
  const b = new BroadcasterCore({ codec, config });
  const sent: Sent[] = [];
  let hold = false;
  const drain = async (nowMs: number): Promise<void> => {
    for (let o: CoreOutput | undefined; (o = b.pollOutput()); ) {
      if (o.type === 'send') sent.push({ to: o.peerId, message: o.message });
      if (o.type === 'crypto') b.handleCryptoResult(await run(o.job), nowMs);
      if (!hold && (o.type === 'want-writable' || (o.type === 'send' && o.channel === 'media'))) b.handleBufferedAmount(o.peerId, 0, nowMs);
    }
  };
  for (const id of ['a', 'b', 'c']) b.handlePeerConnected(id, 0);
  return { b, sent, drain, hold: (h: boolean) => (hold = h) };
}

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe('broadcaster upload by cause', () => {
  it('splits a direct-feed frame into frame bytes, padding, spare keys and headers, and adds up to what was sent', async () => {
    const { b, sent, drain } = setup({ directSpareKeys: 2, directSpareKeysMax: 2 });
    await drain(0);
    b.publishFrame(bytes(3000), 0, 0, 0);
    await drain(0);
    const u = b.upload;
    // 3000 bytes in parts of 128: 24 parts hold frame bytes (the last one 56 of them plus 72 of
    // padding); the 40 all-zero parts past the end are implied, never sent.
    expect(u.directData).toBe(3000);
    expect(u.directPadding).toBe(24 * 128 - 3000);
    expect(u.directSpare).toBe(2 * 128);
    expect(u.directMessages).toBe(26);
    expect(u.directHeaders).toBe(26 * 7);
    expect(u.manifests).toBe(2 * encodedLength(sent.find((s) => s.message.type === 'manifest')!.message));
    expect(u.control).toBe(sent.filter((s) => s.message.type === 'hello' || s.message.type === 'direct-slot').reduce((n, s) => n + encodedLength(s.message), 0));
    expect(u.repairs + u.segments + u.segmentRepairs + u.manifestAnswers + u.initAnswers).toBe(0);
    expect(u.total).toBe(sent.reduce((n, s) => n + encodedLength(s.message), 0));
    expect(u.directData + u.directPadding + u.directSpare + u.directHeaders + u.manifests + u.control).toBe(u.total);
  });

  it('counts answers apart: repaired keys, manifests asked for, the init segment', async () => {
    const { b, sent, drain } = setup({ directSpareKeys: 0, directSpareKeysMax: 0 });
    await drain(0);
    const init = b.publishFrame(bytes(900), FLAG_INIT_SEGMENT, 0, 0);
    const seq = b.publishFrame(bytes(20_000), 0, 0, 0);
    await drain(0);
    const before = { ...b.upload };
    const n = sent.length;
    // Viewer a asks again for two keys of its own slot, for the manifest, and for the init segment.
    const slotKeys = sent.filter((s) => s.to === 'a' && s.message.type === 'feed' && s.message.seq === seq).map((s) => (s.message as { x: number }).x);
    b.handleParsed('a', { type: 'request', seq, count: 2, allowed: KeySet.of(slotKeys.slice(0, 2)).toBytes() }, 10);
    b.handleParsed('a', { type: 'manifest-request', seq }, 10);
    b.handleParsed('a', { type: 'init-request', seq: init }, 10);
    await drain(10);
    const answers = sent.slice(n);
    const size = (t: WireMessage['type']) => answers.filter((s) => s.message.type === t).reduce((k, s) => k + encodedLength(s.message), 0);
    expect(answers.filter((s) => s.message.type === 'feed')).toHaveLength(2);
    // The init frame's direct keys (900 bytes: 8 parts of 128 hold them, the 56 others are
    // implied zeros, not sent) are counted apart as well.
    expect(before.directInitFrames).toBe(8 * (128 + 7));
    expect(b.upload.repairs - before.repairs).toBe(size('feed'));
    expect(b.upload.repairMessages - before.repairMessages).toBe(2);
    expect(b.upload.manifestAnswers - before.manifestAnswers).toBe(size('manifest'));
    expect(b.upload.initAnswers - before.initAnswers).toBe(size('init-segment'));
    expect(size('init-segment')).toBeGreaterThan(900);
    expect(b.upload.directMessages).toBe(before.directMessages);
    expect(b.upload.total - before.total).toBe(answers.reduce((k, s) => k + encodedLength(s.message), 0));
    expect(b.stats.repairsRepeated).toBe(0);
    // Asked again (its first answer lost, or still on its way): sent again, counted as repeated.
    b.handleParsed('a', { type: 'request', seq, count: 1, allowed: KeySet.of(slotKeys.slice(0, 1)).toBytes() }, 20);
    await drain(20);
    expect(b.stats.repairsRepeated).toBe(1);
  });

  it('counts the keys asked for beyond the repair allowance', async () => {
    // Allowance: a quarter of repairBurstBytes to start (128 bytes: one key of P = 128), nothing earned.
    const { b, sent, drain } = setup({ directSpareKeys: 0, directSpareKeysMax: 0, repairShare: 0, repairBurstBytes: 512 });
    await drain(0);
    const seq = b.publishFrame(bytes(8192), 0, 0, 0);
    await drain(0);
    const mine = sent.filter((s) => s.to === 'a' && s.message.type === 'feed').map((s) => (s.message as { x: number }).x);
    b.handleParsed('a', { type: 'request', seq, count: 3, allowed: KeySet.of(mine.slice(0, 4)).toBytes() }, 10);
    await drain(10);
    expect(b.upload.repairMessages).toBe(1);
    expect(b.stats.repairsShort).toBe(2);
    expect(b.stats.slotKeysAsked).toBe(4);
    // A viewer short of keys asks for keys beyond the direct set (64 here): counted up to the request's count.
    b.handleParsed('b', { type: 'request', seq, count: 2, allowed: KeySet.of([64, 65, 66]).toBytes() }, 20);
    expect(b.stats.extraKeysAsked).toBe(2);
  });

  it('does not count media dropped from a queue as stale', async () => {
    const { b, sent, drain, hold } = setup({ directSpareKeys: 0, directSpareKeysMax: 0, mediaBudgetBytes: 1000, mediaLifetimeMs: 100 });
    await drain(0);
    hold(true);
    b.publishFrame(bytes(8192), 0, 0, 0);
    await drain(0);
    const early = sent.filter((s) => s.message.type === 'feed').length;
    expect(early).toBeLessThan(64);
    hold(false);
    // The channels drain after the media's lifetime: what waited is dropped, not sent.
    for (const id of ['a', 'b', 'c']) b.handleBufferedAmount(id, 0, 500);
    await drain(500);
    expect(sent.filter((s) => s.message.type === 'feed').length).toBe(early);
    expect(b.upload.directMessages).toBe(early);
    expect(b.upload.total).toBe(sent.reduce((n, s) => n + encodedLength(s.message), 0));
  });

  it('takes as frame bytes of a systematic part only what lies before the frame end', () => {
    expect([0, 1, 23, 24, 63].map((x) => dataBytesOfPart(x, 3000, 128))).toEqual([128, 128, 56, 0, 0]);
    expect(dataBytesOfPart(63, 65536, 1024)).toBe(1024);
  });
});
