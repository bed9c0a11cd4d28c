// Helpers of the renditions browser tests (renditions.spec.ts: a forced switch; renditions-auto.spec.ts:
// the automatic choice): the broadcast page live with two renditions of a 320×240 capture (240p and
// 120p), a viewer on the watch link, and an in-page probe of playback, quality and the measures the
// choice reads. No assertions here.
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

export interface LastAuto {
  from: string;
  to: string;
  downloadBps: number | null;
  streamBps: number | null;
  decodeLoad: number | null;
  droppedShare: number | null;
  frozenShare?: number | null;
  troubles: number;
}

export interface Probe {
  /** Longest span the playhead stood still while playing since resetProbe(), ms. */
  maxFrozenMs: number;
  /** Time the playhead stood still while playing since resetProbe(), ms (every span of 200 ms or more). */
  frozenMs: number;
  waiting: number;
  currentTime: number;
  videoHeight: number;
  playing: string | null;
  quality: string;
  qualities: string[];
  switches: number;
  switchingTo: string | null;
  lastAuto: LastAuto | null;
  downlinkMbps: number | null;
  appendLoad: number | null;
  measuredDownloadBps: number | null;
  /** The download meter's window: counted bytes, busy time and its share of the window. */
  download: { bytes: number; busyMs: number; periods: number; busyShare: number };
  decodedFrames: number;
  droppedFrames: number;
  fragmentsSkipped: number;
  status: string;
  /** `qualitychange` events since the probe started: when (page clock, ms) and what plays. */
  qualityEvents: Array<{ atMs: number; playing: string; quality: string }>;
  /** Switches begun (page clock, ms, where to, and the automatic decision's measures if it was one): before each lands. */
  switchesBegun: Array<{ atMs: number; to: string; auto: LastAuto | null }>;
  /** Spans of 200 ms or more the playhead stood still while playing (page clock, ms; the last 200). */
  freezes: Array<{ atMs: number; ms: number }>;
  /** Picture heights shown, as the video's `resize` events said (page clock, ms). */
  heights: Array<{ atMs: number; height: number }>;
  nowMs: number;
}

export const probe = (page: Page): Promise<Probe> => page.evaluate(() => (window as unknown as { probe: () => Probe }).probe());
export const resetProbe = (page: Page): Promise<void> => page.evaluate(() => (window as unknown as { resetProbe: () => void }).resetProbe());

