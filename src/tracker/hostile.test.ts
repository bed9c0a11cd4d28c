// Hostile clients against a real tracker on 127.0.0.1: each case asserts the tracker stays up,
// counts the abuse, and that an honest pair of the same stream still gets its signals relayed.
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { base64url, generateStreamKey, signBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { publishProofBytes } from './messages.ts';
import { startTracker, type Tracker, type TrackerOptions } from './server.ts';
import { expectCountedCode, expectErrorMessageCode, manualClock, nextEvent, rawPeer, until, type ManualClock, type RawPeer } from './test-kit.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const BID = 'AAAAAAAAAAA';
let t: Tracker;
let key: StreamKeyPair;
let honest: TrackerClient[];
let clock: ManualClock;
const opened: Array<{ close(): void; destroy?(): void }> = [];

async function setup(opts: TrackerOptions = {}) {
  clock = manualClock();
  t = await startTracker({ port: 0, host: '127.0.0.1', clock, ...opts });
  key = await generateStreamKey();
  honest = [];
  for (const extra of [{ broadcasterKey: key }, {}, {}]) {
    const c = new TrackerClient({ url: t.url!, streamId: key.streamId, WebSocket: WS, ...extra });
    c.connect();
    honest.push(c);
    await nextEvent(c, 'joined');
  }
  await until(() => honest[1].neighbours.some((n) => n.peerId === honest[2].peerId), 5000, 'honest link');
}

/** The honest viewers can still signal each other. */
async function honestStillServed(): Promise<void> {
  const [, a, b] = honest;
  const got = nextEvent(b, 'signal', (s) => s.from === a.peerId);
  expect(a.signal(b.peerId!, { check: 1 })).toBe(true);
  expect((await got).data).toEqual({ check: 1 });
  expect(a.connected && b.connected && honest[0].connected).toBe(true);
}

beforeEach(() => {
  opened.length = 0;
});
afterEach(async () => {
  for (const o of opened) o.destroy ? o.destroy() : o.close();
  for (const c of honest ?? []) c.destroy();
  await t?.close();
});

async function hostile(): Promise<RawPeer> {
  return hostileAs();
}

async function hostileAs(headers?: Record<string, string>): Promise<RawPeer> {
  const p = await rawPeer(t.url!, headers);
  opened.push({ close: () => p.ws.terminate() });
  await p.next((m) => m.type === 'welcome');
  return p;
}

describe('hostile clients', () => {
  it('answers malformed, unknown and mistyped messages with errors and counts them', async () => {
    await setup();
    const p = await hostile();
    const bad: Array<[string | Buffer, string]> = [
      ['{not json', 'BAD_JSON'],
      ['{"type":"frobnicate"}', 'UNKNOWN_TYPE'],
      ['[1,2,3]', 'UNKNOWN_TYPE'],
      ['null', 'UNKNOWN_TYPE'],
      [JSON.stringify({ type: 'join', streamId: 42 }), 'BAD_MESSAGE'],
      [JSON.stringify({ type: 'join', streamId: 'x'.repeat(43), uploadBps: 'fast' }), 'BAD_MESSAGE'],
      [JSON.stringify({ type: 'join', streamId: 'short' }), 'BAD_MESSAGE'],
      [JSON.stringify({ type: 'signal', to: '../../etc', data: 1 }), 'BAD_MESSAGE'],
      [JSON.stringify({ type: 'heartbeat' }), 'NOT_JOINED'],
      [JSON.stringify({ type: 'signal', to: honest[1].peerId, data: { sdp: 'x' } }), 'NOT_JOINED'],
      [JSON.stringify({ type: 'join', streamId: key.streamId, announce: { holderKeys: Array(100).fill(1) } }), 'BAD_MESSAGE'],
    ];
    for (const [text, code] of bad) {
      const n = p.messages.length;
      p.ws.send(text);
      await expectErrorMessageCode(p, code, n);
      await clock.advance(201); // errors are answered at most every 200 ms
    }
    const n = p.messages.length;
    p.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await expectErrorMessageCode(p, 'BAD_MESSAGE', n)).message).toMatch(/binary/);
    expectCountedCode(t.metrics, 'BAD_JSON', 1);
    expect(t.metrics.totalRejected()).toBeGreaterThanOrEqual(bad.length);
    await honestStillServed();
  });

  it('closes a socket sending an oversize frame or a signal too large', async () => {
    await setup({ limits: { maxPayloadBytes: 4096, maxSignalBytes: 1024 } });
    const p = await hostile();
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    const to = (await p.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length > 0)).neighbours as Array<{ peerId: string }>;
    p.sendJson({ type: 'signal', to: to[0].peerId, data: 'x'.repeat(2000) });
    await expectErrorMessageCode(p, 'SIGNAL_TOO_LARGE');
    p.ws.send('x'.repeat(10000));
    expect((await p.closed).code).toBe(1009);
    await honestStillServed();
  });

  it('survives a fragment storm', async () => {
    await setup();
    const p = await hostile();
    for (let i = 0; i < 5000 && p.ws.readyState === WebSocket.OPEN; i++) p.ws.send('a', { fin: false });
    const closed = await p.closed;
    expect(closed.code).toBe(1008);
    expect(t.metrics.rejected.get('WS_ERR_TOO_MANY_BUFFERED_PARTS')).toBe(1);
    await honestStillServed();
  });

  it('rate-limits a flood and closes the flooder', async () => {
    await setup({ limits: { socketRatePerSec: 20, socketBurst: 40, maxViolations: 50 } });
    const p = await hostile();
    for (let i = 0; i < 400 && p.ws.readyState === WebSocket.OPEN; i++) p.sendJson({ type: 'heartbeat' });
    const closed = await p.closed;
    expect(closed.code).toBe(1008);
    expect(t.metrics.rejected.get('RATE_LIMITED')).toBeGreaterThan(0);
    await honestStillServed();
  });

  it('ignores a forged sender id and refuses relays outside the introduced pairs', async () => {
    await setup();
    const other = await generateStreamKey();
    const p = await hostile();
    p.sendJson({ type: 'join', streamId: other.streamId });
    const me = (await p.next((m) => m.type === 'joined')).peerId as string;
    // A peer of another stream cannot reach the honest peers, whatever it claims to be.
    p.sendJson({ type: 'signal', to: honest[1].peerId, from: honest[2].peerId, data: { sdp: 'evil' } });
    await expectErrorMessageCode(p, 'NOT_NEIGHBOURS');
    // Inside the stream: a forged `from` is ignored, the tracker stamps the socket's id.
    const q = await hostile();
    q.sendJson({ type: 'join', streamId: key.streamId });
    const qid = (await q.next((m) => m.type === 'joined')).peerId as string;
    const nb = (await q.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === honest[1].peerId))) as { neighbours: unknown };
    expect(nb).toBeDefined();
    // Wait for the spoofed signal by its content, then check whose id it carries.
    const got = nextEvent(honest[1], 'signal', (s) => (s.data as { sdp?: string } | null)?.sdp === 'spoof');
    q.sendJson({ type: 'signal', to: honest[1].peerId, from: honest[2].peerId, data: { sdp: 'spoof' } });
    expect((await got).from).toBe(qid);
    expect(me).not.toBe(qid);
    // Joining again with another stream on the same socket is refused.
    q.sendJson({ type: 'join', streamId: other.streamId });
    await expectErrorMessageCode(q, 'ALREADY_JOINED');
    await honestStillServed();
  });

  it('refuses to publish a stream without its key', async () => {
    await setup();
    const thief = await generateStreamKey();
    // 1) Own key, somebody else's streamId.
    const p = await hostile();
    const nonce = Buffer.from(String(p.messages[0].nonce).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const sig = await signBytes(thief, publishProofBytes(nonce, key.streamId, BID, `127.0.0.1:${t.port}`));
    p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(thief.publicKeyBytes), broadcastId: BID, signature: base64url(sig) });
    await expectErrorMessageCode(p, 'AUTH_FAILED');
    expect((await p.closed).code).toBe(1008);
    // 2) The right public key with a signature replayed from another connection's nonce.
    const q = await hostile();
    const oldNonce = nonce;
    const replay = await signBytes(key, publishProofBytes(oldNonce, key.streamId, BID, `127.0.0.1:${t.port}`));
    q.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(replay) });
    await expectErrorMessageCode(q, 'AUTH_FAILED');
    // 3) A proof made for another tracker origin.
    const r = await hostile();
    const rn = Buffer.from(String(r.messages[0].nonce).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const wrongOrigin = await signBytes(key, publishProofBytes(rn, key.streamId, BID, 'evil.example:443'));
    r.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(wrongOrigin) });
    await expectErrorMessageCode(r, 'AUTH_FAILED');
    // 4) A relayed nonce: a rogue tracker passes this tracker's nonce to the broadcaster, gets a
    // proof signed for its own host and presents it here with that host in the Host header.
    const s = await hostileAs({ host: 'rogue.example:443' });
    const sn = Buffer.from(String(s.messages[0].nonce).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const relayed = await signBytes(key, publishProofBytes(sn, key.streamId, BID, 'rogue.example:443'));
    s.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(relayed) });
    await expectErrorMessageCode(s, 'AUTH_FAILED');
    // 5) The right proof with another broadcast id than the one signed: the id is bound by the signature.
    const u = await hostile();
    const un = Buffer.from(String(u.messages[0].nonce).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const signed = await signBytes(key, publishProofBytes(un, key.streamId, BID, `127.0.0.1:${t.port}`));
    u.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: 'ZZZZZZZZZZA', signature: base64url(signed) });
    await expectErrorMessageCode(u, 'AUTH_FAILED');
    expectCountedCode(t.metrics, 'AUTH_FAILED', 5);
    await until(() => honest[1].neighbours.some((n) => n.reasons.includes('broadcaster') && n.peerId === honest[0].peerId), 5000, 'broadcaster kept');
    await honestStillServed();
  });

  it('checks proofs against its configured public URL only', async () => {
    t = await startTracker({ port: 0, host: '127.0.0.1', publicUrl: 'wss://tracker.example/tracker' });
    key = await generateStreamKey();
    honest = [];
    const sign = async (p: RawPeer, identity: string) => {
      const n = Buffer.from(String(p.messages[0].nonce).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      return base64url(await signBytes(key, publishProofBytes(n, key.streamId, BID, identity)));
    };
    // The listening address is not an identity once one is configured.
    const p = await hostile();
    p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: await sign(p, `127.0.0.1:${t.port}`) });
    await expectErrorMessageCode(p, 'AUTH_FAILED');
    // A proof for the public URL's host (default port dropped, as browsers write it) is accepted.
    const q = await hostile();
    q.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: await sign(q, 'tracker.example') });
    expect((await q.next((m) => m.type === 'joined')).broadcaster).toBe(true);
  });

  it('keeps made-up waiting streams from crowding out a broadcaster', async () => {
    await setup({ limits: { maxWaitingStreams: 2 } });
    for (let i = 0; i < 2; i++) {
      const p = await hostile();
      p.sendJson({ type: 'join', streamId: (await generateStreamKey()).streamId });
      await p.next((m) => m.type === 'joined');
    }
    const q = await hostile();
    q.sendJson({ type: 'join', streamId: (await generateStreamKey()).streamId });
    await expectErrorMessageCode(q, 'TOO_MANY_STREAMS');
    const key2 = await generateStreamKey();
    const b = new TrackerClient({ url: t.url!, streamId: key2.streamId, WebSocket: WS, broadcasterKey: key2 });
    opened.push({ close: () => b.destroy() });
    b.connect();
    expect((await nextEvent(b, 'joined')).broadcaster).toBe(true);
    await honestStillServed();
  });

  it('counts per-address limits by X-Forwarded-For behind a trusted proxy', async () => {
    await setup({ trustProxy: true, limits: { maxSocketsPerAddress: 3 } }); // the 3 honest peers fill 127.0.0.1
    const peers: RawPeer[] = [];
    for (const xff of ['203.0.113.1, 10.0.0.1', '203.0.113.1', '203.0.113.1', '203.0.113.2']) peers.push(await rawPeer(t.url!, { 'x-forwarded-for': xff }));
    for (const p of peers) opened.push({ close: () => p.ws.terminate() });
    await expect(rawPeer(t.url!, { 'x-forwarded-for': '203.0.113.1' })).rejects.toThrow(/429/);
    await expect(rawPeer(t.url!)).rejects.toThrow(/429/);
    await honestStillServed();
  });

  it('drops half-open sockets, idle sockets and sockets over the per-address limit', async () => {
    await setup({ limits: { pingIntervalMs: 300, joinTimeoutMs: 5000, maxSocketsPerAddress: 6 } });
    // A raw TCP client that completes the upgrade and then never answers pings nor reads.
    const sock = net.connect(t.port, '127.0.0.1');
    opened.push({ close: () => sock.destroy() });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 7).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await until(() => t.stats().sockets === 4, 5000, 'raw socket accepted');
    expectCountedCode(t.metrics, 'HALF_OPEN', 0);
    sock.pause();
    for (let i = 0; i < 100 && t.stats().sockets !== 3; i++) await clock.advance(300, 2);
    expect(t.stats().sockets).toBe(3);
    expectCountedCode(t.metrics, 'HALF_OPEN', 1);
    // Per-address limit: 3 honest + 3 more are allowed, the 7th is refused with 429.
    const extra: RawPeer[] = [];
    for (let i = 0; i < 3; i++) extra.push(await hostile());
    await expect(rawPeer(t.url!)).rejects.toThrow(/429/);
    for (const e of extra) e.ws.terminate();
    await honestStillServed();
  });
});
