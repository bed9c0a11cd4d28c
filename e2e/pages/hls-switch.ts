// <p2p-player> with its swarm session and the HLS safety net: the query names the stream, the
// tracker and the edge's playlist. Records sourcechange events and the session's numbers for the
// P2P ↔ HTTP switch test.
import '../../src/session/p2p-player-entry.ts';
import type { P2PPlayerElement } from '../../src/player/p2p-player-element.ts';
import type { ViewerSession } from '../../src/session/viewer-session.ts';

const q = new URLSearchParams(location.search);
const el = document.createElement('p2p-player') as P2PPlayerElement;
const changes: Array<{ path: string; reason: string; atMs: number }> = [];
let session: ViewerSession | null = null;
el.addEventListener('sourcechange', (e) => changes.push({ ...(e as CustomEvent).detail, atMs: performance.now() }));
el.addEventListener('sessionready', (e) => void (session = (e as CustomEvent<ViewerSession>).detail));
el.setAttribute('tracker', q.get('tracker') ?? 'ws://127.0.0.1:9/tracker');
el.setAttribute('stream', q.get('stream') ?? '');
if (q.get('fallback-url')) el.setAttribute('fallback-url', q.get('fallback-url')!);
el.setAttribute('muted', '');
el.setAttribute('autoplay', '');
el.setAttribute('stats-overlay', '');
document.body.append(el);

// The longest time the playhead stood still while the page should have been playing, sampled
// every 50 ms (a figure for the test to print, not a pass mark).
let lastTime = -1;
let stillSinceMs = performance.now();
let longestStillMs = 0;
setInterval(() => {
  const now = performance.now();
  const t = el.currentTime;
  if (t !== lastTime) {
    lastTime = t;
    stillSinceMs = now;
  } else longestStillMs = Math.max(longestStillMs, now - stillSinceMs);
}, 50);

declare global {
  interface Window {
    switchTest: {
      state(): {
        path: string;
        currentTime: number;
        changes: Array<{ path: string; reason: string; atMs: number }>;
        source: unknown;
        peers: number;
        framesIn: number;
        nowMs: number;
        longestStillMs: number;
      };
      resetStill(): void;
    };
  }
}
window.switchTest = {
  state: () => ({
    path: el.sourcePath,
    currentTime: el.currentTime,
    changes,
    source: el.stats?.source ?? null,
    peers: session?.stats.peers ?? 0,
    framesIn: el.stats?.framesIn ?? 0,
    nowMs: performance.now(),
    longestStillMs,
  }),
  resetStill: () => {
    longestStillMs = 0;
    stillSinceMs = performance.now();
  },
};
document.title = 'switch page ready';
