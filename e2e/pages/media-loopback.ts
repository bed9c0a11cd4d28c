// Test page: the real broadcaster pipeline (fake camera → WebCodecs → mediabunny → frames) handed
// in-page to real players (frames → fragments → MSE). Tests drive it through window.loopback.
import { MediaBroadcaster } from '../../src/broadcaster/media-broadcaster.ts';
import { openCapture } from '../../src/broadcaster/media-devices.ts';
import { MediaPlayer } from '../../src/player/media-player.ts';
import { FRAME_INIT, readRecords, type MediaFrame } from '../../src/media/frame-format.ts';
import { FragmentAssembler } from '../../src/media/fragment-assembler.ts';
import { parseInitSegment } from '../../src/media/init-segment.ts';
import { AppendQueue } from '../../src/player/append-queue.ts';

interface TestPlayer {
  player: MediaPlayer;
  video: HTMLVideoElement;
  appended: number[];
  skipped: Array<{ index: number; reason: string }>;
}

const frames: MediaFrame[] = [];
const players: TestPlayer[] = [];
let broadcaster: MediaBroadcaster | null = null;
/** Media frames with seq in [from, to] are not delivered to players (a lost range). */
let drop: { from: number; to: number } | null = null;
const dropped: number[] = [];

function addPlayer(): number {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.getElementById('players')!.append(video);
  const player = new MediaPlayer({ targetLatencyS: 0.8 });
  const t: TestPlayer = { player, video, appended: [], skipped: [] };
  player.on('fragment', (f) => t.appended.push(f.index));
  player.on('skip', (s) => t.skipped.push(s));
  player.on('error', (e) => console.error('player error', e.code, e.message));
  player.attachMedia(video);
  players.push(t);
  return players.length - 1;
}

/** When set, each frame reaches the players after a random delay up to this many ms, and twice. */
let jitterMs = 0;

function deliver(f: MediaFrame, to: TestPlayer[]): void {
  const isMedia = (f.flags & FRAME_INIT) === 0;
  if (isMedia && drop && f.seq >= drop.from && f.seq <= drop.to) {
    if (!dropped.includes(f.seq)) dropped.push(f.seq);
    return;
  }
  if (jitterMs > 0) {
    for (let copy = 0; copy < 2; copy++) setTimeout(() => to.forEach((p) => p.player.pushFrame(f)), Math.random() * jitterMs);
    return;
  }
  for (const p of to) p.player.pushFrame(f);
}

let capture: MediaStream | null = null;

const api = {
  async start(options: { width?: number; height?: number; codecs?: string[] } = {}) {
    const width = options.width ?? 320;
    const height = options.height ?? 240;
    const stream = (capture ??= await openCapture({ width, height, frameRate: 30 }));
    broadcaster = new MediaBroadcaster({
      video: { width, height, frameRate: 30, bitrateBps: 600_000, keyFrameIntervalS: 0.5, codecs: (options.codecs ?? ['avc', 'vp9', 'av1', 'vp8']) as never },
      audio: { bitrateBps: 32_000 },
    });
    broadcaster.on('frame', (f) => {
      frames.push(f);
      deliver(f, players);
    });
    broadcaster.on('error', (e) => console.error('broadcaster error', e.code, e.message));
    await broadcaster.start(stream);
    return { codec: broadcaster.stats.videoCodec, mimeType: broadcaster.stats.mimeType };
  },
  addPlayer,
  /** Hands player `i` an init segment it cannot use (as a buggy broadcaster might). */
  pushBadInit(i: number) {
    const bytes = new Uint8Array([0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 0, 0]);
    players[i].player.pushFrame({ seq: 1e9, bytes, flags: FRAME_INIT, captureTimeMs: Date.now() });
  },
  setJitter(ms: number) {
    jitterMs = ms;
  },
  /** A player that joins late and first gets every frame sent so far, then the live ones. */
  addLatePlayerWithBacklog(): number {
    const i = addPlayer();
    for (const f of frames) deliver(f, [players[i]]);
    return i;
  },
  dropNext(count: number): { from: number; to: number } {
    const from = (frames.at(-1)?.seq ?? 0) + 1;
    drop = { from, to: from + count - 1 };
    return drop;
  },
  /** Fragment indices touched by the frames that were dropped. */
  droppedFragments(): number[] {
    const out = new Set<number>();
    for (const seq of dropped) {
      const f = frames.find((x) => x.seq === seq);
      if (f) for (const r of readRecords(f.bytes)) out.add(r.fragmentIndex);
    }
    return [...out].sort((a, b) => a - b);
  },
  /** Newest fragment index whose last byte has been framed. */
  newestCompleteFragment(): number {
    let best = -1;
    for (const f of frames) {
      if (f.flags & FRAME_INIT) continue;
      for (const r of readRecords(f.bytes)) if (r.offset + r.payload.length === r.fragmentLength) best = Math.max(best, r.fragmentIndex);
    }
    return best;
  },
  summary() {
    return {
      broadcaster: broadcaster?.stats ?? null,
      frames: frames.length,
      initFrames: frames.filter((f) => f.flags & FRAME_INIT).length,
      maxFrameBytes: Math.max(0, ...frames.map((f) => f.bytes.length)),
      players: players.map((p) => ({
        currentTime: p.video.currentTime,
        paused: p.video.paused,
        decoded: p.video.getVideoPlaybackQuality().totalVideoFrames,
        appended: p.appended.slice(),
        skipped: p.skipped.slice(),
        stats: p.player.stats,
        error: p.video.error?.message ?? null,
      })),
    };
  },
  /**
   * The append queue against a real SourceBuffer: every fragment framed so far is queued at once,
   * without waiting, then a remove; all must succeed in order and leave one contiguous range.
   */
  async appendQueueCheck() {
    const firstInit = frames.find((f) => f.flags & FRAME_INIT)!;
    // Feed an assembler frame by frame so that it starts at fragment 0 and releases every fragment.
    const all = new FragmentAssembler();
    all.pushFrame(firstInit, 0);
    const ordered: Uint8Array[] = [];
    for (const f of frames) {
      if (f.flags & FRAME_INIT) continue;
      all.pushFrame(f, 0);
      for (const o of all.poll(0, 0)) if (o.kind === 'fragment') ordered.push(o.fragment.bytes);
    }
    const video = document.createElement('video');
    const ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
    const info = parseInitSegment(firstInit.bytes);
    const sb = ms.addSourceBuffer(info.mimeType);
    const queue = new AppendQueue(sb);
    const order: number[] = [];
    const ops = [queue.append(firstInit.bytes).then(() => order.push(-1))];
    ordered.forEach((bytes, i) => ops.push(queue.append(bytes).then(() => order.push(i))));
    const maxLength = queue.length;
    await Promise.all(ops);
    const before = [sb.buffered.start(0), sb.buffered.end(sb.buffered.length - 1), sb.buffered.length];
    await queue.remove(0, before[0] + 0.5);
    const after = sb.buffered.length ? sb.buffered.start(0) : null;
    queue.destroy();
    return { appended: ordered.length, order, maxLength, before, after };
  },
  /** The broadcaster page reloads: the old pipeline vanishes without an end frame, a new one starts. */
  async restart() {
    broadcaster?.destroy();
    broadcaster = null;
    return api.start();
  },
  async stop() {
    await broadcaster?.stop();
  },
};

declare global {
  interface Window {
    loopback: typeof api;
  }
}
window.loopback = api;
document.title = 'media loopback ready';
