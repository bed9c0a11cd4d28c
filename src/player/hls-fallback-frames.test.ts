// The frame path of the safety net in Node: the real HlsFallback and MediaPlayer core against a real
// HTTP server that serves a frame feed (`frames-<n>.bin`) and no playlist, and a stand-in for the
// swarm session's door (the protocol core's checks are tested in src/protocol/outside-frame.test.ts
// and src/hls/frame-path.test.ts). The <video> is a plain object that records what is done to it:
// the frame path must leave it, and so the P2P player's MediaSource, alone.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrameBundle } from '../hls/frame-bundle.ts';
import type { Manifest } from '../protocol/wire.ts';
import type { FallbackPolicyConfig } from './fallback-policy.ts';
import { HlsFallback, type FrameFeedConfig, type OutsideFrameSink } from './hls-fallback.ts';
import { MediaPlayer } from './media-player.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const manifest = (seq: number, length: number): Manifest => ({
  seq, length, captureTimeMs: 1000 + seq, flags: 0, broadcastId: new Uint8Array(8).fill(7),
  digest: new Uint8Array(32).fill(seq & 0xff), signature: new Uint8Array(64).fill(9),
});
const frame = (seq: number) => ({ manifest: manifest(seq, 100), frame: new Uint8Array(100).fill(seq & 0xff) });

