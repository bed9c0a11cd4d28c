// What a session tells the tracker about its upload: the figure its upload meter measured on its
// own sends (`measuredUploadBps`), not a fixed claim. A real tracker on port 0, real tracker
// clients over `ws` (their sent messages recorded on the wire), MemoryTransport links with a
// bandwidth bound, virtual time.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { FRAME_FRAGMENT_END, FRAME_FRAGMENT_START, FRAME_INIT, type MediaFrame } from '../media/frame-format.ts';
import { startTracker } from '../tracker/server.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { BroadcastSession } from './broadcast-session.ts';
import { ViewerSession } from './viewer-session.ts';
import { resolveSessionConfig } from './session-config.ts';
import { expectCode } from '../expect-code.ts';
import { useVirtualTime, type VirtualTime } from './session-test-kit.ts';

const cleanups: Array<() => unknown> = [];
let vt: VirtualTime;
beforeEach(() => {
  vt = useVirtualTime();
});
afterEach(async () => {
  vt.restore();
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** Every JSON message each socket sent, by socket. */
const sockets: Array<Array<Record<string, unknown>>> = [];
class RecordingWebSocket extends WebSocket {
  readonly sentMessages: Array<Record<string, unknown>> = [];
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    sockets.push(this.sentMessages);
  }
  override send(data: unknown, ...rest: unknown[]): void {
    if (typeof data === 'string') this.sentMessages.push(JSON.parse(data) as Record<string, unknown>);
    (super.send as (...a: unknown[]) => void)(data, ...rest);
  }
}
const WS = RecordingWebSocket as unknown as WebSocketConstructor;

function frameOf(i: number, flags: number, length = 6000 + ((i * 7919) % 12000)): MediaFrame {
  const bytes = new Uint8Array(length);
  for (let j = 0; j < length; j++) bytes[j] = (i * 31 + j * 17) & 255;
  return { seq: i, bytes, flags, captureTimeMs: Date.now() };
}

describe('session upload measurement', () => {
  it('sends the tracker the upload it measured on its links, and no claimed figure', async () => {
    sockets.length = 0;
    const codec = await createCodec();
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50, room: { heartbeatMs: 1000 } });
    cleanups.push(() => tracker.close());
    const url = `ws://127.0.0.1:${tracker.port}`;
    // 60 kB/s per channel and link: three viewers' uplinks back up, so what they deliver is bounded.
    const bandwidthBytesPerSec = 60_000;
    const net = new MemoryNetwork({ seed: 5, latencyMs: 2, bandwidthBytesPerSec });
    const key = await generateStreamKey();
    const common = { trackerUrl: url, WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
    const viewers = Array.from({ length: 3 }, () => {
      const v = new ViewerSession({ ...common, streamId: key.streamId, transport: net.createTransport() });
      cleanups.push(() => v.destroy());
      return v;
    });
    const b = new BroadcastSession({ ...common, key, transport: net.createTransport(), bitrateBps: 1_000_000 });
    cleanups.push(() => b.destroy());
    await vt.until(() => b.stats.connected === 3 && viewers.every((v) => v.stats.peers >= 3), 'links up');
    b.publishFrame(frameOf(0, FRAME_INIT, 700));
    let i = 1;
    const pump = setInterval(() => b.publishFrame(frameOf(i++, FRAME_FRAGMENT_START | FRAME_FRAGMENT_END)), 100);
    cleanups.push(() => clearInterval(pump));
    await vt.until(() => viewers.every((v) => v.stats.measuredUploadBps !== null), 'every viewer measured its upload');
    await vt.advance(1500);

    const viewerSockets = sockets.filter((s) => s[0]?.type === 'join');
    expect(viewerSockets).toHaveLength(3);
    const heartbeats = viewerSockets.flatMap((s) => s.filter((m) => m.type === 'heartbeat'));
    expect(heartbeats.length).toBeGreaterThan(0);
    // No claim is made: neither at join nor with heartbeats.
    for (const s of viewerSockets) for (const m of s) expect(m.uploadBps).toBeUndefined();
    const measured = heartbeats.map((m) => m.measuredUploadBps).filter((x): x is number => typeof x === 'number');
    expect(measured.length).toBeGreaterThan(0);
    // What the links could carry: two channels to each of its three neighbours.
    const ceiling = 3 * 2 * bandwidthBytesPerSec * 8;
    for (const bps of measured) {
      expect(bps).toBeGreaterThan(0);
      expect(bps).toBeLessThanOrEqual(ceiling * 1.05);
    }
    for (const v of viewers) {
      expect(v.stats.bytesUp).toBeGreaterThan(0);
      expect(v.stats.measuredUploadBps).toBeLessThanOrEqual(ceiling * 1.05);
    }
    // The broadcaster measures and reports its own the same way.
    const bSocket = sockets.find((s) => s[0]?.type === 'publish')!;
    expect(bSocket.filter((m) => m.type === 'heartbeat').some((m) => typeof m.measuredUploadBps === 'number')).toBe(true);
    expect(b.stats.measuredUploadBps).toBeGreaterThan(0);
  }, 180_000);

  it('rejects a bad upload cap or report period', () => {
    const transport = new MemoryNetwork().createTransport();
    expectCode(() => resolveSessionConfig({ trackerUrl: 'ws://x', transport, uploadBps: -1 }), 'BAD_CONFIG');
    expectCode(() => resolveSessionConfig({ trackerUrl: 'ws://x', transport, uploadReportMs: 10 }), 'BAD_CONFIG');
    expect(resolveSessionConfig({ trackerUrl: 'ws://x', transport }).uploadBps).toBeUndefined();
    transport.destroy();
  });
});
