// Microphones at every common sample rate and channel count play at the viewer: the broadcaster
// resamples to 48 kHz and writes Opus at 48 kHz in the MP4 (sample entry, track timescale and the Opus
// header's input rate, which Chromium requires to match); AAC keeps 44.1 kHz and resamples other rates
// to 48 kHz. One page per source; behaviour only.
import { expect, test } from '@playwright/test';

type Summary = Awaited<ReturnType<Window['audioRates']['summary']>>;

const sources = [
  { rate: 44_100, channels: 1, codec: 'opus', written: 48_000 },
  { rate: 44_100, channels: 2, codec: 'opus', written: 48_000 },
  { rate: 48_000, channels: 2, codec: 'opus', written: 48_000 },
  { rate: 16_000, channels: 1, codec: 'opus', written: 48_000 },
  { rate: 96_000, channels: 2, codec: 'opus', written: 48_000 },
  { rate: 44_100, channels: 2, codec: 'aac', written: 44_100 },
  { rate: 16_000, channels: 1, codec: 'aac', written: 48_000 },
] as const;

for (const { rate, channels, codec, written } of sources) {
  const name = codec === 'opus' ? 'Opus' : 'AAC';
  test(`a ${rate} Hz ${channels === 1 ? 'mono' : 'stereo'} source plays at the viewer, ${name} written at ${written / 1000} kHz`, async ({ page }) => {
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('404')) console.log('[page]', m.text());
    });
    await page.goto('/e2e/pages/audio-rates.html');
    await expect(page).toHaveTitle('audio rates ready');
    const started = await page.evaluate(([r, c, k]) => window.audioRates.start(r, c, k), [rate, channels, codec] as const);
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
    expect(s.audioCodec).toBe(codec);
    if (codec === 'opus') expect(s.audio).toEqual({ codec: 'opus', sampleRate: 48_000, channels, timescale: 48_000, inputSampleRate: 48_000 });
    else expect(s.audio).toEqual({ codec: 'mp4a.40.2', sampleRate: written, channels, timescale: written });
    expect(s.trackRate).toBe(rate);
  });
}
