// Helpers of the swarm browser tests and the e2e benchmark: a tracker in its own process (so a test
// can restart it), the broadcast page going live in its own browser context, viewers opening the
// watch link in theirs, and in-page probes of playback and swarm numbers. No assertions here.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Browser, BrowserContext, Page } from '@playwright/test';

export interface TrackerProcess {
  port: number;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Starts `p2p-player-tracker` as a child process on a free port; extra CLI flags in `args`. */
export async function startTrackerProcess(args: string[] = []): Promise<TrackerProcess> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const launch = async () => {
    const c = spawn(process.execPath, ['bin/p2p-player-tracker.js', '--port', String(port), '--host', '127.0.0.1', '--quiet', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = c;
    await new Promise<void>((resolve, reject) => {
      c.once('exit', (code) => reject(new Error(`tracker exited with ${code}`)));
      c.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve();
      });
    });
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await launch();
  return { port, url: `ws://127.0.0.1:${port}/tracker`, stop, restart: async () => (await stop(), await launch()) };
}

export interface Peer {
  context: BrowserContext;
  page: Page;
}

const logErrors = (page: Page, name: string) =>
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('404') && !m.text().includes('WebSocket connection')) console.log(`[${name}]`, m.text());
  });

/** Opens the broadcast page (in a context of its own), goes live, returns the streamId. */
export async function goLive(browser: Browser, query = ''): Promise<Peer & { streamId: string; watchLink: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  logErrors(page, 'broadcaster');
  await page.goto(`/demo/broadcast.html${query}`);
  await page.locator('#start').waitFor();
  await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, null, { timeout: 30_000 });
  await page.locator('#start').click();
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'live', null, { timeout: 30_000 });
  const streamId = (await page.evaluate(() => document.body.dataset.streamId)) as string;
  const watchLink = await page.locator('#watch-link').inputValue();
  await page.waitForFunction(() => (window as unknown as { p2p?: unknown }).p2p !== undefined, null, { timeout: 30_000 });
  return { context, page, streamId, watchLink };
}

/** Opens the watch link in a context of its own and starts the in-page playback probe. */
export async function openViewer(browser: Browser, watchLink: string, name = 'viewer'): Promise<Peer> {
  const context = await browser.newContext();
  const page = await context.newPage();
  logErrors(page, name);
  await page.goto(watchLink);
  await page.waitForFunction(() => (window as unknown as { p2p?: unknown }).p2p !== undefined, null, { timeout: 30_000 });
  await page.evaluate(installProbe);
  return { context, page };
}

/** Runs in the page: samples the video every 100 ms and keeps the longest time it did not advance. */
function installProbe(): void {
  const w = window as unknown as { probe?: unknown; p2p: { element: HTMLElement & { video: HTMLVideoElement } } };
  const probe = { firstPictureMs: -1, lastTime: -1, lastMoveMs: 0, longestStallMs: 0, watching: false, openedMs: performance.timeOrigin };
  w.probe = probe;
  setInterval(() => {
    const v = w.p2p.element.video;
    const now = performance.now();
    if (v.currentTime !== probe.lastTime) {
      if (probe.lastTime >= 0 && probe.watching) probe.longestStallMs = Math.max(probe.longestStallMs, now - probe.lastMoveMs);
      probe.lastTime = v.currentTime;
      probe.lastMoveMs = now;
      if (probe.firstPictureMs < 0 && v.readyState >= 2) probe.firstPictureMs = now;
    } else if (probe.watching) {
      probe.longestStallMs = Math.max(probe.longestStallMs, now - probe.lastMoveMs);
    }
  }, 100);
}

export interface ViewerSnapshot {
  currentTime: number;
  decodedFrames: number;
  status: string;
  longestStallMs: number;
  firstPictureMs: number;
  glassToGlassMs: number | null;
  fragmentsAppended: number;
  fragmentsSkipped: number;
  session: {
    peerId: string | null;
    peers: number;
    shareFromPeers: number;
    bytesUp: number;
    bytesDown: number;
    mediaBytesDown: number;
    frameBytes: number;
    framesDelivered: number;
    framesMissed: number;
    trackerConnected: boolean;
  };
  holderKeys: number[];
}

