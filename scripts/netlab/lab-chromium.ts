// A Chromium viewer in the network lab: Debian's Chromium started inside a lab host's namespace
// (behind its NAT router) through a launcher script (`ip netns exec NS chromium …`), driven by
// playwright-core over the pipe transport (stdio, which the namespace does not touch). It opens the
// watch page served on the public segment, so the page, the tracker and every WebRTC path go
// through the NAT. An in-page probe records the first picture, how far the video played and its
// stalls; sample() reads it with the player's and the session's stats (window.p2p on the watch page).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { LabCheck, NetLab } from './lab.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether a Chromium viewer can run in the lab: Chromium (CHROMIUM_PATH or Debian's) and ffmpeg
 * (the broadcaster's media). Installs the missing Debian packages with apt-get as root, as the lab
 * installs its own; call after prepareLab().
 */
export function prepareBrowser(): LabCheck {
  const need = [[CHROMIUM_PATH, 'chromium'], ['/usr/bin/ffmpeg', 'ffmpeg']] as const;
  const missing = () => need.filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
  if (missing().length && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', ...missing()], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  const still = missing();
  return still.length ? { ok: false, reason: `missing ${still.join(', ')} (apt-get install ${still.join(' ')})` } : { ok: true };
}

/** No sandbox (root), no background traffic, no GPU, muted autoplay; WebRTC as a browser on the internet does it (mDNS host candidates). */
export const LAB_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/** What the Chromium viewer shows at one moment. Times are ms since the page began to load. */
export interface ChromiumSample {
  at: number;
  /** The video element's currentTime, s. */
  currentTime: number;
  paused: boolean;
  readyState: number;
  /** When the page's swarm session was ready (window.p2p set), ms after navigation; -1 before. */
  sessionReadyMs: number;
  /** When the session had verified its first frame, and the player appended its first fragment, ms after navigation; -1 before. */
  firstFrameMs: number;
  firstAppendMs: number;
  /** The player's status as it changed (sampled every 100 ms), [ms after navigation, status]. */
  statuses: Array<[number, string]>;
  /** When the video first had a picture to show (readyState ≥ 2), ms after navigation; -1 before. */
  firstPictureMs: number;
  /** When its currentTime first advanced while it had a picture and was not seeking, ms after navigation; -1 before. */
  firstMoveMs: number;
  /** Stalls since watch(): times the video stood still over 500 ms while playing, their total and longest, ms. */
  stalls: number;
  stallMs: number;
  longestStallMs: number;
  /** Longest gap between the probe's 100 ms ticks since watch() (a starved page shows here), ms. */
  maxTickGapMs: number;
  decodedFrames: number;
  droppedFrames: number;
  player: Record<string, unknown> | null;
  session: Record<string, unknown> | null;
}

/**
 * Runs in the page from its first script on: finds the <p2p-player>'s video and samples it every
 * 100 ms. No named inner functions: tsx wraps those in a helper the page does not have.
 */
function installLabProbe(): void {
  const probe = {
    firstPictureMs: -1, firstMoveMs: -1, lastTime: -1, lastMoveMs: 0, lastTickMs: 0, maxTickGapMs: 0,
    sessionReadyMs: -1, firstFrameMs: -1, firstAppendMs: -1, statuses: [] as Array<[number, string]>, watching: false, stalls: 0, stallMs: 0, longestStallMs: 0, inStall: false,
  };
  (window as unknown as { labProbe: typeof probe }).labProbe = probe;
  let hooked: HTMLVideoElement | null = null;
  setInterval(() => {
    const now = performance.now();
    if (probe.lastTickMs && probe.watching) probe.maxTickGapMs = Math.max(probe.maxTickGapMs, now - probe.lastTickMs);
    probe.lastTickMs = now;
    const p2p = (window as unknown as { p2p?: { session: { stats: { framesDelivered: number } }; element: { stats: { fragmentsAppended: number } | null } } }).p2p;
    if (probe.sessionReadyMs < 0 && p2p) probe.sessionReadyMs = now;
    if (probe.firstFrameMs < 0 && p2p && p2p.session.stats.framesDelivered > 0) probe.firstFrameMs = now;
    if (probe.firstAppendMs < 0 && p2p && (p2p.element.stats?.fragmentsAppended ?? 0) > 0) probe.firstAppendMs = now;
    const el = document.querySelector('p2p-player') as (HTMLElement & { status?: string }) | null;
    const last = probe.statuses[probe.statuses.length - 1];
    if (el?.status && (!last || last[1] !== el.status) && probe.statuses.length < 40) probe.statuses.push([Math.round(now), el.status]);
      const v = (document.querySelector('p2p-player') as (HTMLElement & { video?: HTMLVideoElement }) | null)?.video ?? null;
    if (!v) return;
    if (hooked !== v) {
      hooked = v;
      v.addEventListener('loadeddata', () => {
        if (probe.firstPictureMs < 0) probe.firstPictureMs = performance.now();
      });
    }
    if (probe.firstPictureMs < 0 && v.readyState >= 2) probe.firstPictureMs = now;
    if (v.currentTime !== probe.lastTime) {
      // A seek (the player's jump to the live edge) moves currentTime too: only playing counts.
      if (probe.lastTime >= 0 && probe.firstMoveMs < 0 && v.readyState >= 2 && !v.seeking) probe.firstMoveMs = now;
      if (probe.inStall) {
        const ms = now - probe.lastMoveMs;
        probe.stallMs += ms;
        probe.longestStallMs = Math.max(probe.longestStallMs, ms);
        probe.inStall = false;
      }
      probe.lastTime = v.currentTime;
      probe.lastMoveMs = now;
    } else if (probe.watching && !v.paused && probe.firstMoveMs >= 0 && !probe.inStall && now - probe.lastMoveMs > 500) {
      probe.inStall = true;
      probe.stalls++;
    }
  }, 100);
}

export class LabChromium {
  #closed = false;
  private constructor(readonly name: string, readonly ns: string, readonly context: BrowserContext, readonly page: Page) {
    context.once('close', () => (this.#closed = true));
  }

  /**
   * CPU seconds (user and system) used so far by the processes now in the browser's namespace:
   * Chromium's browser, renderer, GPU and utility processes (a process that ended is not counted).
   */
  cpuSeconds(): number {
    const r = spawnSync('ip', ['netns', 'pids', this.ns], { encoding: 'utf8' });
    let ticks = 0;
    for (const pid of r.stdout?.split(/\s+/).filter(Boolean) ?? []) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // ended meanwhile
      }
    }
    // Clock ticks of /proc are 100 a second on Linux (USER_HZ).
    return ticks / 100;
  }

  /** Starts Chromium in lab namespace `ns` and opens `url` there. */
  static async open(lab: NetLab, ns: string, name: string, url: string): Promise<LabChromium> {
    // The page needs a secure context (WebCrypto verifies the frames' signatures). On the internet
    // it is served over HTTPS; the lab has no certificates, so its page origin is marked secure.
    const origin = new URL(url).origin;
    const args = [...LAB_CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origin}`];
    // Its profile lives in the lab's scratch directory, which destroy() removes even when the
    // browser was killed and never closed.
    const context = await chromium.launchPersistentContext(path.join(lab.scratchDir(), `${name}-profile`), {
      executablePath: lab.launcher(ns, CHROMIUM_PATH), args, timeout: 60_000,
    });
    try {
      await context.addInitScript(installLabProbe);
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().includes('WebSocket connection') && !m.text().includes('404')) console.log(`[${name}] ${m.text()}`);
      });
      page.on('response', (r) => {
        // The player asks the tracker's host for an HLS fallback, which the lab does not serve (404).
        if (r.status() >= 400 && !r.url().includes('/hls/')) console.log(`[${name}] ${r.status()} ${r.url()}`);
      });
      await page.goto(url, { timeout: 60_000 });
      return new LabChromium(name, ns, context, page);
    } catch (e) {
      await context.close().catch(() => {});
      throw e;
    }
  }

  /** Starts (or restarts) stall accounting from now on. */
  watch(): Promise<void> {
    return this.page.evaluate(() => {
      const p = (window as unknown as { labProbe: { watching: boolean; stalls: number; stallMs: number; longestStallMs: number; maxTickGapMs: number; inStall: boolean; lastMoveMs: number } }).labProbe;
      Object.assign(p, { watching: true, stalls: 0, stallMs: 0, longestStallMs: 0, maxTickGapMs: 0, inStall: false, lastMoveMs: performance.now() });
    });
  }

  sample(): Promise<ChromiumSample> {
    return this.page.evaluate(() => {
      const w = window as unknown as {
        labProbe: { sessionReadyMs: number; firstFrameMs: number; firstAppendMs: number; statuses: Array<[number, string]>; firstPictureMs: number; firstMoveMs: number; stalls: number; stallMs: number; longestStallMs: number; maxTickGapMs: number };
        p2p?: { element: HTMLElement & { video: HTMLVideoElement; stats: Record<string, unknown> | null }; session: { stats: Record<string, unknown> } };
      };
      const v = (document.querySelector('p2p-player') as (HTMLElement & { video?: HTMLVideoElement }) | null)?.video;
      const q = v?.getVideoPlaybackQuality();
      const p = w.labProbe;
      const player = w.p2p?.element.stats ?? null;
      return {
        at: Date.now(),
        currentTime: v?.currentTime ?? 0, paused: v?.paused ?? true, readyState: v?.readyState ?? 0,
        sessionReadyMs: p.sessionReadyMs, firstFrameMs: p.firstFrameMs, firstAppendMs: p.firstAppendMs, statuses: [...p.statuses], firstPictureMs: p.firstPictureMs, firstMoveMs: p.firstMoveMs, stalls: p.stalls, stallMs: p.stallMs, longestStallMs: p.longestStallMs, maxTickGapMs: p.maxTickGapMs,
        decodedFrames: q?.totalVideoFrames ?? 0, droppedFrames: q?.droppedVideoFrames ?? 0,
        // The player's stats hold the session's too; keep them apart.
        player: player && { ...player, session: undefined },
        session: w.p2p ? { ...w.p2p.session.stats } : null,
      };
    });
  }

  /** Waits until `check` holds on a sample (every 500 ms), or throws after `timeoutMs` with the last sample. */
  async waitFor(check: (s: ChromiumSample) => boolean, what: string, timeoutMs: number): Promise<ChromiumSample> {
    const end = Date.now() + timeoutMs;
    let last: ChromiumSample | null = null;
    for (;;) {
      last = await this.sample().catch(() => last);
      if (last && check(last)) return last;
      if (Date.now() > end || this.#closed) throw new Error(`${this.name}: timed out waiting for ${what}; last ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Closes the browser (bounded: the lab kills what is left in the namespace anyway). */
  async close(): Promise<void> {
    await Promise.race([this.context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** What the Chromium viewer did between two samples (b after a; stall counts since watch()). */
export interface ChromiumWindow {
  /** Seconds the video's currentTime advanced: played, plus the player's seeks (`seeks`). */
  advancedS: number;
  /** Seeks the player made (jumps to the live edge after a stall, …). */
  seeks: number;
  decodedFrames: number;
  droppedFrames: number;
  /** Frames the session decoded and verified, and missed. */
  framesDelivered: number;
  framesMissed: number;
  /** Media bytes that came from viewers, not from the broadcaster. */
  mediaBytesFromPeers: number;
  /** Everything downloaded (media, control, overhead) over the stream's own bytes. */
  downloadPerStream: number;
  stalls: number;
  stallMs: number;
  longestStallMs: number;
  /** Longest gap between the page probe's 100 ms ticks since watch(), ms (a starved page). */
  maxTickGapMs: number;
  /** Connected neighbours at b, and how many of them through TURN (relay candidate on either side). */
  links: number;
  relayedLinks: number;
  paths: Record<string, string>;
}

export function chromiumWindow(a: ChromiumSample, b: ChromiumSample): ChromiumWindow {
  const n = (s: ChromiumSample, k: string) => Number(s.session?.[k] ?? 0);
  const d = (k: string) => n(b, k) - n(a, k);
  const paths = (b.session?.paths ?? {}) as Record<string, string>;
  return {
    advancedS: b.currentTime - a.currentTime,
    seeks: Number(b.player?.seeks ?? 0) - Number(a.player?.seeks ?? 0),
    decodedFrames: b.decodedFrames - a.decodedFrames,
    droppedFrames: b.droppedFrames - a.droppedFrames,
    framesDelivered: d('framesDelivered'),
    framesMissed: d('framesMissed'),
    mediaBytesFromPeers: d('mediaBytesDown') - d('mediaBytesFromBroadcaster'),
    downloadPerStream: d('frameBytes') > 0 ? d('bytesDown') / d('frameBytes') : NaN,
    stalls: b.stalls,
    stallMs: b.stallMs,
    longestStallMs: b.longestStallMs,
    maxTickGapMs: b.maxTickGapMs,
    links: n(b, 'peers'),
    relayedLinks: Object.values(paths).filter((p) => p.includes('relay')).length,
    paths,
  };
}

/** One line of figures; the first picture and session start come from `last` (the probe keeps them). */
export function describeChromium(last: ChromiumSample, w: ChromiumWindow, windowS: number): string {
  const first = last;
  const s = (ms: number) => (ms >= 0 ? `${(ms / 1000).toFixed(2)} s` : 'never');
  return [
    `first picture ${s(first.firstPictureMs)} after the page began to load (target ≤ 2 s; session ready at ${s(first.sessionReadyMs)}, so ${first.firstPictureMs >= 0 && first.sessionReadyMs >= 0 ? s(first.firstPictureMs - first.sessionReadyMs) : '?'} from the session's start; first frame verified at ${s(first.firstFrameMs)}, first fragment appended at ${s(first.firstAppendMs)}, video moving at ${s(first.firstMoveMs)}; player status ${first.statuses.map(([t, st]) => `${(t / 1000).toFixed(1)} s ${st}`).join(', ')})`,
    `video advanced ${w.advancedS.toFixed(1)} s in ${windowS} s (${w.seeks} seeks by the player among it), ${w.decodedFrames} video frames decoded, ${w.droppedFrames} dropped`,
    `stalls over 500 ms: ${w.stalls} (${(w.stallMs / 1000).toFixed(1)} s in all, longest ${(w.longestStallMs / 1000).toFixed(1)} s; the page's 100 ms timer ran up to ${(w.maxTickGapMs / 1000).toFixed(1)} s late)`,
    `session frames ${w.framesDelivered} delivered, ${w.framesMissed} missed; media from peers ${(w.mediaBytesFromPeers / 1024).toFixed(0)} KiB; download / stream ${w.downloadPerStream.toFixed(2)}`,
    `neighbours ${w.links}: ${w.links - w.relayedLinks} direct, ${w.relayedLinks} through TURN (${Object.values(w.paths).join(', ') || 'no paths'})`,
  ].join('; ');
}
