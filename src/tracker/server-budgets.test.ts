// Budgets the tracker scales or caps per role, at their edges on a manual clock: the proven
// broadcaster's socket gets broadcasterRateScale times the message rate and burst (a viewer does
// not), and live streams are capped by maxStreams apart from the waiting ones. Real sockets on
// 127.0.0.1; the broadcaster publishes with a real proof.
import { describe, expect, it } from 'vitest';
import { base64url, generateStreamKey, signBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import { publishProofBytes } from './messages.ts';
import type { Tracker } from './server.ts';
import { expectCountedCode, expectErrorMessageCode, serverHarness, until, type RawPeer } from './test-kit.ts';

const BID = 'AAAAAAAAAAA';
const { cleanups, tracker, raw } = serverHarness();

/** Publishes `key`'s stream on `p` with a valid proof; resolves once joined as its broadcaster. */
async function publish(t: Tracker, p: RawPeer, key: StreamKeyPair): Promise<void> {
  const nonce = Buffer.from(String(p.messages[0].nonce), 'base64url');
  const sig = await signBytes(key, publishProofBytes(nonce, key.streamId, BID, `127.0.0.1:${t.port}`));
  p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(sig) });
  expect((await p.next((m) => m.type === 'joined' || m.type === 'error')).broadcaster).toBe(true);
}

describe('message budgets per role', () => {
  it('gives the broadcaster broadcasterRateScale × the burst and rate, a viewer the plain ones', async () => {
    const { t, clock } = await tracker({ limits: { socketBurst: 2, socketRatePerSec: 1, broadcasterRateScale: 3, maxViolations: 100 } });
    const key = await generateStreamKey();
    const count = async (p: RawPeer, n: number) => {
      const hb = t.metrics.messages.get('heartbeat') ?? 0;
      const rl = t.metrics.rejected.get('RATE_LIMITED') ?? 0;
      for (let i = 0; i < n; i++) p.sendJson({ type: 'heartbeat' });
      await until(() => (t.metrics.messages.get('heartbeat') ?? 0) - hb + (t.metrics.rejected.get('RATE_LIMITED') ?? 0) - rl === n, 5000, 'heartbeats handled');
      return (t.metrics.messages.get('heartbeat') ?? 0) - hb;
    };
    const b = await raw(t);
    await publish(t, b, key);
    // Alone in its stream (its neighbour list is empty): the scale is the broadcaster's.
    await b.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 0);
    await clock.advance(10_000);
    expect(await count(b, 7)).toBe(6);
    const v = await raw(t);
    v.sendJson({ type: 'join', streamId: key.streamId });
    await v.next((m) => m.type === 'joined');
    await b.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 1); // the fan-out rule ran too
    await clock.advance(10_000); // both buckets full again: 6 for the broadcaster, 2 for the viewer
    expect(await count(b, 7)).toBe(6);
    expect(await count(v, 3)).toBe(2);
    // Refilled at 3 per second for the broadcaster, 1 for the viewer.
    await clock.advance(1000);
    expect(await count(b, 4)).toBe(3);
    expect(await count(v, 2)).toBe(1);
  });
});

describe('stream caps', () => {
  it('holds maxStreams live streams, refuses one more with TOO_MANY_STREAMS, and counts waiting rooms apart', async () => {
    const { t } = await tracker({ limits: { maxStreams: 2, maxWaitingStreams: 1 } });
    const keys = await Promise.all([0, 1, 2, 3].map(() => generateStreamKey()));
    // One waiting room (a viewer, no broadcaster): not a live stream.
    const viewer = await raw(t);
    viewer.sendJson({ type: 'join', streamId: keys[3].streamId });
    await viewer.next((m) => m.type === 'joined');
    for (const k of keys.slice(0, 2)) await publish(t, await raw(t), k);
    expect(t.stats().streams).toBe(3);
    const third = await raw(t);
    const nonce = Buffer.from(String(third.messages[0].nonce), 'base64url');
    const sig = await signBytes(keys[2], publishProofBytes(nonce, keys[2].streamId, BID, `127.0.0.1:${t.port}`));
    third.sendJson({ type: 'publish', streamId: keys[2].streamId, publicKey: base64url(keys[2].publicKeyBytes), broadcastId: BID, signature: base64url(sig) });
    expect((await expectErrorMessageCode(third, 'TOO_MANY_STREAMS')).message).toBe('TOO_MANY_STREAMS: the tracker holds its maximum of streams');
    expectCountedCode(t.metrics, 'TOO_MANY_STREAMS', 1);
    expect(t.stats().streams).toBe(3);
    // The broadcaster of the waiting stream is still let in: its room exists already.
    await publish(t, await raw(t), keys[3]);
  });
});