export function viewerSnapshot(page: Page): Promise<ViewerSnapshot> {
  return page.evaluate(() => {
    const w = window as unknown as {
      probe: { longestStallMs: number; firstPictureMs: number };
      p2p: { element: HTMLElement & { video: HTMLVideoElement; stats: Record<string, unknown> }; session: { stats: ViewerSnapshot['session']; tracker: { holderKeys: number[] } } };
    };
    const v = w.p2p.element.video;
    const st = w.p2p.element.stats as { status: string; glassToGlassMs: number | null; fragmentsAppended: number; fragmentsSkipped: number };
    return {
      currentTime: v.currentTime,
      decodedFrames: v.getVideoPlaybackQuality().totalVideoFrames,
      status: st.status,
      longestStallMs: w.probe.longestStallMs,
      firstPictureMs: w.probe.firstPictureMs,
      glassToGlassMs: st.glassToGlassMs,
      fragmentsAppended: st.fragmentsAppended,
      fragmentsSkipped: st.fragmentsSkipped,
      session: w.p2p.session.stats,
      holderKeys: w.p2p.session.tracker.holderKeys,
    };
  });
}

/** Starts (or restarts) stall accounting in the page from now on. */
export function watchStalls(page: Page): Promise<void> {
  return page.evaluate(() => {
    const p = (window as unknown as { probe: { watching: boolean; longestStallMs: number; lastMoveMs: number } }).probe;
    p.watching = true;
    p.longestStallMs = 0;
    p.lastMoveMs = performance.now();
  });
}

export interface BroadcasterSnapshot {
  streamId: string;
  peerId: string | null;
  viewers: number;
  connected: number;
  holders: number;
  mode: string;
  streamBytes: number;
  bytesUp: number;
  uploadRatio: number;
  framesPublished: number;
}

export function broadcasterSnapshot(page: Page): Promise<BroadcasterSnapshot> {
  return page.evaluate(() => {
    const s = (window as unknown as { p2p: { session: { stats: Omit<BroadcasterSnapshot, 'streamId'>; key: { streamId: string } } } }).p2p.session;
    return { ...s.stats, streamId: s.key.streamId };
  });
}

/** Everything a failing swarm test should print about a viewer: player stats, video element state, session stats. */
export function viewerDiagnostics(page: Page): Promise<Record<string, unknown>> {
  return page.evaluate(() => {
    interface CoreView {
      peerId: string;
      neighbours: Map<string, { isBroadcaster: boolean; connected?: boolean }>;
      holder: { keys: Set<number>; subscribers: Map<string, Set<number>> };
      producer: { groups: Set<number>; holders: Map<string, number[]>; subs: Map<number, Set<string>>; produced: number };
      recentFrames: unknown[];
    }
    const w = window as unknown as { p2p: { element: HTMLElement & { video: HTMLVideoElement; stats: unknown }; session: { stats: unknown; core?: CoreView } } };
    const v = w.p2p.element.video;
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i < v.buffered.length; i++) ranges.push([v.buffered.start(i), v.buffered.end(i)]);
    const c = w.p2p.session.core;
    const core = c && {
      nowMs: Math.round(performance.now()),
      wallMs: Date.now(),
      neighbours: [...c.neighbours.keys()],
      holderKeys: [...c.holder.keys],
      subscribers: Object.fromEntries([...c.holder.subscribers].map(([p, gs]) => [p, [...gs]])),
      producerGroups: [...c.producer.groups],
      holders: Object.fromEntries(c.producer.holders),
      subscriptions: Object.fromEntries([...c.producer.subs].map(([g, hs]) => [g, [...hs]])),
      produced: c.producer.produced,
      recentFrames: c.recentFrames,
    };
    return {
      video: { currentTime: v.currentTime, paused: v.paused, seeking: v.seeking, readyState: v.readyState, networkState: v.networkState, playbackRate: v.playbackRate, error: v.error?.message ?? null, buffered: ranges },
      player: w.p2p.element.stats,
      session: w.p2p.session.stats,
      core,
    };
  });
}

/** The broadcaster's side of a failing swarm test: its stats, mode and the holders it feeds. */
export function broadcasterDiagnostics(page: Page): Promise<Record<string, unknown>> {
  return page.evaluate(() => {
    const s = (window as unknown as { p2p: { session: { stats: unknown; core: { mode: string; stats: unknown } } } }).p2p.session;
    const core = s.core as unknown as { mode: string; stats: unknown; holders: Map<string, number[]>; neighbours: Map<string, unknown> };
    return {
      nowMs: Math.round(performance.now()), wallMs: Date.now(), stats: s.stats, mode: core.mode, coreStats: core.stats,
      holders: Object.fromEntries(core.holders), neighbours: [...core.neighbours.keys()],
    };
  });
}
