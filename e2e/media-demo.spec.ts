// The demo pages on their own (no tracker yet): the broadcast page goes live and counts segments, keeps
// its stream id across a reload, offers a watch link; the watch link opens a waiting <p2p-player>.
import { expect, test } from '@playwright/test';

const statValue = (name: string) => `dl#stats dt:text-is("${name}") + dd`;

test('broadcast page: pickers, go live, segments counted, same stream id after reload', async ({ page }) => {
  await page.goto('/demo/broadcast.html');
  await expect(page.locator('#start')).toBeEnabled({ timeout: 30_000 });
  expect(await page.locator('#camera option').count()).toBeGreaterThan(0);
  expect(await page.locator('#resolution option').count()).toBeGreaterThan(2);
  const link = await page.locator('#watch-link').inputValue();
  expect(link).toMatch(/\/watch\/[A-Za-z0-9_-]{43}$/);
  await expect(page.locator('#embed')).toHaveValue(/<p2p-player tracker="ws:\/\/[^"]+" stream="[A-Za-z0-9_-]{43}"/);

  await page.locator('#start').click();
  await expect(page.locator('#state')).toHaveText('live', { timeout: 30_000 });
  await expect.poll(async () => Number(await page.locator(statValue('Segments')).textContent()), { timeout: 30_000 }).toBeGreaterThan(5);
  await expect(page.locator(statValue('Codec'))).toHaveText(/video\/mp4/);
  await expect.poll(async () => Number((await page.locator(statValue('Stream bitrate')).textContent())?.split(' ')[0]), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.screenshot({ path: 'test-results/media-demo-broadcast.png' });
  await page.locator('#stop').click();
  await expect(page.locator('#state')).toHaveText('stopped');

  await page.reload();
  await expect(page.locator('#watch-link')).toHaveValue(link, { timeout: 30_000 });
});

test('watch link opens a waiting player; a bad link shows the stream form', async ({ page }) => {
  const id = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';
  await page.goto(`/watch/${id}`);
  const player = page.locator('p2p-player');
  await expect(player).toHaveAttribute('stream', id);
  await expect(player).toHaveAttribute('data-status', 'waiting-for-broadcaster');
  await expect(page.locator('p2p-player .state')).toHaveText(/^Waiting for the broadcaster… .*keep this page open/);
  await page.screenshot({ path: 'test-results/media-demo-watch.png' });

  await page.goto(`/demo/watch.html?stream=${id}`);
  await expect(page.locator('p2p-player')).toHaveAttribute('stream', id);

  await page.goto('/watch/not-a-stream');
  await expect(page.locator('#pick')).toBeVisible();
  await page.locator('#stream-input').fill(`http://127.0.0.1/watch/${id}`);
  await page.locator('#pick button').click();
  await expect(page).toHaveURL(new RegExp(`/watch/${id}$`));
  await expect(page.locator('p2p-player')).toHaveAttribute('stream', id);
});

test('embed example and landing page load', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('a[href="/demo/broadcast.html"]')).toBeVisible();
  await page.goto('/demo/embed.html?stream=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde');
  await expect(page.locator('p2p-player')).toHaveAttribute('data-status', 'waiting-for-broadcaster');
  await expect(page.locator('#snippet')).toContainText('<p2p-player tracker=');
});
