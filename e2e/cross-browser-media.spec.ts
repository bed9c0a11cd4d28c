// Media encoded by Firefox's WebCodecs (firefox-esr over WebDriver BiDi) through the real broadcaster
// pipeline, carried by the test to a Chromium page and appended to MSE there: H.264 and VP9 decode.
// (Firefox's H.264 decoder configuration needs repairAvcParameterSets for Chromium.) Behaviour only.
import { expect, test } from '@playwright/test';
import { launchFirefox } from './firefox.ts';

test.setTimeout(240_000);

test('H.264 and VP9 encoded in Firefox decode in Chromium (and in Firefox)', async ({ page, baseURL }) => {
  const ff = await launchFirefox();
  try {
    const fp = await ff.newPage();
    await fp.goto(`${baseURL}/e2e/pages/capture-frames.html`);
    await fp.waitForFunction(() => (window as unknown as { captureFrames?: unknown }).captureFrames !== undefined, { timeout: 60_000 });
    await page.goto('/e2e/pages/capture-frames.html');
    await expect(page).toHaveTitle('capture frames ready');
    for (const codec of ['avc', 'vp9']) {
      const enc = await fp.evaluate((c) => window.captureFrames.encode([c], 4), codec);
      expect(enc.codec).toBe(codec);
      expect(enc.fragments.length).toBeGreaterThan(2);
      const chromium = await page.evaluate(([i, f]) => window.captureFrames.play(i, f), [enc.init, enc.fragments] as const);
      const firefox = await fp.evaluate((i, f) => window.captureFrames.play(i, f), enc.init, enc.fragments);
      console.log(JSON.stringify({ codec: enc.mimeType, chromium, firefox }));
      for (const r of [chromium, firefox]) {
        expect(r.error).toBeNull();
        expect(r.appended).toBe(enc.fragments.length);
        expect(r.decoded).toBeGreaterThan(0);
      }
      await fp.reload();
      await fp.waitForFunction(() => (window as unknown as { captureFrames?: unknown }).captureFrames !== undefined, { timeout: 60_000 });
      await page.reload();
    }
  } finally {
    await ff.close();
  }
});
