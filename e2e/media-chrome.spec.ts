// media-chrome's controls against <p2p-player>: the LIVE indicator, seeking back in the DVR window
// and "go live", the playback-rate button, picture-in-picture, the error state, properties set
// before upgrade, the rest of the HTMLMediaElement surface, and status after remove(). One page,
// no network; behaviour only.
import { expect, test, type Page } from '@playwright/test';

type State = Awaited<ReturnType<Window['chromeTest']['state']>>;
const state = (page: Page): Promise<State> => page.evaluate(() => window.chromeTest.state());

test('media-chrome controls drive <p2p-player>: LIVE, DVR seek and go live, rate, PiP, error, remove', async ({ page }) => {
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404')) console.log('[page]', m.text());
  });
  await page.goto('/e2e/pages/media-chrome.html');
  await expect(page).toHaveTitle('media-chrome ready');

  // Properties set before the upgrade reach the real accessors (none left as own properties).
  const surface = await page.evaluate(() => window.chromeTest.surface());
  expect(surface).toMatchObject({ poster: '/favicon.svg', preload: 'none', playsInline: true, targetLatency: 1, defaultMuted: true, streamType: 'live' });
  expect(surface.innerPoster).toMatch(/\/favicon\.svg$/);
  expect(surface.ownProps).toEqual([]);
  expect(surface.canPlay).toBe('probably');
  expect(surface.cannotPlay).toBe('');
  expect(surface.textTracks).toBe(0);

  // Live: duration Infinity, media-chrome calls it a live stream and shows LIVE at the edge.
  await expect.poll(async () => (await state(page)).currentTime, { timeout: 60_000 }).toBeGreaterThan(2);
  let s = await state(page);
  expect(s.duration).toBe(Infinity);
  expect(s.controller.mediastreamtype).toBe('live');
  await expect.poll(async () => 'mediatimeislive' in (await state(page)).controller, { timeout: 10_000 }).toBe(true);
  const more = await page.evaluate(() => window.chromeTest.surface());
  expect(more.networkState).toBeGreaterThanOrEqual(1);
  expect(more.played).toBeGreaterThan(0);
  await page.evaluate(() => window.chromeTest.frameCallback());
  await expect.poll(async () => (await state(page)).frameCallbacks, { timeout: 10_000 }).toBeGreaterThan(0);

  // The DVR window grows with the media kept; seek 6 s back: no longer live, and the player stays there.
  await expect.poll(async () => { const r = (await state(page)).seekable; return r ? r[1] - r[0] : 0; }, { timeout: 60_000 }).toBeGreaterThan(9);
  await page.evaluate(() => window.chromeTest.seekBack(6));
  await expect.poll(async () => (await state(page)).atLiveEdge, { timeout: 10_000 }).toBe(false);
  await expect.poll(async () => 'mediatimeislive' in (await state(page)).controller, { timeout: 10_000 }).toBe(false);
  const behind0 = await state(page);
  await expect.poll(async () => (await state(page)).currentTime, { timeout: 30_000 }).toBeGreaterThan(behind0.currentTime + 2);
  s = await state(page);
  expect(s.seekable![1] - s.currentTime).toBeGreaterThan(3);
  expect(s.atLiveEdge).toBe(false);

  // media-chrome's LIVE button goes back to the edge.
  await page.evaluate(() => window.chromeTest.click('media-live-button'));
  await expect.poll(async () => (await state(page)).atLiveEdge, { timeout: 10_000 }).toBe(true);
  await expect.poll(async () => 'mediatimeislive' in (await state(page)).controller, { timeout: 10_000 }).toBe(true);

  // The rate button sets playbackRate (a setter: no strict-mode throw), media-chrome shows it.
  await page.evaluate(() => window.chromeTest.click('media-playback-rate-button'));
  await expect.poll(async () => (await state(page)).playbackRate, { timeout: 10_000 }).toBe(1.5);
  s = await state(page);
  expect(s.controller.mediaplaybackrate).toBe('1.5');
  expect(s.events).toContain('ratechange');
  // Faster than live catches up with the edge and follows live again at rate 1.
  await expect.poll(async () => (await state(page)).atLiveEdge, { timeout: 30_000 }).toBe(true);
  await expect.poll(async () => (await state(page)).playbackRate, { timeout: 10_000 }).toBeLessThan(1.1);

  // Picture-in-picture: media-chrome offers it; entering it is re-dispatched from the shadow root.
  expect(s.controller.mediapipunavailable).toBeUndefined();
  await page.evaluate(() => window.chromeTest.pip());
  await expect.poll(async () => (await state(page)).events.includes('enterpictureinpicture'), { timeout: 10_000 }).toBe(true);
  await expect.poll(async () => 'mediaispip' in (await state(page)).controller, { timeout: 10_000 }).toBe(true);
  await page.evaluate(() => window.chromeTest.leavePip());
  await expect.poll(async () => (await state(page)).events.includes('leavepictureinpicture'), { timeout: 10_000 }).toBe(true);

  // Error state: an unusable init segment. The element reports a MediaError-like error and an
  // 'error' event; media-chrome shows the error code.
  await page.evaluate(() => window.chromeTest.badInit());
  await expect.poll(async () => (await state(page)).statuses.includes('error'), { timeout: 10_000 }).toBe(true);
  s = await state(page);
  expect(s.errorAtFailure?.code).toBeGreaterThan(0);
  expect(s.events).toContain('error');
  await expect.poll(async () => (await state(page)).controllerErrorCodes.length, { timeout: 10_000 }).toBeGreaterThan(0);
  // The broadcaster's own init segment comes again: the element plays and the error clears.
  await expect.poll(async () => (await state(page)).status, { timeout: 30_000 }).toBe('playing');

  expect(s.pageErrors).toEqual([]);
  await page.evaluate(() => window.chromeTest.remove());
  await expect.poll(async () => (await state(page)).status).toBe('idle');
});
