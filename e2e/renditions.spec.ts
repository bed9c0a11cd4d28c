// Renditions in Chromium: the broadcast page goes live with two renditions (each its own encoder and
// swarm under the same stream key), a viewer opens the watch link, learns both from the signed list,
// plays, then is switched to the other rendition by setting `quality`; it must play on at the new
// picture size, leave the old swarm, and not stall longer than a generous bound (2 shared cores:
// wide timeouts, figures printed, no tight timing asserted).
import { expect, test } from '@playwright/test';
import { expectReportedCode } from '../src/expect-code.ts';
import { goLiveWithRenditions, health, openRenditionViewer, probe, resetProbe } from './renditions-kit.ts';

test('two renditions: the viewer learns both, plays, switches on quality set without a long stall and leaves the old swarm', async ({ browser }) => {
  test.setTimeout(240_000);
  const { bctx, bpage, watchLink } = await goLiveWithRenditions(browser);
  const before = await health(bpage);

  const { vctx, page } = await openRenditionViewer(browser, watchLink);
  const joinedAt = Date.now();
  await expect.poll(async () => (await probe(page)).qualities, { timeout: 60_000 }).toEqual(['240p', '120p']);
  await expect.poll(async () => (await probe(page)).currentTime, { timeout: 60_000 }).toBeGreaterThan(2);
  const firstPictureS = (Date.now() - joinedAt) / 1000;
  // Let the start decision ('auto', within 5 s of the list) and any switch it made settle, then
  // force the rendition that is not playing.
  await page.waitForTimeout(8000);
  await expect.poll(async () => (await probe(page)).switchingTo, { timeout: 60_000 }).toBeNull();
  const playingBefore = await probe(page);
  expect(playingBefore.playing).not.toBeNull();
  const target = playingBefore.playing === '240p' ? '120p' : '240p';
  const targetHeight = target === '240p' ? 240 : 120;
  await expect.poll(async () => (await probe(page)).videoHeight, { timeout: 30_000 }).toBe(playingBefore.playing === '240p' ? 240 : 120);
  await resetProbe(page);
  const qualityEvent = page.evaluate((t) => new Promise<string>((resolve) => {
    document.querySelector('p2p-player')!.addEventListener('qualitychange', (e) => {
      const d = (e as CustomEvent<{ playing: string }>).detail;
      if (d.playing === t) resolve(d.playing);
    });
  }), target);
  const setAt = Date.now();
  const timeAtSet = (await probe(page)).currentTime;
  await page.evaluate((t) => ((document.querySelector('p2p-player') as unknown as { quality: string }).quality = t), target);
  expect(await qualityEvent).toBe(target);
  const switchS = (Date.now() - setAt) / 1000;
  // The new rendition's pictures show, and playback runs on.
  await expect.poll(async () => (await probe(page)).videoHeight, { timeout: 60_000 }).toBe(targetHeight);
  const heightAtS = (Date.now() - setAt) / 1000;
  await expect.poll(async () => (await probe(page)).currentTime, { timeout: 60_000 }).toBeGreaterThan(timeAtSet + 6);
  const after = await probe(page);
  // The viewer left the old swarm: back to the broadcaster's sockets and one viewer.
  await expect.poll(async () => (await health(bpage)).sockets, { timeout: 30_000 }).toBe(before.sockets + 1);
  const stats = await page.evaluate(() => (document.querySelector('p2p-player') as unknown as { stats: { status: string; fragmentsSkipped: number; rendition?: unknown } }).stats);
  console.log(JSON.stringify({
    firstPictureS, startedOn: playingBefore.playing, downlinkMbps: playingBefore.downlinkMbps, appendLoadAtStart: playingBefore.appendLoad, measuredDownloadBpsBefore: playingBefore.measuredDownloadBps, measuredDownloadBpsAfter: after.measuredDownloadBps, switchedTo: target, qualitychangeAfterS: switchS, newHeightShownAfterS: heightAtS,
    longestFreezeAroundSwitchMs: after.maxFrozenMs, waitingEvents: after.waiting, playedSinceSetS: +(after.currentTime - timeAtSet).toFixed(2),
    status: stats.status, fragmentsSkipped: stats.fragmentsSkipped, rendition: stats.rendition,
  }));
  expect(after.playing).toBe(target);
  expect(after.quality).toBe(target);
  expect(after.switches).toBeGreaterThanOrEqual(1);
  expect(stats.status).toBe('playing');
  // Generous on a loaded 2-core machine: a switch that re-created the pipeline or waited on a gap
  // froze for seconds; one landing on the same SourceBuffer holds a few hundred ms at most.
  expect(after.maxFrozenMs).toBeLessThan(4000);

  // A quality the broadcast does not have is refused with UNKNOWN_QUALITY.
  const refused = await page.evaluate(() => {
    try {
      (document.querySelector('p2p-player') as unknown as { quality: string }).quality = '1080p';
      return null;
    } catch (e) {
      return { code: (e as { code?: string }).code ?? String(e) };
    }
  });
  expectReportedCode(refused, 'UNKNOWN_QUALITY');
  await vctx.close();
  await bctx.close();
});