/** In the page: samples the inner <video> every 50 ms (freezes while playing), records `qualitychange` events. */
export function installProbe(): void {
  type Player = { on(event: 'rendition', fn: (r: { switchingTo: string | null; lastAuto?: LastAuto } | null) => void): void; appendLoad: number | null; downloadBps: number | null; download: { report(nowMs: number): { bytes: number; busyMs: number; periods: number; busyShare: number } } };
  const el = document.querySelector('p2p-player') as HTMLElement & {
    video: HTMLVideoElement; qualities: Array<{ name: string }>; quality: string; playingQuality: string | null; player: Player;
    stats: { status: string; fragmentsSkipped: number; decodedFrames: number; droppedFrames: number; rendition?: { switches: number; switchingTo: string | null; lastAuto?: LastAuto } } | null;
  };
  let last = -1;
  let stillSince = performance.now();
  let maxFrozenMs = 0;
  let frozenMs = 0;
  let waiting = 0;
  const freezes: Array<{ atMs: number; ms: number }> = [];
  const qualityEvents: Array<{ atMs: number; playing: string; quality: string }> = [];
  el.addEventListener('qualitychange', (e) => {
    const d = (e as CustomEvent<{ playing: string; quality: string }>).detail;
    qualityEvents.push({ atMs: Math.round(performance.now()), playing: d.playing, quality: d.quality });
  });
  const switchesBegun: Array<{ atMs: number; to: string; auto: LastAuto | null }> = [];
  let switching: string | null = null;
  el.player.on('rendition', (r) => {
    if (r?.switchingTo && r.switchingTo !== switching) {
      const a = r.lastAuto;
      switchesBegun.push({ atMs: Math.round(performance.now()), to: r.switchingTo, auto: a && a.to === r.switchingTo ? a : null });
    }
    switching = r?.switchingTo ?? null;
  });
  el.video.addEventListener('waiting', () => waiting++);
  const heights: Array<{ atMs: number; height: number }> = [];
  el.video.addEventListener('resize', () => heights.push({ atMs: Math.round(performance.now()), height: el.video.videoHeight }));
  setInterval(() => {
    const v = el.video;
    const now = performance.now();
    if (v.paused || v.readyState < 2 || v.currentTime !== last) {
      if (now - stillSince >= 200 && last >= 0) {
        frozenMs += now - stillSince;
        freezes.push({ atMs: Math.round(stillSince), ms: Math.round(now - stillSince) });
        if (freezes.length > 200) freezes.shift();
      }
      last = v.currentTime;
      stillSince = now;
    } else maxFrozenMs = Math.max(maxFrozenMs, now - stillSince);
  }, 50);
  Object.assign(window, {
    probe: () => {
      const s = el.stats;
      const r = el.player.download.report(performance.now());
      return {
        maxFrozenMs: Math.round(maxFrozenMs), frozenMs: Math.round(frozenMs), waiting, currentTime: el.video.currentTime, videoHeight: el.video.videoHeight,
        playing: el.playingQuality, quality: el.quality, qualities: el.qualities.map((q) => q.name), switches: s?.rendition?.switches ?? 0,
        switchingTo: s?.rendition?.switchingTo ?? null, lastAuto: s?.rendition?.lastAuto ?? null,
        downlinkMbps: (navigator as unknown as { connection?: { downlink?: number } }).connection?.downlink ?? null,
        appendLoad: el.player.appendLoad,
        measuredDownloadBps: el.player.downloadBps,
        download: { bytes: r.bytes, busyMs: Math.round(r.busyMs), periods: r.periods, busyShare: +r.busyShare.toFixed(3) },
        decodedFrames: s?.decodedFrames ?? 0, droppedFrames: s?.droppedFrames ?? 0, fragmentsSkipped: s?.fragmentsSkipped ?? 0, status: s?.status ?? 'none',
        qualityEvents: qualityEvents.slice(), switchesBegun: switchesBegun.slice(), heights: heights.slice(), freezes: freezes.slice(), nowMs: Math.round(performance.now()),
      };
    },
    resetProbe: () => {
      maxFrozenMs = 0;
      frozenMs = 0;
      waiting = 0;
    },
  });
}

export const health = async (page: Page): Promise<{ sockets: number; peers: number; streams: number }> => (await page.request.get('/health')).json();

/** The broadcast page (a context of its own) live with two renditions of a 320×240 capture: 240p and 120p. */
export async function goLiveWithRenditions(browser: Browser): Promise<{ bctx: BrowserContext; bpage: Page; watchLink: string }> {
  const bctx = await browser.newContext();
  const bpage = await bctx.newPage();
  bpage.on('console', (m) => m.type() === 'error' && !m.text().includes('404') && !m.text().includes('WebSocket connection') && console.log('[broadcaster]', m.text()));
  await bpage.goto('/demo/broadcast.html');
  const startEnabled = () => bpage.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, null, { timeout: 30_000 });
  await startEnabled();
  await bpage.locator('#resolution').selectOption({ label: '320×240' });
  await startEnabled();
  await bpage.locator('#renditions').selectOption('2');
  await bpage.locator('#start').click();
  await bpage.waitForFunction(() => document.getElementById('state')?.textContent === 'live', null, { timeout: 60_000 });
  const watchLink = await bpage.locator('#watch-link').inputValue();
  // Both renditions publish: two broadcaster sockets at the tracker.
  await expect.poll(async () => (await health(bpage)).sockets, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  return { bctx, bpage, watchLink };
}

/** The watch link in a context of its own, the probe running once the session is up. */
export async function openRenditionViewer(browser: Browser, watchLink: string): Promise<{ vctx: BrowserContext; page: Page }> {
  const vctx = await browser.newContext();
  const page = await vctx.newPage();
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('404') && !m.text().includes('WebSocket connection') && console.log('[viewer]', m.text()));
  await page.goto(watchLink);
  await page.waitForFunction(() => (window as unknown as { p2p?: unknown }).p2p !== undefined, null, { timeout: 60_000 });
  await page.evaluate(installProbe);
  return { vctx, page };
}
