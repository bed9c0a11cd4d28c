// The HTTP safety net in Chromium: WebRTC removed by an init script, <p2p-player> plays the stream
// through hls.js from the LL-HLS edge, which is fed by a real stream (a broadcast session through
// the protocol to the edge's viewer session, in a Node process of its own).
import { expect, test } from '@playwright/test';
import { startEdgeServer, type EdgeServer } from './edge-kit.ts';

let server: EdgeServer | null = null;
test.afterEach(() => {
  server?.stop();
  server = null;
});

async function startEdge(): Promise<EdgeServer> {
  server = await startEdgeServer(90);
  return server;
}

test('without WebRTC, <p2p-player> plays from the HLS edge through hls.js', async ({ page }) => {
  test.setTimeout(300_000); // the edge server may take a second start (edge-kit.ts)
  page.on('console', (m) => {
    if (m.type() === 'error') console.log('[page]', m.text());
  });
  const edge = await startEdge();
  await page.addInitScript(() => {
    for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection']) {
      Object.defineProperty(window, name, { value: undefined, configurable: true, writable: true });
    }
  });
  const tracker = `${edge.baseUrl.replace('http', 'ws')}/tracker`;
  const url = `${edge.baseUrl}/hls/${edge.streamId}/index.m3u8`;
  await page.goto(`/e2e/pages/hls-fallback.html?stream=${edge.streamId}&tracker=${encodeURIComponent(tracker)}&fallback-url=${encodeURIComponent(url)}`);
  await expect(page).toHaveTitle('hls page ready');
  expect(await page.evaluate(() => typeof window.RTCPeerConnection)).toBe('undefined');
  await expect.poll(async () => (await page.evaluate(() => window.hlsTest.state())).currentTime, { timeout: 30_000 }).toBeGreaterThan(3);
  const s = await page.evaluate(() => window.hlsTest.state());
  expect(s.path).toBe('http');
  expect(s.changes).toEqual([{ path: 'http', reason: 'no-webrtc' }]);
  // hls.js may start near the live edge, so media time says little about how long it has played:
  // wait for frames decoded, not for a count at the moment the clock passed 3 s.
  await expect.poll(async () => (await page.evaluate(() => window.hlsTest.state())).decoded, { timeout: 30_000 }).toBeGreaterThan(30);
  await expect.poll(async () => ((await page.evaluate(() => window.hlsTest.state())).source as { httpBytes: number } | null)?.httpBytes ?? 0, { timeout: 10_000 }).toBeGreaterThan(50_000);
  const later = await page.evaluate(() => window.hlsTest.state());
  expect((later.source as { shareFromHttp: number }).shareFromHttp).toBe(1);
  expect(later.overlay).toContain('feed        HTTP (hls.js) now');
  // Playback keeps going (live, not a one-off buffer).
  await page.waitForTimeout(2000);
  expect((await page.evaluate(() => window.hlsTest.state())).currentTime).toBeGreaterThan(later.currentTime + 1);
  await page.screenshot({ path: 'test-results/hls-fallback.png' });
});

test('an unreachable edge leaves the <video> to the P2P player and says FALLBACK_FAILED', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(window, 'RTCPeerConnection', { value: undefined, configurable: true, writable: true });
  });
  await page.goto('/e2e/pages/hls-fallback.html?stream=s1&fallback-url=' + encodeURIComponent('http://127.0.0.1:9/hls/s1/index.m3u8'));
  await expect(page).toHaveTitle('hls page ready');
  await page.evaluate(() => {
    const w = window as unknown as { errors: string[] };
    w.errors = [];
    document.querySelector('p2p-player')!.addEventListener('playererror', (e) => w.errors.push((e as CustomEvent).detail.code));
  });
  await expect.poll(async () => page.evaluate(() => (window as unknown as { errors: string[] }).errors), { timeout: 30_000 }).toContain('FALLBACK_FAILED');
  const s = await page.evaluate(() => window.hlsTest.state());
  // The edge was asked before the P2P player let go of the element: no switch happened.
  expect(s.changes).toEqual([]);
  expect(s.path).toBe('p2p');
});
