// The server's limits, each shown at its boundary on a manual clock (no sleeps): join timeout,
// error-reply throttle, peers per stream, replaced sockets and broadcasters, quiet peers, the
// socket caps, and a broadcaster whose socket drops. Real sockets on 127.0.0.1.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateStreamKey, type StreamKeyPair } from '../crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { Tracker } from './server.ts';
import { expectClientErrorCode, expectCountedCode, expectErrorMessageCode, manualClock, nextEvent, rawPeer, serverHarness, until, type RawPeer } from './test-kit.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const { cleanups, tracker, raw } = serverHarness();

function client(t: Tracker, key: StreamKeyPair, extra: Partial<ConstructorParameters<typeof TrackerClient>[0]> = {}): TrackerClient {
  const c = new TrackerClient({ url: t.url!, streamId: key.streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
  cleanups.push(() => c.destroy());
  c.connect();
  return c;
}

function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

const idOf = (p: RawPeer) => p.messages.find((m) => m.type === 'joined')!.peerId as string;
const errorsOf = (p: RawPeer) => p.messages.filter((m) => m.type === 'error').map((m) => m.code);

describe('tracker limits on a manual clock', () => {
  it('closes a socket that never joins, and only after joinTimeoutMs', async () => {
    const { t, clock } = await tracker({ limits: { pingIntervalMs: 1600, joinTimeoutMs: 3000 } });
    const idle = await raw(t);
    const key = await generateStreamKey();
    const joined = await raw(t);
    joined.sendJson({ type: 'join', streamId: key.streamId });
    await joined.next((m) => m.type === 'joined');
    await clock.advance(3000, 2); // every ping slot has run at least once, none past the timeout
    expect(idle.ws.readyState).toBe(WebSocket.OPEN);
    expectCountedCode(t.metrics, 'JOIN_TIMEOUT', 0);
    await clock.advance(1700, 2); // the idle socket's slot comes round after the timeout
    expect((await idle.closed).code).toBe(1006);
    expectCountedCode(t.metrics, 'JOIN_TIMEOUT', 1);
    // A joined socket answering pings stays.
    expect(joined.ws.readyState).toBe(WebSocket.OPEN);
    expectCountedCode(t.metrics, 'HALF_OPEN', 0);
  });

  it('answers errors at most once per 200 ms per socket (the next one after more than 200 ms)', async () => {
    const { t, clock } = await tracker();
    const p = await raw(t);
    p.ws.send('{bad');
    p.ws.send('{"type":"nope"}');
    await until(() => t.metrics.totalRejected() === 2, 5000, 'both rejected');
    await clock.advance(200);
    p.sendJson({ type: 'heartbeat' });
    await until(() => t.metrics.totalRejected() === 3, 5000, 'third rejected');
    expectCountedCode(t.metrics, 'NOT_JOINED', 1); // a heartbeat before join, counted but not answered (throttled)
    await clock.advance(1);
    p.sendJson({ type: 'join', streamId: 'short' });
    await expectErrorMessageCode(p, 'BAD_JSON');
    await expectErrorMessageCode(p, 'BAD_MESSAGE', p.messages.findIndex((m) => m.type === 'error') + 1);
    expect(errorsOf(p)).toEqual(['BAD_JSON', 'BAD_MESSAGE']);
    expect([...t.metrics.rejected.entries()].sort()).toEqual([['BAD_JSON', 1], ['BAD_MESSAGE', 1], ['NOT_JOINED', 1], ['UNKNOWN_TYPE', 1]]);
  });

  it('refuses the message beyond socketBurst with RATE_LIMITED, and takes one more after 1/socketRatePerSec', async () => {
    const { t, clock } = await tracker({ limits: { socketBurst: 3, socketRatePerSec: 1 } });
    const key = await generateStreamKey();
    const p = await raw(t);
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    p.sendJson({ type: 'heartbeat' });
    p.sendJson({ type: 'heartbeat' }); // the third message: the burst is spent, all taken
    p.sendJson({ type: 'heartbeat' });
    expect((await expectErrorMessageCode(p, 'RATE_LIMITED')).message).toBe('too many messages');
    expect(t.metrics.messages.get('heartbeat')).toBe(2);
    await clock.advance(999);
    p.sendJson({ type: 'heartbeat' });
    await expectErrorMessageCode(p, 'RATE_LIMITED', p.messages.findIndex((m) => m.type === 'error') + 1);
    await clock.advance(1);
    p.sendJson({ type: 'heartbeat' });
    await until(() => t.metrics.messages.get('heartbeat') === 3, 5000, 'the refilled token taken');
    expectCountedCode(t.metrics, 'RATE_LIMITED', 2);
  });

  it('counts a failure inside the message path as INTERNAL, drops only that socket and keeps serving', async () => {
    // No valid or invalid input reaches this path (that would be a bug); a clock that fails once
    // while a message is handled stands in for one.
    const base = manualClock();
    let failNext = false;
    const clock = {
      ...base,
      now() {
        if (!failNext) return base.now();
        failNext = false;
        throw new Error('clock failed');
      },
    };
    const { t } = await tracker({ clock });
    const key = await generateStreamKey();
    const other = await raw(t);
    other.sendJson({ type: 'join', streamId: key.streamId });
    await other.next((m) => m.type === 'joined');
    const p = await raw(t);
    failNext = true;
    p.sendJson({ type: 'join', streamId: key.streamId });
    await until(() => p.ws.readyState === WebSocket.CLOSED, 5000, 'the socket dropped');
    expect((await p.closed).code).toBe(1006);
    expectCountedCode(t.metrics, 'INTERNAL', 1);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    const q = await raw(t);
    q.sendJson({ type: 'join', streamId: key.streamId });
    await q.next((m) => m.type === 'joined');
  });

  it('refuses the peer beyond maxPeersPerStream with ROOM_FULL', async () => {
    const { t } = await tracker({ limits: { maxPeersPerStream: 2 } });
    const key = await generateStreamKey();
    const b = client(t, key, { broadcasterKey: key });
    await nextEvent(b, 'joined');
    const v = client(t, key);
    await nextEvent(v, 'joined');
    const third = await raw(t);
    third.sendJson({ type: 'join', streamId: key.streamId });
    await expectErrorMessageCode(third, 'ROOM_FULL');
    expect(t.stats().peers).toBe(2);
    // Another stream is not affected.
    third.sendJson({ type: 'join', streamId: (await generateStreamKey()).streamId });
    await third.next((m) => m.type === 'joined');
  });

  it('replaces a peer that connects again with the same secret, and a broadcaster by a newer one', async () => {
    const { t } = await tracker();
    const key = await generateStreamKey();
    const b1 = client(t, key, { broadcasterKey: key });
    await nextEvent(b1, 'joined');
    const v1 = client(t, key, { peerSecret: 's'.repeat(22) });
    const id1 = (await nextEvent(v1, 'joined')).peerId;
    const replacedViewer = expectClientErrorCode(v1, 'REPLACED');
    const v2 = client(t, key, { peerSecret: 's'.repeat(22) });
    expect((await nextEvent(v2, 'joined')).peerId).toBe(id1);
    await replacedViewer;
    const replacedBroadcaster = expectClientErrorCode(b1, 'REPLACED');
    const b2 = client(t, key, { broadcasterKey: key });
    expect((await nextEvent(b2, 'joined')).broadcaster).toBe(true);
    await replacedBroadcaster;
    // A replaced client does not come back to fight over the place.
    await until(() => !b1.connected && !v1.connected, 5000, 'replaced clients closed');
  });

  it('times out a joined peer that sends nothing for peerTimeoutMs', async () => {
    const { t, clock } = await tracker({ room: { peerTimeoutMs: 60_000, heartbeatMs: 30_000 } });
    const key = await generateStreamKey();
    const p = await raw(t);
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    await clock.advance(59_000, 1);
    p.sendJson({ type: 'heartbeat' }); // heard from: the timeout starts again
    await until(() => t.metrics.messages.get('heartbeat') === 1, 5000, 'heartbeat');
    await clock.advance(59_000, 1);
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
    await clock.advance(2_000, 1);
    await expectErrorMessageCode(p, 'TIMEOUT');
    expect((await p.closed).code).toBe(1000);
  });

  it('puts viewers back to waiting when the broadcaster’s socket drops, and ends the stream on its leave', async () => {
    const { t } = await tracker();
    const key = await generateStreamKey();
    const b = client(t, key, { broadcasterKey: key, peerSecret: 'b'.repeat(22) });
    await nextEvent(b, 'joined');
    const v = client(t, key);
    await nextEvent(v, 'joined');
    await until(() => v.state === 'live', 5000, 'live');
    const waiting = nextEvent(v, 'stream');
    b.destroy(); // the socket closes without a leave: the broadcaster may come back
    expect((await waiting).state).toBe('waiting');
    const b2 = client(t, key, { broadcasterKey: key, peerSecret: 'b'.repeat(22) });
    await nextEvent(b2, 'joined');
    await until(() => v.state === 'live', 5000, 'live again');
    const ended = nextEvent(v, 'stream');
    b2.leave();
    expect((await ended).state).toBe('ended');
  });

  it('counts the characters of every text frame it sends (p2p_tracker_sent_bytes_total)', async () => {
    const { t } = await tracker();
    const p = await raw(t);
    await p.next((m) => m.type === 'welcome');
    p.sendJson({ type: 'no-such-type' });
    await p.next((m) => m.type === 'error');
    expect(p.messages).toHaveLength(2);
    expect(t.metrics.bytesOut).toBe(p.messages.reduce((n, m) => n + JSON.stringify(m).length, 0));
  });

  it('a broadcaster replaced by its own new socket (same secret) never ends the stream for its viewers', async () => {
    const { t } = await tracker();
    const key = await generateStreamKey();
    const b = client(t, key, { broadcasterKey: key, peerSecret: 'b'.repeat(22) });
    await nextEvent(b, 'joined');
    const v = client(t, key);
    await nextEvent(v, 'joined');
    await until(() => v.state === 'live', 5000, 'live');
    const states: string[] = [];
    v.on('stream', (e) => states.push(e.state));
    const replaced = expectClientErrorCode(b, 'REPLACED');
    const b2 = client(t, key, { broadcasterKey: key, peerSecret: 'b'.repeat(22) });
    await replaced;
    await nextEvent(b2, 'joined');
    await until(() => v.state === 'live' && states.length > 0, 5000, 'live again');
    expect(states).not.toContain('ended');
    expect(states.at(-1)).toBe('live');
  });

  it('refuses sockets beyond maxSockets and maxSocketsPerAddress with HTTP 429, counted TOO_MANY_SOCKETS', async () => {
    const { t } = await tracker({ trustProxy: true, limits: { maxSockets: 4, maxSocketsPerAddress: 2 } });
    await raw(t, { 'x-forwarded-for': '198.51.100.1' });
    await raw(t, { 'x-forwarded-for': '198.51.100.1' });
    await expect(rawPeer(t.url!, { 'x-forwarded-for': '198.51.100.1' })).rejects.toThrow(/429/);
    expectCountedCode(t.metrics, 'TOO_MANY_SOCKETS', 1);
    await raw(t, { 'x-forwarded-for': '198.51.100.2' });
    await raw(t, { 'x-forwarded-for': '198.51.100.3' });
    await expect(rawPeer(t.url!, { 'x-forwarded-for': '198.51.100.4' })).rejects.toThrow(/429/);
    expectCountedCode(t.metrics, 'TOO_MANY_SOCKETS', 2);
  });

  it('budgets joins per address and per IPv6 /64, refilled over time', async () => {
    const { t, clock } = await tracker({ trustProxy: true, limits: { addressJoinBurst: 2, addressJoinRatePerSec: 0.5 } });
    const key = await generateStreamKey();
    /** Joins from `xff`; resolves with the socket's first answer (joined or an error). */
    const join = async (xff: string) => {
      const p = await raw(t, { 'x-forwarded-for': xff });
      p.sendJson({ type: 'join', streamId: key.streamId });
      await p.next((x) => x.type === 'joined' || x.type === 'error');
      p.ws.terminate(); // closing does not give the budget back
      return p;
    };
    const joins = async (xff: string) => expect((await join(xff)).messages[1].type).toBe('joined');
    await joins('2001:db8:1:2::1');
    await joins('2001:db8:1:2::99');
    expect((await expectErrorMessageCode(await join('2001:db8:1:2:ffff::7'), 'JOIN_RATE_LIMITED')).message).toBe('too many joins from this address');
    await joins('2001:db8:1:3::1'); // another /64
    await joins('198.51.100.7');
    await clock.advance(1999);
    await expectErrorMessageCode(await join('2001:db8:1:2::1'), 'JOIN_RATE_LIMITED');
    await clock.advance(1);
    await joins('2001:db8:1:2::1');
    expectCountedCode(t.metrics, 'JOIN_RATE_LIMITED', 2);
  });

  it('counts the sockets of one IPv6 /64 together', async () => {
    const { t } = await tracker({ trustProxy: true, limits: { maxSocketsPerAddress: 2 } });
    await raw(t, { 'x-forwarded-for': '2001:db8:5:6::1' });
    await raw(t, { 'x-forwarded-for': '2001:db8:5:6::2' });
    await expect(rawPeer(t.url!, { 'x-forwarded-for': '2001:db8:5:6:7:8:9:a' })).rejects.toThrow(/429/);
    await raw(t, { 'x-forwarded-for': '2001:db8:5:7::1' });
  });

  it('never introduces a peer reported failed to its reporter again, whatever id it comes back with', async () => {
    const { t } = await tracker({ trustProxy: true });
    const key = await generateStreamKey();
    const victim = await raw(t, { 'x-forwarded-for': '198.51.100.1' });
    victim.sendJson({ type: 'join', streamId: key.streamId });
    await victim.next((m) => m.type === 'joined');
    const bad = await raw(t, { 'x-forwarded-for': '203.0.113.66' });
    bad.sendJson({ type: 'join', streamId: key.streamId });
    const badId = (await bad.next((m) => m.type === 'joined')).peerId as string;
    await victim.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === badId));
    victim.sendJson({ type: 'failed', peerId: badId });
    bad.ws.terminate();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const again = await raw(t, { 'x-forwarded-for': '203.0.113.66' });
      again.sendJson({ type: 'join', streamId: key.streamId });
      ids.push((await again.next((m) => m.type === 'joined')).peerId as string);
    }
    const honest = await raw(t, { 'x-forwarded-for': '198.51.100.2' });
    honest.sendJson({ type: 'join', streamId: key.streamId });
    const honestId = (await honest.next((m) => m.type === 'joined')).peerId as string;
    await victim.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === honestId));
    const seen = victim.messages.filter((m) => m.type === 'neighbours').flatMap((m) => (m.neighbours as Array<{ peerId: string }>).map((n) => n.peerId));
    expect(seen.filter((id) => ids.includes(id))).toEqual([]);
  });

  it('budgets signals per pair and charges the excess to the sender only', async () => {
    const { t, clock } = await tracker({ limits: { pairSignalBurst: 10, pairSignalRatePerSec: 5, maxViolations: 5 } });
    const key = await generateStreamKey();
    const ps: RawPeer[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await raw(t);
      p.sendJson({ type: 'join', streamId: key.streamId });
      await p.next((m) => m.type === 'joined');
      ps.push(p);
    }
    const [flooder, victim, other] = ps;
    await flooder.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 2);
    for (let i = 0; i < 10; i++) flooder.sendJson({ type: 'signal', to: idOf(victim), data: { i } });
    flooder.sendJson({ type: 'signal', to: idOf(victim), data: { i: 10 } });
    await expectErrorMessageCode(flooder, 'SIGNAL_BUDGET');
    // Another pair of the same sender has its own budget.
    flooder.sendJson({ type: 'signal', to: idOf(other), data: { hello: 1 } });
    await other.next((m) => m.type === 'signal');
    await until(() => t.metrics.relayed === 11, 5000, 'relays');
    expect(victim.messages.filter((m) => m.type === 'signal').map((m) => (m.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The budget refills: 5 units per second.
    await clock.advance(200);
    flooder.sendJson({ type: 'signal', to: idOf(victim), data: { i: 11 } });
    await victim.next((m) => m.type === 'signal' && (m.data as { i: number }).i === 11);
    // A sender that keeps flooding is closed; the receiver stays.
    for (let i = 0; i < 10; i++) flooder.sendJson({ type: 'signal', to: idOf(victim), data: { i: 100 + i } });
    expect((await flooder.closed).code).toBe(1008);
    expect(victim.ws.readyState).toBe(WebSocket.OPEN);
    expect(t.metrics.rejected.get('SIGNAL_BUDGET')).toBeGreaterThanOrEqual(6);
  });

  it('drops signals to a receiver that does not read and charges its sender; the receiver is not disconnected, nor the sender (a drop is no offence)', async () => {
    const big = 'x'.repeat(30_000);
    const { t } = await tracker({ limits: { pairSignalBurst: 1e6, socketBurst: 1e6, socketRatePerSec: 1e6, maxSignalBacklogBytes: 64 * 1024, maxSendBufferBytes: 128 * 1024, maxViolations: 2 } });
    const key = await generateStreamKey();
    const sender = await raw(t);
    sender.sendJson({ type: 'join', streamId: key.streamId });
    await sender.next((m) => m.type === 'joined');
    const slow = await raw(t);
    slow.sendJson({ type: 'join', streamId: key.streamId });
    const slowId = (await slow.next((m) => m.type === 'joined')).peerId as string;
    await sender.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === slowId));
    slow.ws.pause(); // reads nothing from now on
    for (let i = 0; i < 800 && !t.metrics.rejected.get('SIGNAL_DROPPED'); i++) {
      sender.sendJson({ type: 'signal', to: slowId, data: big });
      if (i % 20 === 19) await until(() => t.metrics.messages.get('signal') === i + 1, 30_000, 'signals processed');
    }
    await until(() => (t.metrics.rejected.get('SIGNAL_DROPPED') ?? 0) > 0, 30_000, 'a dropped signal');
    expect((await expectErrorMessageCode(sender, 'SIGNAL_DROPPED')).message).toMatch(/receiver is not reading/);
    // More drops than maxViolations: soft refusals, the sender stays.
    const dropped = t.metrics.rejected.get('SIGNAL_DROPPED') ?? 0;
    for (let i = 0; i < 4; i++) sender.sendJson({ type: 'signal', to: slowId, data: 'y' });
    await until(() => t.metrics.rejected.get('SIGNAL_DROPPED') === dropped + 4, 30_000, 'four more dropped');
    expect(sender.ws.readyState).toBe(WebSocket.OPEN);
    expectCountedCode(t.metrics, 'SLOW_CONSUMER', 0);
    expect(t.stats().peers).toBe(2);
    slow.ws.resume();
    await slow.next((m) => m.type === 'signal');
    expect(slow.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('drops a socket that leaves the tracker’s own messages unread (SLOW_CONSUMER)', async () => {
    const big = 'x'.repeat(30_000);
    const { t } = await tracker({ limits: { pairSignalBurst: 1e6, socketBurst: 1e6, socketRatePerSec: 1e6, maxSignalBacklogBytes: 256 * 1024, maxSendBufferBytes: 16 * 1024 } });
    const key = await generateStreamKey();
    const sender = await raw(t);
    sender.sendJson({ type: 'join', streamId: key.streamId });
    await sender.next((m) => m.type === 'joined');
    const slow = await raw(t);
    slow.sendJson({ type: 'join', streamId: key.streamId });
    const slowId = (await slow.next((m) => m.type === 'joined')).peerId as string;
    await sender.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === slowId));
    slow.ws.pause();
    for (let i = 0; i < 800 && !t.metrics.rejected.get('SIGNAL_DROPPED'); i++) {
      sender.sendJson({ type: 'signal', to: slowId, data: big });
      if (i % 20 === 19) await until(() => t.metrics.messages.get('signal') === i + 1, 30_000, 'signals processed');
    }
    // Signals alone never dropped it, though its backlog is over maxSendBufferBytes.
    expectCountedCode(t.metrics, 'SLOW_CONSUMER', 0);
    // The tracker's own message (a new neighbour) finds it not reading: dropped.
    const third = await raw(t);
    third.sendJson({ type: 'join', streamId: key.streamId });
    await third.next((m) => m.type === 'joined');
    await until(() => t.stats().peers === 2, 5000, 'slow peer gone');
    expectCountedCode(t.metrics, 'SLOW_CONSUMER', 1);
  });

  it('lets browser pages of allowed origins only open sockets; clients without an Origin pass', async () => {
    const { t } = await tracker({ allowedOrigins: ['https://site.example'] });
    await raw(t, { origin: 'https://site.example' });
    await raw(t); // no Origin header: not a browser
    await expect(rawPeer(t.url!, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    expectCountedCode(t.metrics, 'ORIGIN_REFUSED', 1);
    // Without an allow-list every origin may connect.
    const open = await tracker();
    await raw(open.t, { origin: 'https://evil.example' });
  });

  it('keeps /metrics private by default: the tracker host, or the token; /health stays public', async () => {
    const { t } = await tracker({ trustProxy: true, metricsToken: 's3cret' });
    const base = `http://127.0.0.1:${t.port}`;
    expect(await get(`${base}/metrics`)).toBe(200); // from the tracker host
    expect(await get(`${base}/metrics`, { 'x-forwarded-for': '203.0.113.5' })).toBe(403);
    expect(await get(`${base}/metrics`, { 'x-forwarded-for': '203.0.113.5', authorization: 'Bearer wrong!' })).toBe(403);
    expect(await get(`${base}/metrics`, { 'x-forwarded-for': '203.0.113.5', authorization: 'Bearer s3cret' })).toBe(200);
    expect(await get(`${base}/health`, { 'x-forwarded-for': '203.0.113.5' })).toBe(200);
    const pub = await tracker({ trustProxy: true, metricsAccess: 'public' });
    expect(await get(`http://127.0.0.1:${pub.t.port}/metrics`, { 'x-forwarded-for': '203.0.113.5' })).toBe(200);
  });

  it('answers BUSY to messages sent while a publish is being verified', async () => {
    const { t } = await tracker();
    const key = await generateStreamKey();
    const p = await raw(t);
    // Both frames arrive together; the proof (a wrong one) is still being checked for the second.
    p.ws.send(JSON.stringify({ type: 'publish', streamId: key.streamId, publicKey: 'AQ', broadcastId: 'AAAAAAAAAAA', signature: 'x'.repeat(86) }));
    p.sendJson({ type: 'heartbeat' });
    expect((await expectErrorMessageCode(p, 'BUSY')).message).toMatch(/publish is still being verified/);
    expect((await p.closed).code).toBe(1008); // the wrong proof is refused once verified
    expectCountedCode(t.metrics, 'AUTH_FAILED', 1);
    expectCountedCode(t.metrics, 'BUSY', 1);
  });

  it('sends the tracker’s own messages to a socket with exactly maxSendBufferBytes unsent (0 here: nothing unsent)', async () => {
    // More than the bound drops the socket (SLOW_CONSUMER, above); at the bound it is served.
    const { t } = await tracker({ limits: { maxSendBufferBytes: 0 } });
    const key = await generateStreamKey();
    const p = await raw(t); // its welcome came
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    await p.next((m) => m.type === 'stream');
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
    expectCountedCode(t.metrics, 'SLOW_CONSUMER', 0);
  });

  it('answers the socket a peer connected from before with REPLACED and closes it with the reason "replaced"', async () => {
    const { t } = await tracker();
    const key = await generateStreamKey();
    const old = await raw(t);
    old.sendJson({ type: 'join', streamId: key.streamId, peerSecret: 's'.repeat(22) });
    const id = (await old.next((m) => m.type === 'joined')).peerId;
    const again = await raw(t);
    again.sendJson({ type: 'join', streamId: key.streamId, peerSecret: 's'.repeat(22) });
    expect((await again.next((m) => m.type === 'joined')).peerId).toBe(id);
    expect((await expectErrorMessageCode(old, 'REPLACED')).message).toBe('the same peer connected again');
    expect(await old.closed).toEqual({ code: 1000, reason: 'replaced' });
  });

  it('keeps the room of a peer that replaced its own socket when that socket was the room’s only peer', async () => {
    // The old socket's leave empties the room; the new socket joins that same room, which must
    // stay the stream's room: its next message is handled there.
    const { t } = await tracker();
    const key = await generateStreamKey();
    const old = await raw(t);
    old.sendJson({ type: 'join', streamId: key.streamId, peerSecret: 's'.repeat(22) });
    await old.next((m) => m.type === 'joined');
    const again = await raw(t);
    again.sendJson({ type: 'join', streamId: key.streamId, peerSecret: 's'.repeat(22) });
    await again.next((m) => m.type === 'joined');
    await old.closed;
    await until(() => t.stats().sockets === 1, 5000, 'old socket gone');
    expect(t.stats()).toEqual({ sockets: 1, peers: 1, streams: 1 });
    again.sendJson({ type: 'heartbeat', uploadBps: 1e6 });
    await until(() => t.metrics.messages.get('heartbeat') === 1, 5000, 'heartbeat handled');
    // A viewer joining now is the replaced peer's neighbour: they share the room.
    const v = await raw(t);
    v.sendJson({ type: 'join', streamId: key.streamId });
    await v.next((m) => m.type === 'joined');
    await v.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === idOf(again)));
    expectCountedCode(t.metrics, 'INTERNAL', 0);
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('drops a socket that does not read at the first of two queued messages, and does not try the second', async () => {
    // Both bounds at 0: a signal to a socket with any byte unsent is dropped, which shows the test
    // that the socket stopped reading; the tracker's next own message to it then drops it.
    const big = 'x'.repeat(30_000);
    const { t } = await tracker({ limits: { pairSignalBurst: 1e6, socketBurst: 1e6, socketRatePerSec: 1e6, maxSignalBacklogBytes: 0, maxSendBufferBytes: 0 } });
    const key = await generateStreamKey();
    const sender = await raw(t);
    sender.sendJson({ type: 'join', streamId: key.streamId });
    await sender.next((m) => m.type === 'joined');
    const slow = await raw(t);
    slow.sendJson({ type: 'join', streamId: key.streamId });
    const slowId = (await slow.next((m) => m.type === 'joined')).peerId as string;
    await sender.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === slowId));
    slow.ws.pause();
    for (let i = 0; i < 2000 && !t.metrics.rejected.get('SIGNAL_DROPPED'); i++) {
      sender.sendJson({ type: 'signal', to: slowId, data: big });
      if (i % 20 === 19) await until(() => t.metrics.messages.get('signal') === i + 1, 30_000, 'signals processed');
    }
    await until(() => (t.metrics.rejected.get('SIGNAL_DROPPED') ?? 0) > 0, 30_000, 'a dropped signal');
    const sent = new Map(t.metrics.sent);
    // The broadcaster goes live: the slow socket is sent the stream's state and its new neighbour
    // together; the first finds it not reading and drops it, the second is not written.
    const b = client(t, key, { broadcasterKey: key });
    await nextEvent(b, 'joined');
    await until(() => t.stats().peers === 2, 5000, 'slow peer gone');
    await sender.next((m) => m.type === 'stream' && m.state === 'live');
    // One drop: the second message was not tried (each try at a socket not reading counts one).
    expectCountedCode(t.metrics, 'SLOW_CONSUMER', 1);
    // The stream's state went to the sender and the broadcaster only.
    expect((t.metrics.sent.get('stream') ?? 0) - (sent.get('stream') ?? 0)).toBe(2);
  });
});
