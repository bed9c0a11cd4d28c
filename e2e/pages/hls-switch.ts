// <p2p-player> with its swarm session and the HLS safety net: the query names the stream, the
// tracker and the edge's playlist. Records sourcechange events, the safety net's rejoins (a new swarm
// session while HTTP plays) and the session's numbers for the P2P ↔ HTTP switch test.
import '../../src/session/p2p-player-entry.ts';
import type { P2PPlayerElement } from '../../src/player/p2p-player-element.ts';
import type { ViewerSession } from '../../src/session/viewer-session.ts';

const q = new URLSearchParams(location.search);
const el = document.createElement('p2p-player') as P2PPlayerElement;
const changes: Array<{ path: string; reason: string; atMs: number }> = [];
let session: ViewerSession | null = null;
/** When each rejoin was seen (stats.source.rejoins grew), sampled every 200 ms. */
const rejoinsAt: number[] = [];
/** Media element reloads (`emptied`: its source was dropped, as hls.js or the P2P player taking the element does). */
let reloads = 0;
el.addEventListener('emptied', () => void reloads++);
el.addEventListener('sourcechange', (e) => changes.push({ ...(e as CustomEvent).detail, atMs: performance.now() }));
/** Failed connections of the page's sessions: [performance.now(), session's peer id, peer id, reason, detail] (the last 100). */
const failures: Array<[number, string, string, string, string]> = [];
/** Failed-link reports each swarm session of the page sent to the tracker: [performance.now(), session's peer id, reported peer id]. */
const failedReports: Array<[number, string, string]> = [];
el.addEventListener('sessionready', (e) => {
  session = (e as CustomEvent<ViewerSession>).detail;
  const tracker = session.tracker;
  const sid = () => tracker.peerId ?? '';
  session.config.transport.on('failed', (peerId, reason, detail) => {
    failures.push([Math.round(performance.now()), sid(), peerId, reason, detail]);
    if (failures.length > 100) failures.shift();
  });
  const report = tracker.reportFailed.bind(tracker);
  tracker.reportFailed = (peerId: string) => {
    if (tracker.connected) failedReports.push([Math.round(performance.now()), tracker.peerId ?? '', peerId]);
    report(peerId);
  };
});
el.setAttribute('tracker', q.get('tracker') ?? 'ws://127.0.0.1:9/tracker');
el.setAttribute('stream', q.get('stream') ?? '');
if (q.get('fallback-url')) el.setAttribute('fallback-url', q.get('fallback-url')!);
if (q.get('feed')) el.setAttribute('fallback-feed', q.get('feed')!);
el.setAttribute('muted', '');
el.setAttribute('autoplay', '');
el.setAttribute('stats-overlay', '');
document.body.append(el);

// The longest time the playhead stood still while the page should have been playing, sampled
// every 50 ms (a figure for the test to print, not a pass mark).
let lastTime = -1;
let stillSinceMs = performance.now();
let longestStillMs = 0;
/** Each time the playhead stood still 300 ms or more: [start (performance.now()), duration ms]. */
let stills: Array<[number, number]> = [];
setInterval(() => {
  const now = performance.now();
  const t = el.currentTime;
  if (t !== lastTime) {
    lastTime = t;
    stillSinceMs = now;
  } else {
    longestStillMs = Math.max(longestStillMs, now - stillSinceMs);
    if (now - stillSinceMs >= 300) {
      const last = stills.at(-1);
      if (last && last[0] === stillSinceMs) last[1] = now - stillSinceMs;
      else stills.push([stillSinceMs, now - stillSinceMs]);
      if (stills.length > 50) stills.shift();
    }
  }
}, 50);

// The last 20 s of what the safety net's policy sees, every 200 ms (for reports when a switch misbehaves).
const trace: Array<[number, string, number, number, number, number, number, string]> = [];
/** The buffered ranges within 3 s of the playhead, to the 10 ms. */
function rangesNear(): string {
  const b = el.buffered;
  const t = el.currentTime;
  const out: string[] = [];
  for (let i = 0; i < b.length; i++) if (b.end(i) > t - 3 && b.start(i) < t + 3) out.push(`${b.start(i).toFixed(2)}-${b.end(i).toFixed(2)}`);
  return out.join(' ');
}
setInterval(() => {
  const rejoins = (el.stats?.source as { rejoins?: number } | undefined)?.rejoins ?? 0;
  while (rejoinsAt.length < rejoins) rejoinsAt.push(Math.round(performance.now()));
  trace.push([Math.round(performance.now()), el.sourcePath, Number((el.stats?.bufferAheadS ?? 0).toFixed(2)), el.stats?.framesIn ?? 0, Number(el.currentTime.toFixed(2)), el.stats?.fragmentsSkipped ?? 0, el.stats?.seeks ?? 0, rangesNear()]);
  if (trace.length > 100) trace.shift();
}, 200);

declare global {
  interface Window {
    switchTest: {
      state(): {
        path: string;
        currentTime: number;
        changes: Array<{ path: string; reason: string; atMs: number }>;
        /** performance.now() when each rejoin was seen. */
        rejoinsAt: number[];
        source: unknown;
        peers: number;
        framesIn: number;
        nowMs: number;
        longestStillMs: number;
        /** Still periods of 300 ms or more since resetStill(): [start ms, duration ms]. */
        stills: Array<[number, number]>;
        /** `emptied` events of the media element so far. */
        reloads: number;
        /** The session's connections by state, the player's status, the HTTP path's state. */
        links: string[];
        status: string;
        http: string;
        /** Failed-link reports of the page's sessions: [performance.now(), reporter, reported]. */
        failedReports: Array<[number, string, string]>;
        /** Failed connections of the page's sessions: [performance.now(), session, peer, reason, detail]. */
        failures: Array<[number, string, string, string, string]>;
        /** The current session's tracker peer id. */
        peerId: string;
      };
      resetStill(): void;
      /** [ms, path, buffer ahead s, frames in, currentTime, fragments skipped, seeks] every 200 ms, the last 20 s. */
      trace(): Array<[number, string, number, number, number, number, number, string]>;
    };
  }
}
window.switchTest = {
  state: () => ({
    path: el.sourcePath,
    currentTime: el.currentTime,
    changes,
    rejoinsAt: rejoinsAt.slice(),
    source: el.stats?.source ?? null,
    peers: session?.stats.peers ?? 0,
    framesIn: el.stats?.framesIn ?? 0,
    nowMs: performance.now(),
    longestStillMs,
    stills: stills.map(([a, d]) => [Math.round(a), Math.round(d)] as [number, number]),
    reloads,
    links: session ? session.config.transport.peers().map((p) => session!.config.transport.peerState(p) ?? 'gone') : [],
    status: el.stats?.status ?? '',
    http: (el.stats?.source as { http?: string } | undefined)?.http ?? '',
    failedReports: failedReports.slice(),
    failures: failures.slice(),
    peerId: session?.tracker.peerId ?? '',
  }),
  trace: () => trace.slice(),
  resetStill: () => {
    longestStillMs = 0;
    stills = [];
    stillSinceMs = performance.now();
  },
};
document.title = 'switch page ready';
