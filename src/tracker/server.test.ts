import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { TrackerClient, type WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { DEFAULT_ROOM_CONFIG } from './room-config.ts';
import { startTracker, type Tracker, type TrackerOptions } from './server.ts';
import { expectClientErrorCode, nextEvent, until } from './test-kit.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function tracker(opts: TrackerOptions = {}): Promise<Tracker> {
  const t = await startTracker({ port: 0, host: '127.0.0.1', ...opts });
  cleanups.push(() => t.close());
  return t;
}

function client(url: string, streamId: string, extra: Partial<ConstructorParameters<typeof TrackerClient>[0]> = {}): TrackerClient {
  const c = new TrackerClient({ url, streamId, WebSocket: WS, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
  cleanups.push(() => c.destroy());
  c.connect();
  return c;
}

async function get(url: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject);
  });
}

describe('tracker server', () => {
  it('lets viewers wait for a stream, admits its broadcaster by key, introduces and relays', async () => {
    const t = await tracker();
    const key = await generateStreamKey();
    const a = client(t.url!, key.streamId);
    const aJoined = await nextEvent(a, 'joined');
    expect(aJoined.broadcaster).toBe(false);
    await until(() => a.state === 'waiting', 5000, 'waiting state');

    const b = client(t.url!, key.streamId, { broadcasterKey: key, bitrateBps: 2e6 });
    const bJoined = await nextEvent(b, 'joined');
    expect(bJoined.broadcaster).toBe(true);
    await until(() => a.state === 'live', 5000, 'live state');
    // Viewers learn the go-live id the broadcaster chose and signed.
    expect(b.broadcastId).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(a.broadcastId).toBe(b.broadcastId);
    await until(() => a.neighbours.some((n) => n.peerId === bJoined.peerId && n.reasons.includes('broadcaster')), 5000, 'broadcaster link');

    const v = client(t.url!, key.streamId);
    const vJoined = await nextEvent(v, 'joined');
    await until(() => a.neighbours.some((n) => n.peerId === vJoined.peerId), 5000, 'viewer link');
    // Signals reach the neighbour with the sender's real id, both ways.
    const got = nextEvent(v, 'signal');
    expect(a.signal(vJoined.peerId, { sdp: 'offer', type: 'offer' })).toBe(true);
    expect(await got).toEqual({ from: aJoined.peerId, data: { sdp: 'offer', type: 'offer' } });
    const back = nextEvent(a, 'signal');
    v.signal(aJoined.peerId, { candidate: 'c1' });
    expect((await back).from).toBe(vJoined.peerId);

    const health = await get(`http://127.0.0.1:${t.port}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, peers: 3, streams: 1 });
    const metrics = await get(`http://127.0.0.1:${t.port}/metrics`);
    expect(metrics.body).toMatch(/p2p_tracker_relayed_total 2/);
    expect(metrics.body).toMatch(/p2p_tracker_messages_total\{type="publish"\} 1/);
    expect(metrics.body).toMatch(/p2p_tracker_relay_latency_seconds_count 2/);
    // No edge runs here: a page's HLS request gets a 404 it can read from any origin.
    const hls = await get(`http://127.0.0.1:${t.port}/hls/${key.streamId}/index.m3u8`);
    expect(hls.status).toBe(404);
    expect(hls.headers['access-control-allow-origin']).toBe('*');
    expect(hls.body).toMatch(/no HLS edge/);
  });

  it('hands out holder keys and producer groups and tells the broadcaster', async () => {
    const t = await tracker({ room: { holderModeAtViewers: 4, directModeAtViewers: 2, directMaxViewers: 8 } });
    const key = await generateStreamKey();
    const b = client(t.url!, key.streamId, { broadcasterKey: key });
    await nextEvent(b, 'joined');
    const viewers = Array.from({ length: 5 }, () => client(t.url!, key.streamId, { uploadBps: 20e6 }));
    const swarm = await nextEvent(b, 'swarm', (s) => s.mode === 'holder' && s.holders.flatMap((h) => h.keys).length === DEFAULT_ROOM_CONFIG.segmentKeys.length && s.viewers === 5);
    expect(swarm.producers.flatMap((p) => p.keys).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, g) => g));
    await until(() => viewers.every((v) => v.mode === 'holder'), 5000, 'holder mode at viewers');
    await until(() => viewers.filter((v) => v.holderKeys.length > 0).length === swarm.holders.length, 5000, 'roles at holders');
    // When a holder leaves, its keys move within the same tick.
    const holder = viewers.find((v) => v.holderKeys.length > 0)!;
    const keys = holder.holderKeys;
    holder.destroy();
    const after = await nextEvent(b, 'swarm', (s) => s.viewers === 4 && s.holders.flatMap((h) => h.keys).length === DEFAULT_ROOM_CONFIG.segmentKeys.length);
    expect(after.holders.flatMap((h) => h.keys)).toEqual(expect.arrayContaining(keys));
  });

  it('does not introduce a failed pair again', async () => {
    const t = await tracker();
    const key = await generateStreamKey();
    const a = client(t.url!, key.streamId);
    const aId = (await nextEvent(a, 'joined')).peerId;
    const c = client(t.url!, key.streamId);
    const cId = (await nextEvent(c, 'joined')).peerId;
    await until(() => a.neighbours.some((n) => n.peerId === cId), 5000, 'link');
    a.reportFailed(cId);
    await until(() => !a.neighbours.some((n) => n.peerId === cId) && !c.neighbours.some((n) => n.peerId === aId), 5000, 'unlink');
    const err = expectClientErrorCode(a, 'NOT_NEIGHBOURS');
    a.signal(cId, { x: 1 });
    await err;
    // Late signals to an unlinked peer are a race, not an offence: they never get a peer closed.
    for (let i = 0; i < 3 * 20; i++) a.signal(cId, { late: i });
    const b = client(t.url!, key.streamId);
    const bId = (await nextEvent(b, 'joined')).peerId;
    await until(() => a.neighbours.some((n) => n.peerId === bId), 5000, 'new link');
    const got = nextEvent(b, 'signal');
    a.signal(bId, { hello: 1 });
    expect((await got).from).toBe(aId);
    expect(a.connected).toBe(true);
  });

  it('rebuilds from re-announces after a restart, keeping peer ids', async () => {
    let t = await startTracker({ port: 0, host: '127.0.0.1' });
    const port = t.port;
    const key = await generateStreamKey();
    const b = client(t.url!, key.streamId, { broadcasterKey: key });
    const bId = (await nextEvent(b, 'joined')).peerId;
    const a = client(t.url!, key.streamId);
    const aId = (await nextEvent(a, 'joined')).peerId;
    const c = client(t.url!, key.streamId);
    const cId = (await nextEvent(c, 'joined')).peerId;
    await until(() => a.neighbours.some((n) => n.peerId === cId), 5000, 'link');
    const gone = nextEvent(a, 'disconnected');
    await t.close();
    expect((await gone).reconnectInMs).toBeGreaterThan(0);
    t = await startTracker({ port, host: '127.0.0.1' });
    cleanups.push(() => t.close());
    await until(() => a.connected && b.connected && c.connected, 5000, 'reconnect');
    expect([a.peerId, b.peerId, c.peerId]).toEqual([aId, bId, cId]);
    await until(() => a.state === 'live' && a.neighbours.some((n) => n.peerId === cId) && a.neighbours.some((n) => n.peerId === bId), 3000, 'state rebuilt');
    // The restarted tracker learnt the go-live id again from the broadcaster's re-publish.
    expect(a.broadcastId).toBe(b.broadcastId);
  });

  it('serves on an existing http.Server at a path, beside other routes', async () => {
    const server = http.createServer();
    let t: Tracker | null = null;
    server.on('request', (req, res) => {
      if (t?.handleHttp(req, res)) return;
      res.end('page');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    t = await startTracker({ server });
    cleanups.push(() => t!.close());
    const port = (server.address() as { port: number }).port;
    expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('page');
    expect((await get(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    const key = await generateStreamKey();
    const a = client(`ws://127.0.0.1:${port}/tracker`, key.streamId);
    expect((await nextEvent(a, 'joined')).broadcaster).toBe(false);
  });
});