/** An edge with a frame feed of frames 0 … 20 (positions = sequence numbers) and no playlist (404). */
async function edgeWithFeed(): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(path.replace(/^.*\//, ''));
    const m = /frames-(live|\d+)\.bin$/.exec(path);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const from = m[1] === 'live' ? 20 : Number(m[1]);
    if (from > 20) {
      // Nothing newer: held a moment, then 503 (as the edge does after its hold).
      setTimeout(() => res.writeHead(503, { 'retry-after': '0' }).end(), 30);
      return;
    }
    const list = [];
    for (let s = from; s <= 20; s++) list.push(frame(s));
    res.writeHead(200, { 'content-type': 'application/vnd.p2p-player.frames' }).end(encodeFrameBundle(list, 21));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hls/s1/index.m3u8`, requests };
}

/** A <video> stand-in that records each reload (removeAttribute('src') + load()). */
function recordingVideo(): { video: HTMLVideoElement; reloads: () => number } {
  let reloads = 0;
  const video = { paused: false, ended: false, canPlayType: () => '', removeAttribute: () => {}, load: () => void reloads++, buffered: { length: 0 }, currentTime: 0 };
  return { video: video as unknown as HTMLVideoElement, reloads: () => reloads };
}

interface Rig {
  fb: HlsFallback;
  player: MediaPlayer;
  video: HTMLVideoElement;
  reloads: () => number;
  added: number[];
  paths: Array<[string, string]>;
  /** Frames from the swarm, one each call (the policy's P2P frames). */
  swarmFrame(): void;
}

let swarmSeq = 1000;
function start(url: string, o: { verifiable?: boolean; takes?: boolean; plays?: boolean; resumeSeq?: number | null; policy?: Partial<FallbackPolicyConfig>; feed?: Partial<FrameFeedConfig> } = {}): Rig {
  const player = new MediaPlayer();
  const { video, reloads } = recordingVideo();
  player.attachMedia(video);
  const added: number[] = [];
  const paths: Array<[string, string]> = [];
  let taken = 0;
  const sink: OutsideFrameSink = {
    add: (m) => {
      added.push(m.seq);
      if (o.takes === false) return false;
      // As the session does once the core's checks held: the frame reaches the same player.
      taken++;
      player.pushFrame({ seq: m.seq, bytes: new Uint8Array(0), flags: 0, captureTimeMs: 0 });
      return true;
    },
    linked: () => false,
    taken: () => taken,
    verifiable: () => o.verifiable ?? true,
    resumeSeq: () => (o.resumeSeq === undefined ? 11 : o.resumeSeq),
  };
  const fb = new HlsFallback({
    video, player, url, tickMs: 10, hasWebRtc: () => true, hasMse: () => true,
    policy: { noPeerTimeoutMs: 50, minDwellMs: 50, starveMs: 100, healthyForMs: 200, httpRetryMs: 60_000, ...o.policy },
    feed: { plays: o.plays ?? true, framesStallMs: 500, earlyMs: 0, ...o.feed },
    outside: () => sink,
    onSourceChange: (d) => paths.push([d.path, d.reason]),
  });
  cleanups.push(() => {
    fb.destroy();
    player.destroy();
  });
  return { fb, player, video, reloads, added, paths, swarmFrame: () => player.pushFrame({ seq: swarmSeq++, bytes: new Uint8Array(0), flags: 0, captureTimeMs: 0 }) };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('HlsFallback: the HTTP path through the P2P player\'s own MediaSource (frame path)', () => {
  it('goes to HTTP without touching the <video>, plays the feed through the session from the frame after its newest, and returns to P2P the same way', async () => {
    const edge = await edgeWithFeed();
    const r = start(edge.url);
    // No swarm frame: after noPeerTimeoutMs the policy goes to HTTP; the edge serves a frame feed.
    await until(() => r.fb.path === 'http', 'the switch to HTTP');
    expect(r.paths).toEqual([['http', 'no-peers']]);
    expect(r.fb.stats.via).toBe('frames');
    await until(() => r.added.length >= 13, 'the feed\'s frames');
    // The live frame first, then back to the first frame the session needs (11), less a margin of two.
    expect(r.added.slice(0, 13)).toEqual([20, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    // The player holds a target 1 s longer while the frame path plays (framesExtraLatencyS).
    expect(r.player.config.targetLatencyS).toBeCloseTo(1.7, 6);
    // The P2P player kept the element: no reload, no hls.js, no playlist asked for.
    expect(r.player.media).toBe(r.video);
    expect(r.reloads()).toBe(0);
    expect(edge.requests.some((q) => q.includes('m3u8'))).toBe(false);
    const s = r.fb.stats;
    expect(s.http).toBe('playing');
    expect(s.httpBytes).toBeGreaterThan(12 * 100);
    expect(s.shareFromHttp).toBe(1);
    // Counted as taken from outside (not P2P frames for the policy) at the next tick.
    await until(() => r.fb.stats.feed.taken === r.added.length, 'the count of frames taken from outside');
    // The swarm delivers again: frames the session took from the feed do not count, these do. (The
    // stand-in <video> is paused from here: it never buffers, and a playing one that never fills
    // would rightly be taken for a dry swarm and sent back to HTTP.)
    (r.video as unknown as { paused: boolean }).paused = true;
    const timer = setInterval(() => r.swarmFrame(), 20);
    cleanups.push(() => clearInterval(timer));
    await until(() => r.fb.path === 'p2p', 'the return to P2P');
    expect(r.paths).toEqual([['http', 'no-peers'], ['p2p', 'p2p-healthy']]);
    expect(r.fb.stats.via).toBeNull();
    expect(r.player.config.targetLatencyS).toBeCloseTo(0.7, 6);
    expect(r.player.media).toBe(r.video);
    expect(r.reloads()).toBe(0);
    // The feed stopped with the stay.
    const asked = edge.requests.length;
    await new Promise((res) => setTimeout(res, 150));
    expect(edge.requests.length).toBeLessThanOrEqual(asked + 1);
  });

  it('a session that cannot check the edge\'s frames (no stream key, a lower rendition) goes the hls.js way', async () => {
    const edge = await edgeWithFeed();
    const r = start(edge.url, { verifiable: false });
    // hls.js asks for the playlist first; there is none here, so the P2P player keeps the element.
    await until(() => r.fb.stats.http === 'unavailable', 'the playlist probe');
    expect(edge.requests.some((q) => q.startsWith('frames-'))).toBe(false);
    expect(edge.requests.some((q) => q.startsWith('index.m3u8'))).toBe(true);
    expect(r.added).toEqual([]);
  });

  it('fallback-feed="relay" (the feed may not play) goes the hls.js way too', async () => {
    const edge = await edgeWithFeed();
    const r = start(edge.url, { plays: false });
    await until(() => r.fb.stats.http === 'unavailable', 'the playlist probe');
    expect(edge.requests.some((q) => q.startsWith('frames-'))).toBe(false);
  });

  it('a frame path that gets no frame through (the session refuses them all) gives way to hls.js within the stay', async () => {
    const edge = await edgeWithFeed();
    const r = start(edge.url, { takes: false });
    await until(() => r.fb.stats.via === 'frames', 'the frame path');
    // framesStallMs (500) without a frame reaching the player: hls.js is tried; with no playlist here,
    // HTTP is unavailable and the P2P player plays on (it never left the element).
    await until(() => r.fb.stats.framesFailures === 1, 'the frame path giving up');
    await until(() => r.fb.path === 'p2p', 'the path back to P2P');
    expect(r.paths).toEqual([['http', 'no-peers'], ['p2p', 'http-failed']]);
    expect(edge.requests.some((q) => q.startsWith('index.m3u8'))).toBe(true);
    expect(r.fb.stats.http).toBe('unavailable');
    expect(r.player.media).toBe(r.video);
  });

  it('a swarm silent for feed.earlyMs starts the frame path\'s feed before the switch, and the switch takes that feed over (no second start, no probe)', async () => {
    const edge = await edgeWithFeed();
    const r = start(edge.url, { policy: { starveMs: 1000, quickStarveMs: 1000, healthyForMs: 1000, noPeerTimeoutMs: 60_000 }, feed: { earlyMs: 40 } });
    // The swarm delivers (long enough for its rhythm to be known), then falls silent (paused
    // stand-in <video>: only the starve rule applies).
    (r.video as unknown as { paused: boolean }).paused = true;
    const timer = setInterval(() => r.swarmFrame(), 20);
    await until(() => r.player.stats.framesIn >= 30, 'the swarm\'s frames');
    clearInterval(timer);
    await until(() => r.fb.path === 'http', 'the switch to HTTP');
    expect(r.paths).toEqual([['http', 'p2p-dry']]);
    expect(r.fb.stats.via).toBe('frames');
    expect(r.fb.stats.earlyStarts).toBe(1);
    // One feed from the silence on: it asked for the live bundle once, and nothing asked again at the
    // switch (without the early start the switch probes frames-live.bin, then the feed asks for it).
    await until(() => r.added.length >= 13, 'the feed\'s frames');
    expect(edge.requests.filter((q) => q === 'frames-live.bin')).toEqual(['frames-live.bin']);
    expect(r.added.slice(0, 13)).toEqual([20, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(r.fb.stats.httpBytes).toBeGreaterThan(12 * 100);
  });

  it('an early feed stops when the swarm delivers again, and its bytes count as fetched over HTTP', async () => {
    const edge = await edgeWithFeed();
    const r = start(edge.url, { policy: { starveMs: 5000, quickStarveMs: 5000, healthyForMs: 5000, noPeerTimeoutMs: 60_000 }, feed: { earlyMs: 40 } });
    (r.video as unknown as { paused: boolean }).paused = true;
    const first = setInterval(() => r.swarmFrame(), 20);
    await until(() => r.player.stats.framesIn >= 30, 'the swarm\'s frames');
    clearInterval(first);
    await until(() => r.fb.stats.earlyStarts === 1, 'the early start');
    await until(() => r.added.length >= 1, 'a frame from the early feed');
    // The swarm is back before the policy's starve time: the early feed stops, P2P plays on.
    const timer = setInterval(() => r.swarmFrame(), 10);
    cleanups.push(() => clearInterval(timer));
    await until(() => edge.requests.length > 0 && r.fb.stats.earlyStarts === 1 && r.added.length > 0, 'the swarm\'s frames');
    await new Promise((res) => setTimeout(res, 100));
    const asked = edge.requests.length;
    await new Promise((res) => setTimeout(res, 200));
    expect(edge.requests.length).toBeLessThanOrEqual(asked + 1);
    expect(r.fb.path).toBe('p2p');
    expect(r.paths).toEqual([]);
    expect(r.fb.stats.earlyStarts).toBe(1);
    expect(r.fb.stats.httpBytes).toBeGreaterThan(0);
  });
});
