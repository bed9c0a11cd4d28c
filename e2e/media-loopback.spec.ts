// The real broadcaster media pipeline handed in-page to the real player: fake camera → WebCodecs →
// mediabunny fMP4 → frames → fragments → MSE. No network. Behaviour only, no timing thresholds.
import { expect, test, type Page } from '@playwright/test';

type Summary = Awaited<ReturnType<Window['loopback']['summary']>>;

const summary = (page: Page): Promise<Summary> => page.evaluate(() => window.loopback.summary());
const time = async (page: Page, i: number) => (await summary(page)).players[i].currentTime;

async function open(page: Page, codecs?: string[]) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404')) console.log('[page]', m.text());
  });
  await page.goto('/e2e/pages/media-loopback.html');
  await expect(page).toHaveTitle('media loopback ready');
  return page.evaluate((c) => window.loopback.start(c ? { codecs: c } : {}), codecs);
}

test('frames play: time advances, frames decode, init re-sent, late players start at a key-frame fragment', async ({ page }) => {
  const started = await open(page);
  expect(started.mimeType).toMatch(/^video\/mp4/);
  await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(1);
  const a = (await summary(page)).players[0];
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(a.currentTime + 1);
  const b = await summary(page);
  expect(b.players[0].decoded).toBeGreaterThan(a.decoded);
  expect(b.players[0].error).toBeNull();
  expect(b.players[0].stats.status).toBe('playing');
  expect(b.players[0].stats.codecs).toMatch(/^(avc1|vp09|av01)\..*opus$/);
  expect(b.maxFrameBytes).toBeLessThanOrEqual(65536);
  // The init segment goes out again for late joiners.
  await expect.poll(async () => (await summary(page)).initFrames, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);

  // A player that joins late with the whole backlog starts at the newest complete key-frame fragment.
  const late = await page.evaluate(() => {
    const newest = window.loopback.newestCompleteFragment();
    const index = window.loopback.addLatePlayerWithBacklog();
    return { newest, index };
  });
  // A player that joins with live frames only waits for the re-sent init segment, then plays.
  const live = await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, late.index), { timeout: 30_000 }).toBeGreaterThan(0.5);
  await expect.poll(() => time(page, live), { timeout: 30_000 }).toBeGreaterThan(0.5);
  const c = await summary(page);
  expect(c.players[late.index].appended[0]).toBe(late.newest);
  expect(c.players[live].appended[0]).toBeGreaterThan(late.newest);
  expect(c.players[live].decoded).toBeGreaterThan(0);
  console.log(JSON.stringify({ codec: started, broadcaster: c.broadcaster, player: c.players[0].stats }));
});

test('a lost range of frames makes the player skip those fragments, not stall', async ({ page }) => {
  await open(page);
  await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(1);
  await page.evaluate(() => window.loopback.dropNext(4));
  await expect.poll(async () => (await summary(page)).players[0].skipped.length, { timeout: 30_000 }).toBeGreaterThan(0);
  const afterSkip = await time(page, 0);
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(afterSkip + 2);
  const s = await summary(page);
  const lost = await page.evaluate(() => window.loopback.droppedFragments());
  expect(lost.length).toBeGreaterThan(0);
  const p = s.players[0];
  for (const i of lost) expect(p.appended).not.toContain(i);
  expect(p.skipped.map((k) => k.index)).toEqual(expect.arrayContaining(lost));
  // Every fragment after the loss that was not touched by it still played.
  const after = p.appended.filter((i) => i > Math.max(...lost));
  expect(after.length).toBeGreaterThan(0);
  expect(p.error).toBeNull();
  expect(p.stats.fragmentsSkipped).toBe(p.skipped.length);

  // Stopping the broadcast flushes the last fragment and an end-of-stream frame: the player ends.
  await page.evaluate(() => window.loopback.stop());
  await expect.poll(async () => (await summary(page)).players[0].stats.status, { timeout: 30_000 }).toBe('ended');
});

test('the VP9 fallback encodes and plays too', async ({ page }) => {
  const started = await open(page, ['vp9']);
  expect(started.codec).toBe('vp9');
  await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(1);
  const s = await summary(page);
  expect(s.players[0].stats.codecs).toMatch(/^vp09\./);
  expect(s.players[0].decoded).toBeGreaterThan(0);
});

test('the append queue runs a burst of appends and a remove in order on a real SourceBuffer', async ({ page }) => {
  await open(page);
  await expect.poll(async () => (await summary(page)).broadcaster?.fragments ?? 0, { timeout: 30_000 }).toBeGreaterThan(3);
  const r = await page.evaluate(() => window.loopback.appendQueueCheck());
  expect(r.appended).toBeGreaterThan(3);
  expect(r.maxLength).toBe(r.appended + 1);
  expect(r.order).toEqual([-1, ...Array.from({ length: r.appended }, (_, i) => i)]);
  expect(r.before[2]).toBe(1);
  expect(r.after).not.toBeNull();
  expect(r.after!).toBeGreaterThan(r.before[0]);
});

test('frames out of order and duplicated still play in fragment order', async ({ page }) => {
  await open(page);
  await page.evaluate(() => window.loopback.setJitter(250));
  await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(1);
  const a = await time(page, 0);
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(a + 2);
  const p = (await summary(page)).players[0];
  expect(p.appended.length).toBeGreaterThan(3);
  p.appended.forEach((index, i) => i > 0 && expect(index).toBeGreaterThan(p.appended[i - 1]));
  expect(p.stats.framesIn).toBeGreaterThan(p.appended.length);
  expect(p.error).toBeNull();
});

test('a broadcaster that starts over (new init, fragments from 0) is followed by the player', async ({ page }) => {
  await open(page);
  await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(1.5);
  const before = (await summary(page)).players[0].appended.length;
  await page.evaluate(() => window.loopback.restart());
  // The new stream's media time starts again near 0: the player plays it from its own start.
  await expect.poll(async () => {
    const p = (await summary(page)).players[0];
    const restarted = p.appended.slice(before).some((i, k, a) => k > 0 && i < a[k - 1]) || p.appended.slice(before).includes(0);
    return restarted && p.currentTime > 1 && p.stats.status === 'playing';
  }, { timeout: 30_000 }).toBe(true);
  expect((await summary(page)).players[0].error).toBeNull();
});

test('an unusable init segment shows the error state until a good one arrives', async ({ page }) => {
  await open(page);
  await page.evaluate(() => window.loopback.addPlayer());
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(1);
  await page.evaluate(() => window.loopback.pushBadInit(0));
  await expect.poll(async () => (await summary(page)).players[0].stats.status, { timeout: 10_000 }).toBe('error');
  // The broadcaster re-sends its own init segment: the player starts over and plays again.
  await expect.poll(async () => (await summary(page)).players[0].stats.status, { timeout: 30_000 }).toBe('playing');
  const t = await time(page, 0);
  await expect.poll(() => time(page, 0), { timeout: 30_000 }).toBeGreaterThan(t + 0.5);
});
