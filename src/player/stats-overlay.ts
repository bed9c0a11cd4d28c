// The optional statistics overlay of <p2p-player>: a few lines of numbers (peers, share from
// peers, latency, frames on time, bytes up/down, with the HTTP safety net the path playing and the
// share of media from the swarm and over HTTP) and a small graph of latency and share from peers
// over the last minute. DOM only, no player logic. Used by P2PPlayerElement.

import type { PlayerStats } from './player-config.ts';

const HISTORY = 60;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const pct = (x: number | undefined | null): string => (x === undefined || x === null ? '–' : `${(x * 100).toFixed(1)} %`);
const secs = (x: number | null): string => (x === null ? '–' : `${x.toFixed(2)} s`);

const PATH_NAME: Record<string, string> = { p2p: 'P2P', http: 'HTTP', 'native-hls': 'HTTP (native HLS)' };

/**
 * The overlay's feed line: the path that plays now, and where the media bytes came from, as shares
 * of all media bytes received: the swarm (peers and the broadcaster over WebRTC) against HTTP
 * (hls.js's fragments and the frame feed's bundles from the edge). Dashes before any byte.
 */
export function feedLine(source: NonNullable<PlayerStats['source']>): string {
  const http = source.httpBytes + (source.feed?.bytes ?? 0);
  const total = http + source.p2pBytes;
  const share = total === 0 ? 'swarm –, HTTP –' : `swarm ${pct(source.p2pBytes / total)}, HTTP ${pct(http / total)}`;
  const glass = source.glassToGlassMs == null ? '' : `, glass ${(source.glassToGlassMs / 1000).toFixed(2)} s`;
  const rejoins = source.rejoins ? `, ${source.rejoins} rejoin${source.rejoins === 1 ? '' : 's'}` : '';
  // On HTTP: how it plays (`frames`: through the P2P player's own MediaSource; `hls.js`).
  const path = source.path === 'http' && (source.via === 'frames' || source.via === 'hls.js') ? `HTTP (${source.via})` : (PATH_NAME[source.path] ?? source.path);
  return `feed        ${path} now  (media ${share} of ${formatBytes(total)}${glass}${rejoins})`;
}

/** Text lines of the overlay (exported for tests and for pages that show stats themselves). */
export function statsLines(s: PlayerStats): string[] {
  const session = s.session;
  // Latency figures describe live playback only: once the stream ends (or stops, or fails) the
  // picture shown no longer moves and "now − its capture time" would just count the seconds since.
  const live = s.status === 'playing';
  const latency = live ? s.latencyS : null;
  const glass = live ? s.glassToGlassMs : null;
  return [
    `status      ${s.status}`,
    `peers       ${session ? session.peers : '–'}`,
    `from peers  ${pct(session?.shareFromPeers)}`,
    `latency     ${secs(latency)}  (target ${s.targetLatencyS.toFixed(2)} s, glass ${glass === null ? '–' : `${(glass / 1000).toFixed(2)} s`})`,
    `on time     ${pct(session ? session.framesOnTime : s.fragmentsOnTime)}  (skipped ${s.fragmentsSkipped})`,
    `bytes       ↓ ${formatBytes(session?.bytesDown ?? 0)}  ↑ ${formatBytes(session?.bytesUp ?? 0)}`,
    `video       ${s.codecs ?? '–'}  ${s.decodedFrames} frames`,
    ...(s.rendition ? [`quality     ${s.rendition.playing}${s.rendition.switchingTo ? ` → ${s.rendition.switchingTo}` : ''}  (${s.rendition.quality === 'auto' ? 'auto' : 'fixed'}, ${s.rendition.qualities.map((q) => q.name).join(' / ')})`] : []),
    ...(s.source ? [feedLine(s.source)] : []),
  ];
}

export class StatsOverlay {
  readonly element: HTMLDivElement;
  #text: HTMLPreElement;
  #canvas: HTMLCanvasElement;
  #latency: number[] = [];
  #share: number[] = [];

  constructor() {
    this.element = document.createElement('div');
    this.element.className = 'overlay';
    this.element.setAttribute('part', 'overlay');
    this.#text = document.createElement('pre');
    this.#canvas = document.createElement('canvas');
    this.#canvas.width = 180;
    this.#canvas.height = 44;
    this.element.append(this.#text, this.#canvas);
  }

  update(s: PlayerStats): void {
    this.#text.textContent = statsLines(s).join('\n');
    this.#latency.push(s.status === 'playing' ? (s.latencyS ?? 0) : 0);
    this.#share.push(s.session?.shareFromPeers ?? 0);
    if (this.#latency.length > HISTORY) this.#latency.shift();
    if (this.#share.length > HISTORY) this.#share.shift();
    this.#draw();
  }

  #draw(): void {
    const ctx = this.#canvas.getContext('2d');
    if (!ctx) return;
    const { width: w, height: h } = this.#canvas;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = 'rgba(255,255,255,0.08)';
    ctx.fillRect(0, 0, w, h);
    const maxLatency = Math.max(2, ...this.#latency);
    const line = (values: number[], max: number, color: string) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      values.forEach((v, i) => {
        const x = (i / (HISTORY - 1)) * w;
        const y = h - 2 - (Math.min(v, max) / max) * (h - 4);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    };
    line(this.#share, 1, '#5fd38d');
    line(this.#latency, maxLatency, '#ffcc4d');
  }
}
