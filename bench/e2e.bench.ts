// `npm run bench:e2e`: the whole product in browsers on loopback. Starts `npm start` on a free port,
// a broadcaster page and 6 viewers opening its watch link, each in its own browser
// context, and measures for 60 s: glass-to-glass latency, time to first picture, frames on time,
// broadcaster upload / stream, viewer download / stream, CPU per page. Prints numbers, asserts none.
// Camera: by default a generated high-detail moving Y4M clip (bench/e2e-camera.ts, written to the
// OS temp dir) played by the broadcaster's browser as its camera, so the encoder makes about the
// requested bitrate as with a real camera; `--camera fake` uses Chromium's plain green fake camera
// (~250 kbit/s whatever is asked). The viewers' browser has no camera file.
// Flags: --viewers N (6), --seconds S (60), --port P (free), --bitrate BPS (1500000), --camera file|fake (file),
// --wait S (60: how long a page may take to go live or show its first picture), --firefox N (0: the
// last N viewers open the watch link in Firefox ESR over WebDriver BiDi; figures are printed per
// browser pairing, Firefox CPU is not measured).
// A step that times out is reported with the page's state and the run goes on without that viewer
// (or stops cleanly with exit code 1 when the broadcaster never goes live); nothing is left unhandled.

import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type CDPSession, type Page } from '@playwright/test';
import { chromiumArgs } from '../playwright.config.ts';
import { broadcasterSnapshot, freePort, viewerSnapshot, type ViewerSnapshot } from '../e2e/swarm-kit.ts';
import { writeCameraClip, type CameraClip } from './e2e-camera.ts';
import { launchFirefox } from '../e2e/firefox.ts';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';

const { values } = parseArgs({ options: { viewers: { type: 'string' }, seconds: { type: 'string' }, port: { type: 'string' }, bitrate: { type: 'string' }, camera: { type: 'string' }, wait: { type: 'string' }, firefox: { type: 'string' } } });
const FIREFOX_VIEWERS = Number(values.firefox ?? 0);
const WAIT_MS = Number(values.wait ?? 60) * 1000;
if (!(WAIT_MS > 0)) throw new Error(`--wait ${values.wait}: expected seconds > 0`);
const VIEWERS = Number(values.viewers ?? 6);
const SECONDS = Number(values.seconds ?? 60);
const WARMUP_S = 5;
const BITRATE = Number(values.bitrate ?? 1_500_000);
const CAMERA = values.camera ?? 'file';
if (CAMERA !== 'file' && CAMERA !== 'fake') throw new Error(`--camera ${CAMERA}: expected file or fake`);
if (!(BITRATE >= 50_000 && BITRATE <= 50_000_000)) throw new Error(`--bitrate ${values.bitrate}: expected 50000 … 50000000 bits per second`);
const clip: CameraClip | null = CAMERA === 'file' ? await writeCameraClip() : null;


const port = values.port ? Number(values.port) : await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`npm start exited with ${code}`)));
  server.stdout.on('data', (d: Buffer) => d.toString().includes('p2p-player on') && resolve());
});

// Viewers in one browser; the broadcaster in its own, whose fake camera plays the clip.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: chromiumArgs });
const broadcasterBrowser = clip ? await chromium.launch({ executablePath, args: [...chromiumArgs, `--use-file-for-fake-video-capture=${clip.file}`] }) : browser;
/** A step of the run that failed in a way worth a plain report, not a stack trace. */
class BenchFailure extends Error {}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cpuSeconds(cdp: CDPSession | null): Promise<number> {
  if (!cdp) return NaN;
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> };
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
}

/** What a page shows when a step timed out: its player status and error, or the broadcaster's state. */
async function pageState(page: Page): Promise<string> {
  // A string expression: tsx would wrap named functions in a helper the page does not have.
  const expr = `(() => {
    const el = document.querySelector('p2p-player');
    if (el) return 'player status ' + el.status + ', state text "' + (el.shadowRoot?.querySelector('.state')?.textContent ?? '') + '"';
    return 'state "' + (document.getElementById('state')?.textContent ?? '') + '", error "' + (document.getElementById('error')?.textContent ?? '') + '"';
  })()`;
  return page.evaluate<string>(expr).catch((e: unknown) => `page unreadable: ${String(e)}`);
}

const reason = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0];

type Kind = 'chromium' | 'firefox';

