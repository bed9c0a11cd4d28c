// Microphones at every common sample rate and channel count play at the viewer: the broadcaster
// resamples to 48 kHz and writes Opus at 48 kHz in the MP4 (sample entry, track timescale and the Opus
// header's input rate, which Chromium requires to match). One page per source; behaviour only.
import { expect, test } from '@playwright/test';

type Summary = Awaited<ReturnType<Window['audioRates']['summary']>>;

const sources = [
  { rate: 44_100, channels: 1 },
  { rate: 44_100, channels: 2 },
  { rate: 48_000, channels: 2 },
  { rate: 16_000, channels: 1 },
  { rate: 96_000, channels: 2 },
];

for (const { rate, channels } of sources) {
  test(`a ${rate} Hz ${channels === 1 ? 'mono' : 'stereo'} source plays at the viewer, Opus written at 48 kHz`, async ({ page }) => {
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('404')) console.log('[page]', m.text());
    });
    await page.goto('/e2e/pages/audio-rates.html');
    await expect(page).toHaveTitle('audio rates ready');
    const started = await page.evaluate(([r, c]) => window.audioRates.start(r, c), [rate, channels] as const);
    expect(started.contextRate).toBe(rate);
    const summary = (): Promise<Summary> => page.evaluate(() => window.audioRates.summary());
    // Fails fast with the reason when the player reports an error instead of playing.
    await expect.poll(async () => {
      const s = await summary();
      return s.errors.length > 0 || s.mediaError ? `${s.errors.join('; ')} ${s.mediaError}` : s.currentTime > 1;
    }, { timeout: 60_000 }).toBe(true);
    const a = await summary();
    await expect.poll(async () => (await summary()).currentTime, { timeout: 60_000 }).toBeGreaterThan(a.currentTime + 1);
    const s = await summary();
    expect(s.errors).toEqual([]);
    expect(s.mediaError).toBeNull();
    expect(s.status).toBe('playing');
    expect(s.videoFrames).toBeGreaterThan(0);
    expect(s.audioDecodedBytes).toBeGreaterThan(0);
    expect(s.audio).toEqual({ codec: 'opus', sampleRate: 48_000, channels, timescale: 48_000, inputSampleRate: 48_000 });
    expect(s.trackRate).toBe(rate);
  });
}
