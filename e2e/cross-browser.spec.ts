// A Chromium broadcaster (Playwright) and a Firefox viewer (firefox-esr over WebDriver BiDi with
// puppeteer-core) on the real server and tracker: the viewer's watch page joins over WebRTC and
// plays through MSE. Behaviour only; margins are generous for a loaded 2-core machine.
import { expect, test } from '@playwright/test';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import { broadcasterSnapshot, goLive } from './swarm-kit.ts';
import { capabilities, launchFirefox } from './firefox.ts';

test.setTimeout(300_000);

interface FirefoxView {
  currentTime: number;
  decoded: number;
  status: string;
  peers: number;
  bytesDown: number;
  codecs: string | null;
  error: string | null;
}

test('a Chromium broadcaster and a Firefox viewer: the viewer plays over WebRTC + MSE', async ({ browser, baseURL }) => {
  const b = await goLive(browser);
  let ff: FirefoxBrowser | null = null;
  try {
    ff = await launchFirefox();
    const page = await ff.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('404')) console.log('[firefox]', m.text());
    });
    await page.goto(`${baseURL}/demo/watch.html?stream=${b.streamId}`);
    const caps = await capabilities(page);
    console.log(JSON.stringify({ firefox: caps }));
    await page.waitForFunction(() => (window as unknown as { p2p?: unknown }).p2p !== undefined, { timeout: 60_000 });
    const view = () =>
      page.evaluate((): FirefoxView => {
        const w = window as unknown as { p2p: { element: HTMLElementTagNameMap['p2p-player']; session: { stats: { peers: number; bytesDown: number } } } };
        const el = w.p2p.element;
        return {
          currentTime: el.video.currentTime,
          decoded: el.video.getVideoPlaybackQuality().totalVideoFrames,
          status: el.status,
          peers: w.p2p.session.stats.peers,
          bytesDown: w.p2p.session.stats.bytesDown,
          codecs: el.stats?.codecs ?? null,
          error: el.video.error?.message ?? null,
        };
      });
    await expect.poll(async () => (await view()).currentTime, { timeout: 120_000, intervals: [1000] }).toBeGreaterThan(1);
    const a = await view();
    await expect.poll(async () => (await view()).currentTime, { timeout: 60_000, intervals: [1000] }).toBeGreaterThan(a.currentTime + 3);
    const v = await view();
    expect(v.error).toBeNull();
    expect(v.status).toBe('playing');
    expect(v.decoded).toBeGreaterThan(a.decoded);
    expect(v.peers).toBeGreaterThanOrEqual(1);
    expect(v.bytesDown).toBeGreaterThan(a.bytesDown);
    expect(v.codecs).toMatch(/^(avc1|vp09|av01)\./);
    const bs = await broadcasterSnapshot(b.page);
    expect(bs.viewers).toBeGreaterThanOrEqual(1);
    console.log(JSON.stringify({ firefoxViewer: v }));
  } finally {
    await ff?.close();
    await b.context.close();
  }
});
