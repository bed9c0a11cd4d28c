// <p2p-player> with the HLS safety net and no swarm session: the query names the stream, the
// tracker and the edge's playlist. Records sourcechange events for the test.
import '../../src/player/define-p2p-player.ts';
import type { P2PPlayerElement } from '../../src/player/p2p-player-element.ts';

const q = new URLSearchParams(location.search);
const el = document.createElement('p2p-player') as P2PPlayerElement;
const changes: unknown[] = [];
el.addEventListener('sourcechange', (e) => changes.push((e as CustomEvent).detail));
el.setAttribute('tracker', q.get('tracker') ?? 'ws://127.0.0.1:9/tracker');
el.setAttribute('stream', q.get('stream') ?? '');
if (q.get('fallback-url')) el.setAttribute('fallback-url', q.get('fallback-url')!);
el.setAttribute('muted', '');
el.setAttribute('autoplay', '');
el.setAttribute('stats-overlay', '');
document.body.append(el);

declare global {
  interface Window {
    hlsTest: { state(): { path: string; currentTime: number; changes: unknown[]; source: unknown; overlay: string; decoded: number } };
  }
}
window.hlsTest = {
  state: () => ({
    path: el.sourcePath,
    currentTime: el.currentTime,
    changes,
    source: el.stats?.source ?? null,
    overlay: el.shadowRoot?.querySelector('.overlay pre')?.textContent ?? '',
    decoded: el.video.getVideoPlaybackQuality().totalVideoFrames,
  }),
};
document.title = 'hls page ready';
