// The broadcaster session's stats report the spare keys its core sends per direct-feed frame: the
// configured floor on a clean network, more once the direct viewers' links lose media (the core
// fits them to the loss they report). Real tracker on port 0, real cores, codec and WebCrypto,
// MemoryTransport links with set media loss, virtual time (session-test-kit.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { FRAME_FRAGMENT_END, FRAME_FRAGMENT_START, FRAME_KEY } from '../media/frame-format.ts';
import type { FrameCodec } from '../protocol/core-types.ts';
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

let codec: FrameCodec;

/** Four viewers and a broadcaster over links that lose `mediaLossRate` of media messages; 40 frames of 8 KiB at 100 ms; the broadcaster's spare-key stats before and after. */
async function run(mediaLossRate: number): Promise<{ before: number; after: number; floor: number; mode: string }> {
  codec ??= await createCodec();
  const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
  cleanups.push(() => tracker.close());
  const net = new MemoryNetwork({ seed: 7, latencyMs: 2, jitterMs: 2, mediaLossRate });
  const key = await generateStreamKey();
  const common = { trackerUrl: `ws://127.0.0.1:${tracker.port}`, WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
  const viewers = Array.from({ length: 4 }, () => {
    const v = new ViewerSession({ ...common, streamId: key.streamId, transport: net.createTransport() });
    cleanups.push(() => v.destroy());
    return v;
  });
  const b = new BroadcastSession({ ...common, key, transport: net.createTransport(), bitrateBps: 600_000 });
  cleanups.push(() => b.destroy());
  await vt.until(() => b.stats.connected === 4 && viewers.every((v) => v.stats.peers >= 4), 'links up');
  const before = b.stats.directSpareKeys;
  for (let i = 0; i < 40; i++) {
    const bytes = new Uint8Array(8192);
    for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 31 + j * 17) & 255;
    b.publishFrame({ seq: i, bytes, flags: FRAME_KEY | FRAME_FRAGMENT_START | FRAME_FRAGMENT_END, captureTimeMs: Date.now() });
    await vt.advance(100);
  }
  await vt.advance(1500);
  return { before, after: b.stats.directSpareKeys, floor: b.core.cfg.directSpareKeys, mode: b.stats.mode };
}

describe('BroadcastSession stats: spare keys', () => {
  it('report the floor on a clean network', async () => {
    const r = await run(0);
    expect(r.mode).toBe('direct');
    expect(r.before).toBe(r.floor);
    expect(r.after).toBe(r.floor);
  });

  it('report more spare keys once the viewers lose a tenth of the media, as the core sends', async () => {
    const r = await run(0.1);
    expect(r.mode).toBe('direct');
    expect(r.before).toBe(r.floor);
    expect(r.after).toBeGreaterThan(r.floor);
  });
});
