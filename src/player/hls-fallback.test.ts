// The safety net against a server without an edge, in Node: the real HlsFallback, a real MediaPlayer
// core and a real HTTP server that answers 404 for the playlist (as `npm start` without --edge).
// The <video> is a plain object with the three members the safety net reads outside a browser
// (MSE and hls.js playback run in the browser tests, e2e/hls-fallback.spec.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { P2PError } from '../errors.ts';
import { expectRejectCode } from '../expect-code.ts';
import { HlsFallback, defaultFallbackUrl, sourceStateText, type HttpState } from './hls-fallback.ts';
import { MediaPlayer } from './media-player.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** An HTTP server without an edge: every request is a 404. Counts the playlist requests. */
async function serverWithoutEdge(): Promise<{ url: string; playlistRequests: () => number }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/hls/')) n++;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hls/s1/index.m3u8`, playlistRequests: () => n };
}

const video = () => ({ paused: true, ended: false, canPlayType: () => '' }) as unknown as HTMLVideoElement;

type Events = { errors: P2PError[]; http: HttpState[]; paths: string[] };
const events = (): Events => ({ errors: [], http: [], paths: [] });

function start(url: string, webrtc: boolean, events: Events, onError: (e: P2PError) => void = () => {}): HlsFallback {
  const player = new MediaPlayer();
  const fb = new HlsFallback({
    video: video(),
    player,
    url,
    tickMs: 10,
    hasWebRtc: () => webrtc,
    policy: { noPeerTimeoutMs: 20, httpRetryMs: 50 },
    onSourceChange: (d) => events.paths.push(d.path),
    onError: (e) => {
      events.errors.push(e);
      onError(e);
    },
    onHttpState: (s) => events.http.push(s),
  });
  cleanups.push(() => {
    fb.destroy();
    player.destroy();
  });
  return fb;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('HlsFallback without an edge', () => {
  it('without WebRTC (HTTP is the only path), a missing edge is FALLBACK_FAILED, tried again after httpRetryMs', async () => {
    const server = await serverWithoutEdge();
    const ev = events();
    let reject: (e: P2PError) => void = () => {};
    const failed = new Promise<never>((_, r) => (reject = r));
    const fb = start(server.url, false, ev, (e) => reject(e));
    await expectRejectCode(failed, 'FALLBACK_FAILED');
    expect(ev.errors[0].message).toContain('/hls/s1/index.m3u8');
    // The P2P player kept the element: no switch happened, the state says why.
    expect(fb.path).toBe('p2p');
    expect(ev.paths).toEqual([]);
    expect(fb.stats.http).toBe('unavailable');
    // Not a dead end: the edge is asked again (and fails again) while the viewer stays.
    await until(() => server.playlistRequests() >= 3 && ev.errors.length >= 3, 'three probes');
    expect(ev.errors.every((e) => e.code === 'FALLBACK_FAILED')).toBe(true);
  });

  it('with WebRTC, a server without an edge is no error: P2P keeps the element and the state says HTTP is unavailable', async () => {
    const server = await serverWithoutEdge();
    const ev = events();
    const fb = start(server.url, true, ev);
    // No peer delivers (noPeerTimeoutMs), the edge is asked, absent, asked again after httpRetryMs.
    await until(() => server.playlistRequests() >= 3, 'three probes of the edge');
    await until(() => ev.http.filter((s) => s === 'unavailable').length >= 3, 'three answers');
    expect(ev.errors).toEqual([]);
    expect(ev.paths).toEqual([]);
    expect(fb.path).toBe('p2p');
    expect(fb.stats.http).toBe('unavailable');
    expect(ev.http.slice(0, 2)).toEqual(['probing', 'unavailable']);
  });
});

describe('HlsFallback and frames the session took from the edge\'s feed', () => {
  /** Frames pushed into the player every 10 ms; `outside` says how many of them the session took from HTTP. */
  async function run(allOutside: boolean): Promise<{ http: HttpState[]; feed: HlsFallback['stats']['feed'] }> {
    const server = await serverWithoutEdge();
    const player = new MediaPlayer();
    let taken = 0;
    const ev = events();
    const fb = new HlsFallback({
      video: video(),
      player,
      url: server.url,
      tickMs: 10,
      hasWebRtc: () => true,
      policy: { noPeerTimeoutMs: 100, httpRetryMs: 60_000, starveMs: 10_000, healthyForMs: 10_000 },
      onSourceChange: (d) => ev.paths.push(d.path),
      onHttpState: (st) => ev.http.push(st),
      outside: () => ({ add: () => false, linked: () => true, taken: () => taken }),
    });
    cleanups.push(() => {
      fb.destroy();
      player.destroy();
    });
    for (let i = 0; i < 60; i++) {
      player.pushFrame({ seq: i, bytes: new Uint8Array(0), flags: 0, captureTimeMs: 0 });
      if (allOutside) taken++;
      await new Promise((r) => setTimeout(r, 10));
    }
    return { http: ev.http, feed: fb.stats.feed };
  }

  it('frames the session took from outside are no P2P frames: with only those, the player looks for the edge', async () => {
    const r = await run(true);
    // No frame came from the swarm: after noPeerTimeoutMs the policy leaves P2P (the edge is absent here).
    expect(r.http[0]).toBe('probing');
    expect(r.feed.taken).toBe(60);
    // No hls.js plays, so no feed runs.
    expect(r.feed).toMatchObject({ state: 'off', bytes: 0, frames: 0 });
  });

  it('the same frames from the swarm keep the player on P2P', async () => {
    const r = await run(false);
    expect(r.http).toEqual([]);
    expect(r.feed.taken).toBe(0);
  });
});

describe('sourceStateText', () => {
  const base = { path: 'p2p' as const, http: 'idle' as HttpState };
  it('keeps the P2P status text while P2P plays, and hides it while HTTP plays', () => {
    expect(sourceStateText('No peers reachable.', { ...base }, true)).toBe('No peers reachable.');
    expect(sourceStateText('No peers reachable.', { ...base, http: 'unavailable' }, true)).toBe('No peers reachable.');
    expect(sourceStateText('Waiting for the broadcaster…', { path: 'http', http: 'playing' }, false)).toBe('');
    expect(sourceStateText('Waiting for the broadcaster…', { path: 'native-hls', http: 'playing' }, false)).toBe('');
  });
  it('says plainly when neither path can play (no WebRTC, no edge), and that it retries', () => {
    const t = sourceStateText('Waiting for the broadcaster…', { ...base, http: 'unavailable' }, false);
    expect(t).toMatch(/WebRTC/);
    expect(t).toMatch(/retr/);
  });
});

describe('defaultFallbackUrl', () => {
  it('puts the playlist on the tracker\'s server', () => {
    expect(defaultFallbackUrl('ws://h:8080/tracker', 's 1')).toBe('http://h:8080/hls/s%201/index.m3u8');
    expect(defaultFallbackUrl('wss://h/tracker?x=1', 's1')).toBe('https://h/hls/s1/index.m3u8');
    expect(defaultFallbackUrl('', 's1')).toBeNull();
  });
  it('takes the first node of a tracker list (the tracker attribute may name several)', () => {
    expect(defaultFallbackUrl('wss://a.example/tracker wss://b.example/tracker', 's1')).toBe('https://a.example/hls/s1/index.m3u8');
    expect(defaultFallbackUrl('  ws://a:1/t\n\tws://b:2/t ', 's1')).toBe('http://a:1/hls/s1/index.m3u8');
    // Nodes named without a path: the whole list is no URL at all.
    expect(defaultFallbackUrl('ws://a:8080 ws://b:8080', 's1')).toBe('http://a:8080/hls/s1/index.m3u8');
    expect(defaultFallbackUrl('wss://a wss://b', 's1')).toBe('https://a/hls/s1/index.m3u8');
  });
});
