// <p2p-player> with its swarm session and the HLS safety net, for the frame feed test
// (e2e/hls-feed.spec.ts). The query names the stream, the tracker and the edge's playlist. The page
// taps its session's transport: it counts the media bytes that arrive from each neighbour, and can
// drop every inbound media message (`feedTest.dropMedia(true)`: the links stay up and control
// messages pass, but no packet of the swarm arrives, as when the viewer's neighbours cannot upload
// to it); `feedTest.onlyFrom(id)` drops the media of every neighbour but one (and the broadcaster). Records sourcechange events and the longest still playhead.
import '../../src/session/p2p-player-entry.ts';
import type { P2PPlayerElement } from '../../src/player/p2p-player-element.ts';
import type { ViewerSession } from '../../src/session/viewer-session.ts';

const q = new URLSearchParams(location.search);
// Uncaught errors reach the test's log (it prints the pages' console errors).
addEventListener('error', (e) => console.error('uncaught', e.message));
addEventListener('unhandledrejection', (e) => console.error('unhandled rejection', String((e as PromiseRejectionEvent).reason)));
const el = document.createElement('p2p-player') as P2PPlayerElement;
const changes: Array<{ path: string; reason: string; atMs: number }> = [];
let session: ViewerSession | null = null;
let dropping = false;
/** When set, inbound media from every neighbour but this one and the broadcaster is dropped. */
let onlyFrom: string | null = null;
let broadcasterId: string | null = null;
let dropped = 0;
const mediaInByPeer = new Map<string, number>();

el.addEventListener('sourcechange', (e) => changes.push({ ...(e as CustomEvent).detail, atMs: performance.now() }));
el.addEventListener('sessionready', (e) => {
  const s = (e as CustomEvent<ViewerSession>).detail;
  session = s;
  s.tracker.on('neighbours', ({ neighbours }) => {
    const b = neighbours.find((n) => n.reasons.includes('broadcaster'));
    if (b) broadcasterId = b.peerId;
  });
  // A tap on the transport's inbound messages (emit is the emitter's own method; the session's
  // listeners are called through it).
  const t = s.config.transport as unknown as { emit: (event: string, ...args: unknown[]) => void };
  const emit = t.emit.bind(t);
  t.emit = (event: string, ...args: unknown[]) => {
    if (event === 'message' && args[1] === 'media') {
      const peerId = args[0] as string;
      const bytes = args[2] as Uint8Array;
      mediaInByPeer.set(peerId, (mediaInByPeer.get(peerId) ?? 0) + bytes.length);
      if (dropping || (onlyFrom !== null && peerId !== onlyFrom && peerId !== broadcasterId)) {
        dropped++;
        return;
      }
    }
    emit(event, ...args);
  };
});
el.setAttribute('tracker', q.get('tracker') ?? 'ws://127.0.0.1:9/tracker');
el.setAttribute('stream', q.get('stream') ?? '');
if (q.get('fallback-url')) el.setAttribute('fallback-url', q.get('fallback-url')!);
if (q.get('feed')) el.setAttribute('fallback-feed', q.get('feed')!);
// This test drops the swarm's media while the links stay up, for longer than the safety net's
// rejoin wait: a rejoin would give the viewer a new peer id (the test names A by its id) and a new
// session (whose counters start at 0). The rejoin is e2e/hls-switch.spec.ts's subject, not this one's.
// `rejoin=default` keeps the element's own rejoin wait (15 s).
if (q.get('rejoin') !== 'default') el.fallbackPolicy = { rejoinAfterMs: 600_000, rejoinMaxMs: 600_000 };
el.setAttribute('muted', '');
el.setAttribute('autoplay', '');
el.setAttribute('stats-overlay', '');
document.body.append(el);

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

export interface FeedPageState {
  path: string;
  currentTime: number;
  changes: Array<{ path: string; reason: string; atMs: number }>;
  source: { http: string; httpBytes: number; feed: { state: string; bytes: number; frames: number; taken: number; runMs: number } } | null;
  peerId: string | null;
  /** Connected neighbours' peer ids. */
  linked: string[];
  peers: number;
  framesIn: number;
  outsideFrames: number;
  outsideRefused: number;
  bytesUp: number;
  nowMs: number;
  longestStillMs: number;
  droppedMessages: number;
  /** Swarm sessions the element replaced (stats.source.rejoins). */
  rejoins: number;
  /** Neighbours this session's core banned. */
  bans: number;
}

declare global {
  interface Window {
    feedTest: {
      state(): FeedPageState;
      /** Media bytes received from a neighbour since the page started (counted before any drop). */
      mediaFrom(peerId: string): number;
      dropMedia(on: boolean): void;
      /** Drops inbound media from every neighbour but `peerId` and the broadcaster (null: none dropped). */
      onlyFrom(peerId: string | null): void;
      setFeed(on: boolean): void;
      resetStill(): void;
    };
  }
}
window.feedTest = {
  state: () => {
    const t = session?.config.transport;
    return {
      path: el.sourcePath,
      currentTime: el.currentTime,
      changes,
      source: (el.stats?.source ?? null) as FeedPageState['source'],
      peerId: session?.tracker.peerId ?? null,
      linked: t ? t.peers().filter((p) => t.peerState(p) === 'connected') : [],
      peers: session?.connectedPeers ?? 0,
      framesIn: el.stats?.framesIn ?? 0,
      outsideFrames: session?.core.stats.outsideFrames ?? 0,
      outsideRefused: session?.core.stats.outsideRefused ?? 0,
      bytesUp: session?.stats.bytesUp ?? 0,
      nowMs: performance.now(),
      longestStillMs,
      droppedMessages: dropped,
      rejoins: (el.stats?.source as { rejoins?: number } | undefined)?.rejoins ?? 0,
      bans: session?.core.stats.bans ?? 0,
    };
  },
  mediaFrom: (peerId) => mediaInByPeer.get(peerId) ?? 0,
  dropMedia: (on) => void (dropping = on),
  onlyFrom: (peerId) => void (onlyFrom = peerId),
  setFeed: (on) => void (el.fallbackFeed = on),
  resetStill: () => {
    longestStillMs = 0;
    stillSinceMs = performance.now();
  },
};
document.title = 'feed page ready';
