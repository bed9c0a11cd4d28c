// What hls.js asks the edge for (issue 13). A Chromium viewer without WebRTC joins a fresh stream
// and plays it from the LL-HLS edge (e2e/hls-edge-server.ts) through <p2p-player>'s safety net;
// every request the page makes to the edge in its first 15 s is counted by URL. hls.js 1.7.4 asked
// for one part of the first segment more than 1 300 times within a second when that segment was
// numbered 0 (docs/hls.md, Media sequence numbers), so the first segment must be at the live edge
// when the page starts: the page is opened as soon as the edge server is ready.
//
// Bounds (counts and bytes, no time limits): each media resource (init, segment, part) is asked
// for at most 3 times; the media bytes fetched over HTTP (`stats.source.httpBytes`, each URL once: a repeat is a cache hit) and
// the bytes the edge sent are at most 3 × the bytes of everything the edge holds at the end of the
// window (the stream from its start: hls.js may legitimately fetch all of it once, parts and the
// segments made of them both).
import { expect, test } from '@playwright/test';
import { startEdgeServer, type EdgeServer } from './edge-kit.ts';

let server: EdgeServer | null = null;
test.afterEach(() => {
  server?.stop();
  server = null;
});

const WINDOW_MS = 15_000;

/** Bytes of every segment and of the open segment's parts in the edge's playlist now (HEAD requests: the edge counts no body bytes for them). */
async function heldBytes(playlistUrl: string): Promise<{ bytes: number; segments: number; parts: number }> {
  const text = await (await fetch(playlistUrl)).text();
  const lines = text.split('\n');
  const names: string[] = [];
  let openParts: string[] = [];
  let segments = 0;
  for (const line of lines) {
    const part = /^#EXT-X-PART:.*URI="([^"]+)"/.exec(line);
    if (part) openParts.push(part[1]);
    else if (line && !line.startsWith('#')) {
      names.push(line);
      segments++;
      openParts = [];
    }
  }
  names.push(...openParts);
  let bytes = 0;
  for (const n of names) {
    const r = await fetch(new URL(n, playlistUrl), { method: 'HEAD' });
    bytes += Number(r.headers.get('content-length') ?? 0);
  }
  return { bytes, segments, parts: openParts.length };
}

test('hls.js asks the edge for each part a few times at most, and fetches about the stream', async ({ page }) => {
  test.setTimeout(300_000); // the edge server may take a second start (edge-kit.ts)
  server = await startEdgeServer(90);
  const edge = server;
  await page.addInitScript(() => {
    for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection']) {
      Object.defineProperty(window, name, { value: undefined, configurable: true, writable: true });
    }
  });
  const prefix = `${edge.baseUrl}/hls/${edge.streamId}/`;
  const counts = new Map<string, number>();
  let firstMs = 0;
  let counting = true;
  page.on('request', (r) => {
    const u = r.url();
    if (!counting || !u.startsWith(prefix)) return;
    if (firstMs === 0) firstMs = Date.now();
    const name = u.slice(prefix.length);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  const tracker = `${edge.baseUrl.replace('http', 'ws')}/tracker`;
  const url = `${prefix}index.m3u8`;
  await page.goto(`/e2e/pages/hls-fallback.html?stream=${edge.streamId}&tracker=${encodeURIComponent(tracker)}&fallback-url=${encodeURIComponent(url)}`);
  await expect(page).toHaveTitle('hls page ready');
  await expect.poll(() => firstMs, { timeout: 30_000 }).toBeGreaterThan(0);
  await page.waitForTimeout(Math.max(0, firstMs + WINDOW_MS - Date.now()));
  counting = false;
  const s = await page.evaluate(() => window.hlsTest.state());
  await page.waitForTimeout(500); // the edge prints its counters every 250 ms
  const sent = edge.counters();
  const held = await heldBytes(url);
  const media = [...counts].filter(([n]) => /\.(m4s|mp4)$/.test(n));
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5);
  const httpBytes = (s.source as { httpBytes: number }).httpBytes;
  console.log(`first ${WINDOW_MS / 1000} s: ${total} requests to the edge, ${counts.size} URLs (${media.length} media); most asked: ${top.map(([u, n]) => `${u} x${n}`).join(', ')}`);
  console.log(`hls.js fetched ${httpBytes} media bytes (httpBytes; ${(s.source as { httpCacheHits?: number }).httpCacheHits ?? 0} loads of a URL loaded before, httpCacheHits); the edge sent ${sent?.bytesOut} body bytes in ${sent?.requests} requests; the edge holds ${held.bytes} bytes (${held.segments} segments + ${held.parts} parts: the stream so far); playhead ${s.currentTime.toFixed(2)} s on ${s.path}`);
  expect(s.path).toBe('http');
  expect(media.length).toBeGreaterThan(5); // hls.js played from the edge
  expect(media.filter(([, n]) => n > 3)).toEqual([]);
  expect(httpBytes).toBeGreaterThan(0);
  expect(httpBytes).toBeLessThanOrEqual(3 * held.bytes);
  expect(sent).not.toBeNull();
  expect(sent!.bytesOut).toBeLessThanOrEqual(3 * held.bytes);
});