async function openPage(url: string, on: Browser = browser): Promise<{ page: Page; cdp: CDPSession | null; kind: Kind }> {
  const context = await on.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(url);
  return { page, cdp, kind: 'chromium' };
}

let firefox: FirefoxBrowser | null = null;

/**
 * A Firefox page behind the two calls the bench makes (evaluate, waitForFunction with Playwright's
 * argument order), so the probes and snapshots run unchanged. No CPU figure (no CDP).
 */
async function openFirefoxPage(url: string): Promise<{ page: Page; cdp: CDPSession | null; kind: Kind }> {
  firefox ??= await launchFirefox();
  const p = await firefox.newPage();
  await p.goto(url);
  const page = {
    evaluate: (fn: (arg: unknown) => unknown, arg?: unknown) => p.evaluate(fn as never, arg as never),
    waitForFunction: (fn: () => unknown, _arg: unknown, options?: { timeout?: number }) => p.waitForFunction(fn, { timeout: options?.timeout, polling: 250 }),
  } as unknown as Page;
  return { page, cdp: null, kind: 'firefox' };
}

try {
  // Broadcaster goes live.
  const b = await openPage(`${base}/demo/broadcast.html`, broadcasterBrowser);
  try {
    await b.page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, null, { timeout: WAIT_MS });
  } catch (e) {
    throw new BenchFailure(`the broadcast page did not open its camera within ${WAIT_MS / 1000} s (${reason(e)}); ${await pageState(b.page)}`);
  }
  // The bitrate picker: pick the requested bitrate, adding it as an option if the page lacks it.
  await b.page.evaluate((bps) => {
    const select = document.getElementById('bitrate') as HTMLSelectElement;
    if (![...select.options].some((o) => o.value === String(bps))) select.add(new Option(`${bps / 1000} kbit/s`, String(bps)));
    select.value = String(bps);
  }, BITRATE);
  await b.page.locator('#start').click();
  try {
    await b.page.waitForFunction(() => document.getElementById('state')?.textContent === 'live' && (window as unknown as { p2p?: unknown }).p2p !== undefined, null, { timeout: WAIT_MS });
  } catch (e) {
    throw new BenchFailure(`the broadcaster did not go live within ${WAIT_MS / 1000} s (${reason(e)}); ${await pageState(b.page)}`);
  }
  const link = await b.page.locator('#watch-link').inputValue();
  await wait(1500);

  // Viewers open the watch link; each page measures its own time to first picture from navigation.
  const opened: Array<{ page: Page; cdp: CDPSession | null; kind: Kind }> = [];
  const failures: string[] = [];
  for (let i = 0; i < VIEWERS; i++) {
    const v = i >= VIEWERS - FIREFOX_VIEWERS ? await openFirefoxPage(link) : await openPage(link);
    try {
      await v.page.waitForFunction(() => (window as unknown as { p2p?: unknown }).p2p !== undefined, null, { timeout: WAIT_MS });
    } catch (e) {
      failures.push(`viewer ${i + 1}: no session within ${WAIT_MS / 1000} s (${reason(e)}); ${await pageState(v.page)}`);
      continue;
    }
    await v.page.evaluate(() => {
      const w = window as unknown as { probe: unknown; p2p: { element: { video: HTMLVideoElement; stats: { glassToGlassMs: number | null } } } };
      const probe = { firstPictureMs: -1, longestStallMs: 0, lastTime: -1, lastMoveMs: 0, watching: false, g2g: [] as number[] };
      w.probe = probe;
      setInterval(() => {
        const v = w.p2p.element.video;
        const now = performance.now();
        if (probe.firstPictureMs < 0 && v.readyState >= 2 && v.currentTime > 0) probe.firstPictureMs = now;
        if (v.currentTime !== probe.lastTime) {
          probe.lastTime = v.currentTime;
          probe.lastMoveMs = now;
        } else if (probe.watching) probe.longestStallMs = Math.max(probe.longestStallMs, now - probe.lastMoveMs);
        const g = w.p2p.element.stats?.glassToGlassMs;
        if (probe.watching && typeof g === 'number' && !v.paused) probe.g2g.push(g);
      }, 100);
    });
    opened.push(v);
  }
  // A viewer that shows no picture in time is reported and left out of the figures; the others go on.
  const pictures = await Promise.allSettled(opened.map((v) => v.page.waitForFunction(() => (window as unknown as { probe: { firstPictureMs: number } }).probe.firstPictureMs > 0, null, { timeout: WAIT_MS })));
  const viewers = opened.filter((_, i) => pictures[i].status === 'fulfilled');
  for (const [i, p] of pictures.entries()) {
    if (p.status === 'rejected') failures.push(`viewer ${i + 1}: no picture within ${WAIT_MS / 1000} s (${reason(p.reason)}); ${await pageState(opened[i].page)}`);
  }
  for (const f of failures) console.log(`FAILED  ${f}`);
  if (viewers.length === 0) throw new BenchFailure(`no viewer showed a picture (${failures.length} failed)`);

  // Measurement window, after a warm-up: a joining viewer first fetches the last seconds of frames
  // its neighbours hold, and fragments of that backlog that complete too late are skipped once.
  await wait(WARMUP_S * 1000);
  await Promise.all(viewers.map((v) => v.page.evaluate(() => Object.assign((window as unknown as { probe: object }).probe, { watching: true, longestStallMs: 0 }))));
  const b0 = await broadcasterSnapshot(b.page);
  const v0 = await Promise.all(viewers.map((v) => viewerSnapshot(v.page)));
  const cpu0 = await Promise.all([b, ...viewers].map((p) => cpuSeconds(p.cdp)));
  const t0 = Date.now();
  await wait(SECONDS * 1000);
  const elapsedS = (Date.now() - t0) / 1000;
  const b1 = await broadcasterSnapshot(b.page);
  const media = await b.page.evaluate(() => (window as unknown as { p2p: { broadcaster: { stats: { bytes: number; paddedBytes: number; videoCodec: string | null } } } }).p2p.broadcaster.stats);
  const track = await b.page.evaluate(() => {
    const s = ((document.getElementById('preview') as HTMLVideoElement).srcObject as MediaStream | null)?.getVideoTracks()[0]?.getSettings();
    return s ? `${s.width}x${s.height} ${s.frameRate} fps` : 'no video track';
  });
  const padding = media.paddedBytes / Math.max(1, media.bytes);
  const v1: ViewerSnapshot[] = await Promise.all(viewers.map((v) => viewerSnapshot(v.page)));
  const cpu1 = await Promise.all([b, ...viewers].map((p) => cpuSeconds(p.cdp)));
  const probes = await Promise.all(viewers.map((v) => v.page.evaluate(() => (window as unknown as { probe: { firstPictureMs: number; longestStallMs: number; g2g: number[] } }).probe)));

  const targets = await Promise.all(viewers.map((v) => v.page.evaluate(() => (window as unknown as { p2p: { element: { stats: { targetLatencyS: number } } } }).p2p.element.stats.targetLatencyS)));
  const g2g = probes.flatMap((p) => p.g2g);
  const firstPicture = probes.map((p) => p.firstPictureMs);
  const framesDelivered = v1.reduce((n, s, i) => n + s.session.framesDelivered - v0[i].session.framesDelivered, 0);
  const framesMissed = v1.reduce((n, s, i) => n + s.session.framesMissed - v0[i].session.framesMissed, 0);
  const fragsOk = v1.reduce((n, s, i) => n + s.fragmentsAppended - v0[i].fragmentsAppended, 0);
  const fragsSkipped = v1.reduce((n, s, i) => n + s.fragmentsSkipped - v0[i].fragmentsSkipped, 0);
  const streamBytes = b1.streamBytes - b0.streamBytes;
  const down = v1.map((s, i) => (s.session.bytesDown - v0[i].session.bytesDown) / Math.max(1, s.session.frameBytes - v0[i].session.frameBytes));
  const fromPeers = v1.map((s) => s.session.shareFromPeers);
  const cpu = cpu1.map((c, i) => (c - cpu0[i]) / elapsedS);
  const f2 = (x: number) => x.toFixed(2);
  const streamKbps = (streamBytes * 8) / elapsedS / 1000;

  console.log(`bench:e2e  1 broadcaster + ${viewers.length} viewers${viewers.length < VIEWERS ? ` (${VIEWERS - viewers.length} of ${VIEWERS} failed, see FAILED above)` : ''}, loopback, ${elapsedS.toFixed(0)} s measured after ${WARMUP_S} s warm-up, swarm mode ${b1.mode}, stream ${streamKbps.toFixed(0)} kbit/s`);
  const source = clip ? `file: generated Y4M ${clip.width}x${clip.height} ${clip.fps} fps ${clip.seconds} s loop (moving noise texture + grain)` : `fake: Chromium's green test picture`;
  console.log(`camera                   ${source}; track ${track}; ${media.videoCodec ?? '?'} asked ${(BITRATE / 1000).toFixed(0)} kbit/s, stream measured ${streamKbps.toFixed(0)} kbit/s (${((100 * streamKbps * 1000) / BITRATE).toFixed(0)} % of asked, audio included)`);
  console.log(`glass-to-glass latency   p50 ${f2(pct(g2g, 50) / 1000)} s   p95 ${f2(pct(g2g, 95) / 1000)} s   (${g2g.length} samples; capture time from the manifests vs the frame shown)`);
  console.log(`player latency target    ${targets.map((t) => t.toFixed(2)).join(' ')} s at the end   (configured target plus what stalls added)`);
  console.log(`time to first picture    p50 ${f2(pct(firstPicture, 50) / 1000)} s   max ${f2(Math.max(...firstPicture) / 1000)} s   (from opening the watch link)`);
  console.log(`frames on time           ${((100 * framesDelivered) / Math.max(1, framesDelivered + framesMissed)).toFixed(2)} % of frames (${framesMissed} missed of ${framesDelivered + framesMissed}); ${((100 * fragsOk) / Math.max(1, fragsOk + fragsSkipped)).toFixed(2)} % of fragments played (${fragsSkipped} skipped); longest stall ${Math.max(...probes.map((p) => p.longestStallMs)).toFixed(0)} ms`);
  const up = (b1.bytesUp - b0.bytesUp) / Math.max(1, streamBytes);
  const downMean = down.reduce((a, x) => a + x, 0) / down.length;
  console.log(`broadcaster upload / stream   ${f2(up)}   (application layer, all messages; ${f2(up / padding)} of the stream padded to 8 KiB blocks, framing efficiency ${(100 / padding).toFixed(0)} %)`);
  console.log(`viewer download / stream      mean ${f2(downMean)}   max ${f2(Math.max(...down))}   (${f2(downMean / padding)} of the padded stream)   share from peers mean ${f2(fromPeers.reduce((a, x) => a + x, 0) / fromPeers.length)}`);
  const chromeCpu = cpu.slice(1).filter((c) => Number.isFinite(c));
  console.log(`CPU per page (main thread)    broadcaster ${(100 * cpu[0]).toFixed(0)} %   Chromium viewers mean ${(100 * (chromeCpu.reduce((a, x) => a + x, 0) / chromeCpu.length)).toFixed(0)} %  max ${(100 * Math.max(...chromeCpu)).toFixed(0)} %   (of one core)`);
  // The same figures per browser pairing (the broadcaster is Chromium).
  for (const kind of ['chromium', 'firefox'] as const) {
    const idx = viewers.map((v, i) => (v.kind === kind ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) continue;
    const g = idx.flatMap((i) => probes[i].g2g);
    const fp = idx.map((i) => probes[i].firstPictureMs);
    const fd = idx.reduce((n, i) => n + v1[i].session.framesDelivered - v0[i].session.framesDelivered, 0);
    const fm = idx.reduce((n, i) => n + v1[i].session.framesMissed - v0[i].session.framesMissed, 0);
    const dec = idx.reduce((n, i) => n + v1[i].decodedFrames - v0[i].decodedFrames, 0) / idx.length / elapsedS;
    const c = idx.map((i) => cpu[i + 1]).filter((x) => Number.isFinite(x));
    console.log(`Chromium -> ${kind.padEnd(8)} ${idx.length} viewers: first picture p50 ${f2(pct(fp, 50) / 1000)} s, glass to glass p50 ${f2(pct(g, 50) / 1000)} s p95 ${f2(pct(g, 95) / 1000)} s, frames on time ${((100 * fd) / Math.max(1, fd + fm)).toFixed(2)} %, decoded ${dec.toFixed(1)} frames/s per viewer, CPU ${c.length ? `${(100 * (c.reduce((a, x) => a + x, 0) / c.length)).toFixed(0)} %` : 'not measured'}`);
  }
} catch (e) {
  // Report and end cleanly: the pages are closed below and the exit code says it failed.
  console.log(`FAILED  bench:e2e: ${e instanceof BenchFailure ? e.message : reason(e)}`);
  process.exitCode = 1;
} finally {
  await (firefox as FirefoxBrowser | null)?.close();
  await browser.close();
  if (broadcasterBrowser !== browser) await broadcasterBrowser.close();
  if (clip) await rm(clip.file, { force: true });
  server.kill('SIGTERM');
}
