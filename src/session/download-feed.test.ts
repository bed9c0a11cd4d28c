// The download meter's feed: a viewer session reports each media packet (its frame's seq, its size,
// its arrival) before the core reads it, and the rendition switcher's meter, fed with those and the
// delivered frames, gives a rate. Real tracker, sessions, cores and WebCrypto; MemoryTransport links.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { FRAME_FRAGMENT_END, FRAME_FRAGMENT_START, FRAME_INIT, FRAME_KEY, type MediaFrame } from '../media/frame-format.ts';
import { DownloadMeter } from '../player/download-meter.ts';
import { encodeMessage, peekMediaSeq } from '../protocol/wire.ts';
import { startTracker } from '../tracker/server.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { BroadcastSession } from './broadcast-session.ts';
import { useVirtualTime, type VirtualTime } from './session-test-kit.ts';
import { ViewerSession } from './viewer-session.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
let vt: VirtualTime;
beforeEach(() => {
  vt = useVirtualTime();
});
afterEach(async () => {
  vt.restore();
  for (const f of cleanups.splice(0).reverse()) await f();
});

function frameOf(i: number, flags: number, length = 9000 + ((i * 7919) % 20000)): MediaFrame {
  const bytes = new Uint8Array(length);
  for (let j = 0; j < length; j++) bytes[j] = (i * 31 + j * 17 + (j >> 7)) & 255;
  return { seq: i, bytes, flags, captureTimeMs: Date.now() };
}

describe('peekMediaSeq (wire.ts)', () => {
  it('reads the frame seq of the three media messages and nothing of any other', () => {
    const seq = 0xfedc_ba98;
    expect(peekMediaSeq(encodeMessage({ type: 'feed', seq, x: 3, payload: new Uint8Array(128) }))).toBe(seq);
    expect(peekMediaSeq(encodeMessage({ type: 'seed', seq: 7, c: 1, g: 2, payload: new Uint8Array(256) }))).toBe(7);
    expect(peekMediaSeq(encodeMessage({ type: 'cs-chunk', seq: 1 << 31, c: 0, chunk: 0, chunks: 1, payload: new Uint8Array(1024) }))).toBe(2 ** 31);
    expect(peekMediaSeq(encodeMessage({ type: 'manifest-request', seq: 9 }))).toBeNull();
    expect(peekMediaSeq(encodeMessage({ type: 'hello', initSeq: 4, roles: 1 }))).toBeNull();
    const feed = encodeMessage({ type: 'feed', seq: 5, x: 0, payload: new Uint8Array(128) });
    expect(peekMediaSeq(feed.subarray(0, 5))).toBeNull(); // too short for a seq
    expect(peekMediaSeq(Uint8Array.of(2, ...feed.subarray(1)))).toBeNull(); // another wire version
  });
});

describe('a viewer session feeding the download meter', () => {
  it('reports the packets of every delivered frame before it delivers it, and the meter gives a rate', async () => {
    const codec = await createCodec();
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => tracker.close());
    const net = new MemoryNetwork({ seed: 11, latencyMs: 2, jitterMs: 2 });
    const key = await generateStreamKey();
    const common = { trackerUrl: `ws://127.0.0.1:${tracker.port}`, WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
    const b = new BroadcastSession({ ...common, key, transport: net.createTransport(), bitrateBps: 400_000 });
    cleanups.push(() => b.destroy());
    const meter = new DownloadMeter({ minBytes: 1 });
    const packets: Array<{ seq: number; bytes: number; atMs: number }> = [];
    const viewer = new ViewerSession({
      ...common, streamId: key.streamId, transport: net.createTransport(),
      onMediaPacket: (seq, bytes, atMs) => {
        packets.push({ seq, bytes, atMs });
        meter.packet(seq, bytes, atMs);
      },
    });
    cleanups.push(() => viewer.destroy());
      const delivered: Array<{ seq: number; init: boolean; packetsBefore: number }> = [];
    viewer.on('frame', (f) => {
      delivered.push({ seq: f.seq, init: (f.flags & FRAME_INIT) !== 0, packetsBefore: packets.filter((p) => p.seq === f.seq).length });
      meter.frameDone(f.seq, performance.now());
    });
    await vt.until(() => viewer.stats.streamState === 'live' && b.stats.connected >= 1, 'swarm live and linked');
    b.publishFrame(frameOf(0, FRAME_INIT));
    for (let i = 1; i <= 8; i++) {
      b.publishFrame(frameOf(i, FRAME_KEY | FRAME_FRAGMENT_START | FRAME_FRAGMENT_END));
      await vt.advance(200);
    }
    await vt.until(() => delivered.filter((d) => !d.init).length >= 8, 'media frames delivered');
    // Every media frame came in pieces on the media channel, each reported before the frame went out.
    const media = delivered.filter((d) => !d.init);
    for (const d of media) expect(d.packetsBefore).toBeGreaterThan(1);
    const counted = packets.filter((p) => media.some((d) => d.seq === p.seq));
    expect(counted.reduce((n, p) => n + p.bytes, 0)).toBeGreaterThanOrEqual(media.length * 9000);
    expect(packets.every((p) => p.bytes > 0 && p.bytes <= 1163)).toBe(true);
    // The meter has a figure from these arrivals.
    expect(meter.rateBps(performance.now())).toBeGreaterThan(0);
  });
});
