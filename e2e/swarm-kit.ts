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

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
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

/**
 * Opens the broadcast page (in a context of its own) and goes live. The capture is 320×240 by default: one machine runs the
 * broadcaster and five or six viewers, each encoding or decoding and painting the video in
 * software, and at the page's default 640×360 two cores run so far behind that Chromium's
 * decoders starve and the video waits with media buffered ahead, which the swarm tests would
 * count against the protocol.
 */
export async function goLive(browser: Browser, query = '', resolution = '320×240'): Promise<Peer & { streamId: string; watchLink: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  logErrors(page, 'broadcaster');
  await page.goto(`/demo/broadcast.html${query}`);
  await page.locator('#start').waitFor();
  const startEnabled = () => page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, null, { timeout: 30_000 });
  await startEnabled();
  // Choosing a resolution reopens the camera; the start button is disabled until it is open again.
  await page.locator('#resolution').selectOption({ label: resolution });
  await startEnabled();
  await page.locator('#start').click();
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'live', null, { timeout: 30_000 });
  const streamId = (await page.evaluate(() => document.body.dataset.streamId)) as string;
  const watchLink = await page.locator('#watch-link').inputValue();
  await page.waitForFunction(() => (window as unknown as { p2p?: unknown }).p2p !== undefined, null, { timeout: 30_000 });
  await page.evaluate(installTickProbe);
  await page.evaluate(installTracer);
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
  await page.evaluate(installTracer);
  return { context, page };
}

/**
 * Runs in the page: once the session has its core, records what a failing test needs to explain a
 * slow frame: roles and neighbour lists from the tracker, links up and down, the control messages
 * in and out that steer roles and repairs, and per frame when segments and seeds came and went.
 */
function installTracer(): void {
  const w = window as unknown as { p2p?: { session?: { core?: Record<string, unknown> } }; trace?: unknown };
  const log: unknown[] = [];
  const media = new Map<number, Record<string, [number, number, number]>>();
  const now = () => Math.round(performance.now());
  const add = (e: unknown[]) => {
    log.push([now(), ...e]);
    if (log.length > 400) log.shift();
  };
  const noteMedia = (seq: number, what: string) => {
    let m = media.get(seq);
    if (!m) {
      m = {};
      media.set(seq, m);
      if (media.size > 40) media.delete(media.keys().next().value as number);
    }
    const t = now();
    const r = m[what] ?? (m[what] = [t, t, 0]);
    r[1] = t;
    r[2]++;
  };
  w.trace = { log, media, dump: () => ({ log, media: Object.fromEntries(media) }) };
  const watched = new Set(['subscribe', 'seed-request', 'cs-repair', 'direct-slot', 'manifest-request', 'report', 'hello', 'init-request']);
  // Media messages are only counted, per frame and per direction and peer: first and last time, how many.
  const mediaTag: Record<string, string> = { seed: 'seed', 'cs-chunk': 'cs', feed: 'feed', request: 'req' };
  const brief = (m: Record<string, unknown>) => JSON.stringify(m, (k, v) => (k === 'allowed' || k === 'payload' || k === 'manifest' || k === 'frame' ? undefined : v));
  const patch = () => {
    const core = w.p2p?.session?.core as Record<string, (...a: unknown[]) => unknown> | undefined;
    if (!core) return false;
    const wrap = (name: string, before: (...a: unknown[]) => void) => {
      const f = core[name];
      if (typeof f !== 'function') return;
      core[name] = function (this: unknown, ...a: unknown[]) {
        before(...a);
        return f.apply(this, a);
      };
    };
    wrap('handleRoles', (r) => add(['roles', JSON.stringify(r)]));
    wrap('handleNeighbours', (l) => add(['neighbours', (l as Array<{ peerId: string }>).map((n) => n.peerId.slice(0, 4)).join(',')]));
    wrap('handleSwarm', (sw) => add(['swarm', JSON.stringify(sw)]));
    wrap('handleMode', (m) => add(['mode', m]));
    wrap('publishFrame', () => add(['publish']));
    wrap('handlePeerConnected', (p) => add(['up', String(p).slice(0, 4)]));
    wrap('handlePeerDisconnected', (p) => add(['down', String(p).slice(0, 4)]));
    wrap('handleParsed', (from, m) => {
      const msg = m as Record<string, unknown> & { type: string; seq?: number; c?: number; g?: number };
      if (watched.has(msg.type)) add(['in', String(from).slice(0, 4), brief(msg)]);
      else if (mediaTag[msg.type]) noteMedia(msg.seq as number, `${mediaTag[msg.type]}<${String(from).slice(0, 4)}`);
    });
    const poll = core.pollOutput;
    core.pollOutput = function (this: unknown) {
      const o = poll.call(this) as { type: string; peerId?: string; message?: Record<string, unknown> & { type: string; seq?: number } } | undefined;
      if (o?.type === 'send' && o.message) {
        const to = String(o.peerId).slice(0, 4);
        if (watched.has(o.message.type)) add(['out', to, brief(o.message)]);
        else if (mediaTag[o.message.type]) noteMedia(o.message.seq as number, `${mediaTag[o.message.type]}>${to}`);
      }
      return o;
    };
    return true;
  };
  if (!patch()) {
    const t = setInterval(() => {
      if (patch()) clearInterval(t);
    }, 20);
  }
}

