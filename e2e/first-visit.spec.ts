// What a new user meets first on the pages: a favicon, an embed page that says what is missing when
// it names no stream (and shows a snippet that can be pasted as is), a broadcast page without
// protocol words that explains its upload figure. Behaviour only.
import { expect, test } from '@playwright/test';

test('/favicon.ico and /favicon.svg are served', async ({ request }) => {
  for (const path of ['/favicon.ico', '/favicon.svg']) {
    const r = await request.get(path);
    expect(r.status(), path).toBe(200);
    expect((await r.body()).length).toBeGreaterThan(50);
  }
});

test('embed page without a stream id says what to do, and its snippet is pasteable text', async ({ page }) => {
  await page.goto('/demo/embed.html');
  const snippet = await page.locator('#snippet').textContent();
  expect(snippet).toContain('stream="YOUR_STREAM_ID"');
  expect(snippet).not.toContain('&lt;');
  expect(snippet).not.toContain('&quot;');
  await expect(page.locator('#no-stream')).toBeVisible();
  const state = page.locator('p2p-player').locator('.state');
  await expect(state).toContainText('No stream chosen');
  await expect(state).not.toContainText('Waiting for the broadcaster');
});

test('broadcast page: no protocol frame count, upload explained, "no viewer yet" while alone', async ({ page }) => {
  await page.goto('/demo/broadcast.html');
  await expect(page.locator('#start')).toBeEnabled({ timeout: 60_000 });
  await page.locator('#start').click();
  await expect(page.locator('#state')).toHaveText('live', { timeout: 60_000 });
  const stats = page.locator('#stats');
  await expect(stats).toContainText('Your upload / stream');
  await expect(stats.locator('dt', { hasText: /^Frames$/ })).toHaveCount(0);
  await expect(stats.locator('dt', { hasText: 'Your upload / stream' })).toHaveAttribute('title', /per byte of stream/);
  await expect(stats.locator('dt:has-text("Your upload / stream") + dd')).toHaveText('no viewer yet', { timeout: 30_000 });
  await expect(page.locator('#bitrate-note + .note, .note').first()).toBeAttached();
});
