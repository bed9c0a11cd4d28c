// The tracker closes a socket for a sustained stream of bad messages only: each at its boundary on
// a manual clock. maxViolations bad messages are kept, one more closes (1008); violations decay by
// one per second of the clock; soft refusals (a signal to a peer that is not a neighbour) never
// count; one complaint per complaintIntervalMs; error texts are cut to LIMITS.maxErrorText; a join
// refused with ROOM_FULL leaves the stream's room as it was. Real sockets on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { base64url, generateStreamKey, signBytes } from '../crypto/stream-key.ts';
import { LIMITS, publishProofBytes } from './messages.ts';
import type { Tracker } from './server.ts';
import { expectCountedCode, expectErrorMessageCode, serverHarness, until, type RawPeer } from './test-kit.ts';

const { cleanups, tracker, raw } = serverHarness();

/** Sends `n` binary frames (BAD_MESSAGE, a violation each) and waits until the tracker counted them. */
async function badFrames(t: Tracker, p: RawPeer, n: number): Promise<void> {
  const before = t.metrics.totalRejected();
  for (let i = 0; i < n; i++) p.ws.send(Buffer.from([1]), { binary: true });
  await until(() => t.metrics.totalRejected() === before + n, 5000, `${n} bad frames counted`);
}

/** Joins `streamId`; resolves once `joined` came back (proof that the socket was not closed before). */
async function joins(p: RawPeer, streamId: string): Promise<string> {
  p.sendJson({ type: 'join', streamId });
  return (await p.next((m) => m.type === 'joined')).peerId as string;
}

describe('violations', () => {
  it('keeps a socket with maxViolations bad messages and closes it at one more (1008)', async () => {
    const { t } = await tracker({ limits: { maxViolations: 3 } });
    const key = await generateStreamKey();
    const p = await raw(t);
    await badFrames(t, p, 3);
    await joins(p, key.streamId); // answered: still open
    await badFrames(t, p, 1);
    expect(await p.closed).toEqual({ code: 1008, reason: 'too many bad messages' });
  });

  it('forgives one violation per second of the clock, not before the second is over', async () => {
    const { t, clock } = await tracker({ limits: { maxViolations: 3 } });
    const key = await generateStreamKey();
    const kept = await raw(t);
    const closed = await raw(t);
    await badFrames(t, kept, 3);
    await badFrames(t, closed, 3);
    await clock.advance(999);
    await badFrames(t, closed, 1); // 3 − 0.999 + 1 > 3
    expect((await closed.closed).code).toBe(1008);
    await clock.advance(1);
    await badFrames(t, kept, 1); // 3 − 1 + 1 = 3
    await joins(kept, key.streamId);
    // Long quiet forgives everything, never below zero: three more are kept again, not four.
    await clock.advance(60_000);
    await badFrames(t, kept, 3);
    kept.sendJson({ type: 'heartbeat', uploadBps: 1 });
    await until(() => t.metrics.messages.get('heartbeat') === 1, 5000, 'heartbeat');
    await badFrames(t, kept, 1);
    expect((await kept.closed).code).toBe(1008);
  });

  it('never counts a signal to a peer that is not a neighbour (a race, not an offence)', async () => {
    const { t } = await tracker({ limits: { maxViolations: 2 } });
    const key = await generateStreamKey();
    const a = await raw(t);
    const b = await raw(t);
    await joins(a, key.streamId);
    const bid = await joins(b, key.streamId);
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === bid));
    for (let i = 0; i < 6; i++) a.sendJson({ type: 'signal', to: 'nobody00000', data: { i } });
    await until(() => t.metrics.rejected.get('NOT_NEIGHBOURS') === 6, 5000, 'six refused');
    await expectErrorMessageCode(a, 'NOT_NEIGHBOURS');
    a.sendJson({ type: 'signal', to: bid, data: { after: 1 } });
    expect((await b.next((m) => m.type === 'signal')).data).toEqual({ after: 1 });
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('takes one complaint per complaintIntervalMs: the next at 999 ms is RATE_LIMITED, at 1000 ms it is heard', async () => {
    const { t, clock } = await tracker({ limits: { complaintIntervalMs: 1000 } });
    const key = await generateStreamKey();
    const p = await raw(t);
    await joins(p, key.streamId);
    const complain = () => p.sendJson({ type: 'complaint', peerId: 'holder00000', reason: 'withholding' });
    complain(); // heard, and ignored: p produces from nobody's seeds (soft)
    await until(() => t.metrics.rejected.get('NOT_NEIGHBOURS') === 1, 5000, 'first complaint');
    await clock.advance(999);
    complain();
    await until(() => t.metrics.rejected.get('RATE_LIMITED') === 1, 5000, 'second complaint refused');
    await clock.advance(1);
    complain();
    await until(() => t.metrics.rejected.get('NOT_NEIGHBOURS') === 2, 5000, 'third complaint heard');
    expectCountedCode(t.metrics, 'RATE_LIMITED', 1);
  });
});

describe('error replies', () => {
  it('cut their text to LIMITS.maxErrorText characters', async () => {
    // Long configured identities make the AUTH_FAILED text long.
    const origins = ['a', 'b', 'c'].map((c) => `${c.repeat(120)}.example`);
    const { t } = await tracker({ origins });
    const key = await generateStreamKey();
    const p = await raw(t);
    const nonce = Buffer.from(String(p.messages[0].nonce), 'base64url');
    const sig = await signBytes(key, publishProofBytes(nonce, key.streamId, 'AAAAAAAAAAA', 'wrong.example'));
    p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: 'AAAAAAAAAAA', signature: base64url(sig) });
    const e = await expectErrorMessageCode(p, 'AUTH_FAILED');
    expect(e.message).toHaveLength(LIMITS.maxErrorText);
    expect(String(e.message).startsWith('the stream key proof does not verify')).toBe(true);
  });
});

describe('a refused join', () => {
  it('leaves the full stream as it was: its room, its peers, their relays', async () => {
    const { t } = await tracker({ limits: { maxPeersPerStream: 2 } });
    const key = await generateStreamKey();
    const a = await raw(t);
    const b = await raw(t);
    await joins(a, key.streamId);
    const bid = await joins(b, key.streamId);
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === bid));
    const c = await raw(t);
    c.sendJson({ type: 'join', streamId: key.streamId });
    await expectErrorMessageCode(c, 'ROOM_FULL');
    expect(t.stats()).toEqual({ sockets: 3, peers: 2, streams: 1 });
    a.sendJson({ type: 'heartbeat', uploadBps: 1 });
    a.sendJson({ type: 'signal', to: bid, data: { still: 'here' } });
    expect((await b.next((m) => m.type === 'signal')).data).toEqual({ still: 'here' });
    expectCountedCode(t.metrics, 'INTERNAL', 0);
  });
});