/** Runs in the page: lists the last times its 100 ms timer took over 300 ms (a busy or starved page). */
function installTickProbe(): void {
  const probe = { lateTicks: [] as Array<{ atMs: number; gapMs: number }> };
  (window as unknown as { tickProbe: unknown }).tickProbe = probe;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 300) probe.lateTicks.push({ atMs: Math.round(now), gapMs: Math.round(now - last) });
    if (probe.lateTicks.length > 20) probe.lateTicks.shift();
    last = now;
  }, 100);
}

/** The in-page playback probe (see installProbe). */
interface PageProbe {
  firstPictureMs: number;
  lastTime: number;
  lastMoveMs: number;
  longestStallMs: number;
  watching: boolean;
  openedMs: number;
  lastTickMs: number;
  gapInStallMs: number;
  maxTickGapMs: number;
  starvedSinceMs: number;
  longestStarvedMs: number;
  stalls: Array<{ endMs: number; ms: number; maxTickGapMs: number; mediaMs: number; aheadS: number }>;
  /** The video element's waiting / playing / seeking … events: [when, type, currentTime, buffered ranges]. */
  events: Array<[number, string, number, string]>;
}

/**
 * Runs in the page: samples the video every 100 ms and keeps the longest time it did not advance
 * (a stall), and the longest time it did not advance with under 0.3 s of media buffered ahead of
 * it (starved: the swarm had not delivered). The two differ when Chromium holds a video that ran
 * dry until it has buffered well ahead, or when its decoder falls behind on a busy machine.
 * Stalls over 300 ms are also listed with the longest gap between samples during them, which
 * tells a video that stood still from a page whose timers did not run.
 */
function installProbe(): void {
  const w = window as unknown as { probe?: unknown; p2p: { element: HTMLElement & { video: HTMLVideoElement } } };
  const probe: PageProbe = {
    firstPictureMs: -1, lastTime: -1, lastMoveMs: 0, longestStallMs: 0, watching: false, openedMs: performance.timeOrigin,
    lastTickMs: performance.now(), gapInStallMs: 0, maxTickGapMs: 0, starvedSinceMs: -1, longestStarvedMs: 0, stalls: [], events: [],
  };
  w.probe = probe;
  const video = w.p2p.element.video;
  const events = probe.events;
  const round3 = (t: number) => Math.round(t * 1000) / 1000;
  for (const type of ['seeking', 'seeked', 'waiting', 'playing', 'pause', 'emptied', 'stalled']) {
    video.addEventListener(type, () => {
      const ranges: string[] = [];
      for (let i = 0; i < video.buffered.length; i++) ranges.push(`${round3(video.buffered.start(i))}-${round3(video.buffered.end(i))}`);
      events.push([Math.round(performance.now()), type, round3(video.currentTime), ranges.join(' ')]);
      if (events.length > 60) events.shift();
    });
  }
  setInterval(() => {
    const v = w.p2p.element.video;
    const now = performance.now();
    const gap = now - probe.lastTickMs;
    probe.lastTickMs = now;
    if (probe.watching) probe.maxTickGapMs = Math.max(probe.maxTickGapMs, gap);
    probe.gapInStallMs = Math.max(probe.gapInStallMs, gap);
    let aheadS = 0;
    for (let i = 0; i < v.buffered.length; i++) if (v.currentTime >= v.buffered.start(i) - 0.05 && v.currentTime < v.buffered.end(i)) aheadS = v.buffered.end(i) - v.currentTime;
    if (v.currentTime !== probe.lastTime || aheadS >= 0.3 || v.paused) probe.starvedSinceMs = -1;
    else if (probe.starvedSinceMs < 0) probe.starvedSinceMs = now;
    else if (probe.watching) probe.longestStarvedMs = Math.max(probe.longestStarvedMs, now - probe.starvedSinceMs);
    if (v.currentTime !== probe.lastTime) {
      const ms = now - probe.lastMoveMs;
      if (probe.lastTime >= 0 && probe.watching) {
        probe.longestStallMs = Math.max(probe.longestStallMs, ms);
        if (ms > 300 && probe.stalls.length < 20) {
          probe.stalls.push({ endMs: Math.round(now), ms: Math.round(ms), maxTickGapMs: Math.round(probe.gapInStallMs), mediaMs: Math.round((v.currentTime - probe.lastTime) * 1000), aheadS });
        }
      }
      probe.lastTime = v.currentTime;
      probe.lastMoveMs = now;
      probe.gapInStallMs = 0;
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
  longestStarvedMs: number;
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
      probe: PageProbe;
      p2p: { element: HTMLElement & { video: HTMLVideoElement; stats: Record<string, unknown> }; session: { stats: ViewerSnapshot['session']; tracker: { holderKeys: number[] } } };
    };
    const v = w.p2p.element.video;
    const st = w.p2p.element.stats as { status: string; glassToGlassMs: number | null; fragmentsAppended: number; fragmentsSkipped: number };
    return {
      currentTime: v.currentTime,
      decodedFrames: v.getVideoPlaybackQuality().totalVideoFrames,
      status: st.status,
      longestStallMs: w.probe.longestStallMs,
      longestStarvedMs: w.probe.longestStarvedMs,
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
    const p = (window as unknown as { probe: PageProbe }).probe;
    p.watching = true;
    p.longestStallMs = 0;
    p.longestStarvedMs = 0;
    p.maxTickGapMs = 0;
    p.stalls = [];
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
      probe: (window as unknown as { probe: unknown }).probe,
      trace: (window as unknown as { trace?: { dump: () => unknown } }).trace?.dump(),
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
      tickProbe: (window as unknown as { tickProbe?: unknown }).tickProbe,
      trace: (window as unknown as { trace?: { dump: () => unknown } }).trace?.dump(),
    };
  });
}
