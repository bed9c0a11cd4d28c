// The tracker's message handler at the rules that only it applies (the mutation subset
// tracker:messages found them unguarded): a socket joins one stream once, a connection gets one
// publish attempt however it ended, a heartbeat carries renewed TURN credentials once half their
// lifetime passed. Real sockets on 127.0.0.1, a manual clock for the tracker's timers; the TURN
// lifetime is wall-clock time (coturn checks Unix time), so only Date is faked for that test.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { base64url, generateStreamKey, signBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import { publishProofBytes } from './messages.ts';
import type { Tracker } from './server.ts';
import { expectCountedCode, expectErrorMessageCode, serverHarness, until, type RawPeer } from './test-kit.ts';

const { tracker, raw } = serverHarness();
const BID = 'AAAAAAAAAAA';

afterEach(() => {
  vi.useRealTimers();
});

/** A publish with a valid proof for this socket's nonce. */
async function sendPublish(t: Tracker, p: RawPeer, key: StreamKeyPair): Promise<void> {
  const nonce = Buffer.from(String(p.messages[0].nonce), 'base64url');
  const sig = await signBytes(key, publishProofBytes(nonce, key.streamId, BID, `127.0.0.1:${t.port}`));
  p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(sig) });
}

describe('one stream per socket', () => {
  it('answers a second join and a publish after a join with ALREADY_JOINED, and the socket keeps its stream', async () => {
    const { t } = await tracker();
    const [a, b] = [await generateStreamKey(), await generateStreamKey()];
    const p = await raw(t);
    p.sendJson({ type: 'join', streamId: a.streamId });
    await p.next((m) => m.type === 'joined');
    p.sendJson({ type: 'join', streamId: b.streamId });
    await until(() => t.metrics.rejected.get('ALREADY_JOINED') === 1, 5000, 'second join refused');
    // A valid proof for another stream changes nothing either: the socket is a viewer of `a`.
    await sendPublish(t, p, b);
    await until(() => t.metrics.rejected.get('ALREADY_JOINED') === 2, 5000, 'publish after join refused');
    expectCountedCode(t.metrics, 'AUTH_FAILED', 0);
    expect(t.stats()).toEqual({ sockets: 1, peers: 1, streams: 1 });
    expect(p.messages.filter((m) => m.type === 'joined')).toHaveLength(1);
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('one publish attempt per connection', () => {
  it('refuses a second publish on a connection whose first, with a valid proof, was refused; the socket stays open', async () => {
    // The first publish verifies but the tracker is full (TOO_MANY_STREAMS): its nonce is spent.
    const { t } = await tracker({ limits: { maxStreams: 1, maxWaitingStreams: 0 } });
    const [taken, mine] = [await generateStreamKey(), await generateStreamKey()];
    const owner = await raw(t);
    await sendPublish(t, owner, taken);
    await owner.next((m) => m.type === 'joined');
    const p = await raw(t);
    await sendPublish(t, p, mine);
    await expectErrorMessageCode(p, 'TOO_MANY_STREAMS');
    // The same valid proof again: one attempt per connection, refused without a check and without
    // closing (a failed proof check closes the socket with 1008).
    // (Counted, not read from the socket: error replies to one socket are throttled.)
    await sendPublish(t, p, mine);
    await until(() => t.metrics.rejected.get('AUTH_FAILED') === 1, 5000, 'second publish refused');
    // Still open and usable: a join to the live stream is answered.
    p.sendJson({ type: 'join', streamId: taken.streamId });
    await p.next((m) => m.type === 'joined');
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('TURN credentials on heartbeat', () => {
  it('a heartbeat once half the credentials’ lifetime passed brings new ones; one before does not', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2026, 0, 1);
    vi.setSystemTime(start);
    const { t } = await tracker({ ice: { turnUrls: ['turn:192.0.2.1:3478'], turnSecret: 'north-wind-secret', ttlSec: 120 } });
    const key = await generateStreamKey();
    const p = await raw(t);
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    const ices = () => p.messages.filter((m) => m.type === 'ice') as Array<{ iceServers: Array<{ username?: string }> }>;
    expect(ices()).toHaveLength(1);
    vi.setSystemTime(start + 59_000);
    p.sendJson({ type: 'heartbeat', uploadBps: 1 });
    await until(() => t.metrics.messages.get('heartbeat') === 1, 5000, 'first heartbeat');
    vi.setSystemTime(start + 61_000);
    p.sendJson({ type: 'heartbeat', uploadBps: 1 });
    const renewed = (await p.next((m) => m.type === 'ice' && m !== ices()[0])) as { iceServers: Array<{ username?: string }> };
    expect(ices()).toHaveLength(2);
    // New credentials: their expiry is counted from the renewal.
    const expiry = (m: { iceServers: Array<{ username?: string }> }) => Number(m.iceServers.find((s) => s.username)!.username!.split(':')[0]);
    expect(expiry(renewed) - expiry(ices()[0])).toBe(61);
  });
});
