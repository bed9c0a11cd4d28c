import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { isP2PError } from '../errors.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { startTracker } from '../tracker/server.ts';
import { expectClientErrorCode, nextEvent, until } from '../tracker/test-kit.ts';
import { TrackerClient, type WebSocketConstructor } from './tracker-client.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function client(url: string, streamId: string, extra: Partial<ConstructorParameters<typeof TrackerClient>[0]> = {}): TrackerClient {
  const c = new TrackerClient({ url, streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 400, ...extra });
  cleanups.push(() => c.destroy());
  return c;
}

/** A tracker on a free port, a broadcaster client joined to a fresh stream, and a viewer client joined to it. */
async function broadcasterAndViewer(): Promise<{ b: TrackerClient; v: TrackerClient }> {
  const t = await startTracker({ port: 0 });
  cleanups.push(() => t.close());
  const key = await generateStreamKey();
  const b = client(t.url!, key.streamId, { broadcasterKey: key });
  b.connect();
  await nextEvent(b, 'joined');
  const v = client(t.url!, key.streamId);
  const joined = nextEvent(v, 'joined');
  v.connect();
  await joined;
  return { b, v };
}

describe('TrackerClient', () => {
  it('rejects a bad configuration with BAD_CONFIG', () => {
    expect(() => new TrackerClient({ url: 'http://x', streamId: 'x', WebSocket: WS })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
    try {
      expect(() => new TrackerClient({ url: 'ws://127.0.0.1:1', streamId: 'x' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });

  it('tries the next tracker URL of its list on each reconnect, and refuses a bad one with BAD_CONFIG', async () => {
    expect(() => new TrackerClient({ url: 'ws://127.0.0.1:1', urls: ['http://x'], streamId: 'x', WebSocket: WS })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    // The first URL answers nothing; the second is a tracker: the reconnect lands there.
    const dead = await startTracker({ port: 0 });
    const deadUrl = dead.url!;
    await dead.close();
    const t = await startTracker({ port: 0 });
    cleanups.push(() => t.close());
    const key = await generateStreamKey();
    const c = client(deadUrl, key.streamId, { urls: [t.url!] });
    expect(c.url).toBe(deadUrl);
    const joined = nextEvent(c, 'joined');
    c.connect();
    await joined;
    expect(c.url).toBe(t.url);
  });

  it('backs off exponentially with jitter while the tracker is unreachable', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const c = client(`ws://127.0.0.1:${port}`, 'x'.repeat(43), { random: () => 1 });
    const delays: Array<number | null> = [];
    c.on('disconnected', (d) => delays.push(d.reconnectInMs));
    c.connect();
    await until(() => delays.length >= 5, 10000, 'five attempts');
    expect(delays.slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    const low = client(`ws://127.0.0.1:${port}`, 'x'.repeat(43), { random: () => 0 });
    const first = nextEvent(low, 'disconnected');
    low.connect();
    expect((await first).reconnectInMs).toBe(25);
  });

  it('publishes the go-live id it was given and hands it to viewers on their stream event', async () => {
    const key = await generateStreamKey();
    expect(() => new TrackerClient({ url: 'ws://127.0.0.1:1', streamId: key.streamId, WebSocket: WS, broadcasterKey: key, broadcastId: 'short' })).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    const t = await startTracker({ port: 0 });
    cleanups.push(() => t.close());
    const v = client(t.url!, key.streamId);
    v.connect();
    await nextEvent(v, 'joined');
    const live = nextEvent(v, 'stream', (s) => s.state === 'live');
    const b = client(t.url!, key.streamId, { broadcasterKey: key, broadcastId: 'Go-live_01A' });
    expect(b.broadcastId).toBe('Go-live_01A');
    b.connect();
    expect((await live).broadcastId).toBe('Go-live_01A');
    expect(v.broadcastId).toBe('Go-live_01A');
    // Without one, each broadcaster client draws its own.
    const ids = new Set(Array.from({ length: 3 }, () => client(t.url!, key.streamId, { broadcasterKey: key }).broadcastId));
    expect(ids.size).toBe(3);
  });

  it('ends the stream for viewers when its broadcaster leaves, and stops reconnecting', async () => {
    const { b, v } = await broadcasterAndViewer();
    await until(() => v.state === 'live', 5000, 'live');
    const gone = nextEvent(b, 'disconnected');
    b.leave();
    expect((await gone).reconnectInMs).toBeNull();
    await until(() => v.state === 'ended', 5000, 'ended');
  });

  it('closes its socket when the page is hidden, so the tracker hands its roles on at once; a page shown again rejoins', async () => {
    // The page's window, as far as the client uses it: pagehide listeners.
    const onHide = new Set<() => void>();
    const g = globalThis as { addEventListener?: unknown; removeEventListener?: unknown };
    const saved = [g.addEventListener, g.removeEventListener];
    g.addEventListener = (type: string, fn: () => void) => type === 'pagehide' && onHide.add(fn);
    g.removeEventListener = (type: string, fn: () => void) => type === 'pagehide' && onHide.delete(fn);
    cleanups.push(() => {
      [g.addEventListener, g.removeEventListener] = saved;
    });
    const hidePage = () => {
      for (const fn of onHide) fn();
    };
    const { b, v } = await broadcasterAndViewer();
    const gone = nextEvent(v, 'disconnected');
    hidePage();
    const d = await gone;
    expect([d.code, d.reason]).toEqual([1000, 'page hidden']);
    expect(d.reconnectInMs).not.toBeNull();
    await nextEvent(v, 'joined');
    // Destroyed clients no longer listen.
    expect(onHide.size).toBe(2);
    v.destroy();
    b.destroy();
    expect(onHide.size).toBe(0);
  });

  it('reports measured upload with heartbeats, which makes a weak peer eligible for roles', async () => {
    // One holder may take every key here, so one eligible viewer is enough for holder mode.
    const t = await startTracker({ port: 0, room: { heartbeatMs: 200, holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8, minRoleUploadBps: 1e6, maxKeysPerHolder: 11 } });
    cleanups.push(() => t.close());
    const key = await generateStreamKey();
    const b = client(t.url!, key.streamId, { broadcasterKey: key });
    b.connect();
    const viewers = Array.from({ length: 4 }, () => client(t.url!, key.streamId, { uploadBps: 0 }));
    for (const v of viewers) v.connect();
    await until(() => viewers.every((v) => v.mode === 'direct'), 5000, 'direct feed');
    // Nobody reported enough upload: the room waits in direct feed for an eligible holder.
    await new Promise((r) => setTimeout(r, 600));
    expect(viewers.every((v) => v.mode === 'direct' && v.holderKeys.length === 0 && v.producerGroups.length === 0)).toBe(true);
    viewers[2].setStats({ uploadBps: 5e6 });
    await until(() => viewers[2].holderKeys.length > 0, 5000, 'roles after the heartbeat');
    expect(viewers.every((v) => v.mode === 'holder')).toBe(true);
    expect(viewers.filter((v) => v.holderKeys.length > 0)).toEqual([viewers[2]]);
  });

  it('sends a measured upload at once when it is the first or changed much, at most once a second; small changes wait for the heartbeat', async () => {
    const t = await startTracker({ port: 0, room: { heartbeatMs: 60_000, peerTimeoutMs: 120_000 } });
    cleanups.push(() => t.close());
    const key = await generateStreamKey();
    const v = client(t.url!, key.streamId);
    const sent: string[] = [];
    v.connect();
    await nextEvent(v, 'joined');
    const ws = (v as unknown as { ws: { send(d: string): void } }).ws;
    const send = ws.send.bind(ws);
    ws.send = (d: string) => {
      sent.push(d);
      send(d);
    };
    v.setStats({ measuredUploadBps: 3e6, uploadLimitedShare: 0.5 });
    v.setStats({ measuredUploadBps: 1e6 }); // within a second of the last: waits
    await new Promise((r) => setTimeout(r, 1100));
    v.setStats({ measuredUploadBps: 2.5e6 }); // a small change from the last sent: waits for the heartbeat
    v.setStats({ measuredUploadBps: 2.5e6, uploadLimitedShare: 0.1 }); // its buffers no longer back up: sent
    await new Promise((r) => setTimeout(r, 1100));
    v.setStats({ measuredUploadBps: 1.5e6 }); // fell by more than 1.5 ×: sent
    expect(sent.map((d) => JSON.parse(d))).toEqual([
      { type: 'heartbeat', measuredUploadBps: 3e6, uploadLimitedShare: 0.5 },
      { type: 'heartbeat', measuredUploadBps: 2.5e6, uploadLimitedShare: 0.1 },
      { type: 'heartbeat', measuredUploadBps: 1.5e6, uploadLimitedShare: 0.1 },
    ]);
  });

  it('refuses to send an oversize signal', async () => {
    const t = await startTracker({ port: 0, limits: { maxSignalBytes: 1000 } });
    cleanups.push(() => t.close());
    const key = await generateStreamKey();
    const a = client(t.url!, key.streamId);
    a.connect();
    await nextEvent(a, 'joined');
    const err = expectClientErrorCode(a, 'SIGNAL_TOO_LARGE');
    expect(a.signal('somebodyElse', { sdp: 'x'.repeat(5000) })).toBe(false);
    await err;
  });

  it('survives a hostile tracker: bad frames become error events, never throws', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws) => {
      ws.send('{oops');
      ws.send(JSON.stringify({ type: 'neighbours', neighbours: Array.from({ length: 1000 }, (_, i) => ({ peerId: `peer${i}xxxx`, reasons: ['swarm'], initiator: true })) }));
      ws.send(JSON.stringify({ type: 'welcome', version: 1, peerId: 'x', nonce: '', heartbeatMs: 1, maxSignalBytes: 1 }));
      ws.send(Buffer.from([0, 1, 2]), { binary: true });
      ws.send(JSON.stringify({ type: 'signal', from: 'peerAAAAAAAA', data: { ok: true } }));
    });
    const port = (wss.address() as net.AddressInfo).port;
    const c = client(`ws://127.0.0.1:${port}`, 'x'.repeat(43));
    const errors: string[] = [];
    c.on('error', (e) => errors.push(isP2PError(e) ? e.code : 'OTHER'));
    const first = expectClientErrorCode(c, 'BAD_JSON');
    c.on('neighbours', () => {
      throw new Error('listener bug');
    });
    const sig = nextEvent(c, 'signal');
    c.connect();
    expect((await sig).data).toEqual({ ok: true });
    await first;
    expect(errors).toEqual(['BAD_JSON', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE']);
    expect(c.neighbours).toEqual([]);
  });
});
