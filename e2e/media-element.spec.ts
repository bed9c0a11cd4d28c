// <p2p-player>: upgrade replay, on-screen states, the session seam feeding real frames, media and
// stats events, the overlay, destroy(). One page, no network.
import { expect, test, type Page } from '@playwright/test';

const state = (page: Page, id: string) => page.evaluate((i) => window.elementTest.state(i), id);

test('<p2p-player>: states, upgrade replay, session seam, events, overlay, destroy', async ({ page }) => {
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404')) console.log('[page]', m.text());
  });
  await page.goto('/e2e/pages/media-element.html');
  await expect(page).toHaveTitle('element ready');

  // Properties set before the upgrade are replayed.
  const b0 = await state(page, 'b');
  expect(b0.volume).toBe(0.25);
  const a0 = await state(page, 'a');
  expect(a0.targetLatency).toBe(1.2);
  expect(a0.muted).toBe(true);

  // Without a session the element says it is waiting; session statuses show on screen.
  expect(a0.stateText).toMatch(/^Waiting for the broadcaster… /);
  for (const [s, text] of [
    ['tracker-unreachable', 'Cannot reach the tracker'],
    ['no-peers', 'No peers reachable'],
    ['ended', 'The broadcast has ended'],
  ] as const) {
    await page.evaluate(([id, st]) => window.elementTest.setStatus(id, st), ['b', s] as const);
    await expect.poll(async () => (await state(page, 'b')).stateText).toMatch(new RegExp(`^${text}\\. `));
  }

  // The session seam: frames from the in-page broadcaster reach the element's player.
  await page.evaluate(() => window.elementTest.connect());
  await expect.poll(async () => (await state(page, 'a')).currentTime, { timeout: 30_000 }).toBeGreaterThan(1);
  const a1 = await state(page, 'a');
  expect(a1.requests).toEqual([{ tracker: 'ws://127.0.0.1:9/', stream: 'test-stream' }]);
  expect(a1.status).toBe('playing');
  expect(a1.stateText).toBe('');
  expect(a1.decoded).toBeGreaterThan(0);
  expect(a1.events).toEqual(expect.arrayContaining(['playing', 'timeupdate', 'statuschange']));
  await expect.poll(async () => (await state(page, 'a')).statsEvents, { timeout: 10_000 }).toBeGreaterThan(0);
  const a2 = await state(page, 'a');
  expect(a2.overlayText).toContain('peers       3');
  expect(a2.overlayText).toContain('90.0 %');

  await page.screenshot({ path: 'test-results/media-element.png' });

  // destroy() stops playback for good.
  await page.evaluate(() => window.elementTest.destroy('a'));
  const t = (await state(page, 'a')).currentTime;
  await page.waitForTimeout(500);
  expect((await state(page, 'a')).currentTime).toBe(t);
});
