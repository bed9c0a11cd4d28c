// A lower rendition's swarm end to end in Node: a real tracker, real tracker clients over `ws`, real
// protocol cores and WebCrypto, MemoryTransport links in place of WebRTC. The rendition's broadcaster
// publishes its derived swarm id with the stream key; a viewer of that swarm verifies frames with
// the key the watch link's stream id names, and learns the signed rendition list.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey, signBytes } from '../crypto/stream-key.ts';
import { FRAME_FRAGMENT_END, FRAME_FRAGMENT_START, FRAME_INIT, FRAME_KEY, type MediaFrame } from '../media/frame-format.ts';
import { encodeRenditionBody, encodeRenditionMessage, renditionSignedBytes, renditionSwarmId, type RenditionInfo } from '../media/renditions.ts';
import { startTracker } from '../tracker/server.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { BroadcastSession } from './broadcast-session.ts';
import { ViewerSession } from './viewer-session.ts';
import { useVirtualTime, type VirtualTime } from './session-test-kit.ts';

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

const LIST: RenditionInfo[] = [
  { name: '240p', height: 240, bitrateBps: 800_000 },
  { name: '120p', height: 120, bitrateBps: 200_000 },
];

function frameOf(i: number, flags: number, length = 9000 + ((i * 7919) % 20000)): MediaFrame {
  const bytes = new Uint8Array(length);
  for (let j = 0; j < length; j++) bytes[j] = (i * 13 + j * 29 + (j >> 8)) & 255;
  return { seq: i, bytes, flags, captureTimeMs: Date.now() };
}

describe('a rendition swarm', () => {
  it('publishes under the stream key, delivers verified frames and the signed list to its viewers', async () => {
    const codec = await createCodec();
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => tracker.close());
    const net = new MemoryNetwork({ seed: 5, latencyMs: 2, jitterMs: 2, mediaLossRate: 0.02 });
    const key = await generateStreamKey();
    const common = { trackerUrl: `ws://127.0.0.1:${tracker.port}`, WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
    const swarmId = await renditionSwarmId(key.streamId, '120p');
    const b = new BroadcastSession({ ...common, key, transport: net.createTransport(), bitrateBps: 200_000, rendition: { name: '120p', swarmId } });
    cleanups.push(() => b.destroy());
    const body = encodeRenditionBody(b.broadcastId, LIST);
    b.setRenditionMessage(encodeRenditionMessage(body, await signBytes(key, renditionSignedBytes(key.streamId, body))));
    const viewer = new ViewerSession({ ...common, streamId: swarmId, keyStreamId: key.streamId, transport: net.createTransport() });
    cleanups.push(() => viewer.destroy());
    const frames: MediaFrame[] = [];
    const lists: RenditionInfo[][] = [];
    viewer.on('frame', (f) => frames.push(f));
    viewer.on('renditions', (l) => lists.push(l));
    // A viewer of the same swarm that believes the key is another stream's refuses it: no frame plays.
    const other = await generateStreamKey();
    const stranger = new ViewerSession({ ...common, streamId: swarmId, keyStreamId: other.streamId, transport: net.createTransport() });
    cleanups.push(() => stranger.destroy());
    const strangerFrames: MediaFrame[] = [];
    stranger.on('frame', (f) => strangerFrames.push(f));

    await vt.until(() => viewer.stats.streamState === 'live' && b.stats.connected >= 2, 'rendition swarm live and linked');
    b.publishFrame(frameOf(0, FRAME_INIT));
    for (let i = 1; i <= 6; i++) {
      b.publishFrame(frameOf(i, FRAME_KEY | FRAME_FRAGMENT_START | FRAME_FRAGMENT_END));
      await vt.advance(150);
    }
    await vt.until(() => frames.length >= 7, 'frames delivered in the rendition swarm');
    expect(frames.map((f) => f.seq).sort((x, y) => x - y).slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => frames.map((f) => f.seq).sort((x, y) => x - y)[0] + i));
    await vt.until(() => lists.length === 1, 'rendition list verified');
    expect(lists[0]).toEqual(LIST);
    expect(viewer.renditions).toEqual(LIST);
    expect(viewer.renditionMessage).not.toBeNull();
    expect(strangerFrames).toEqual([]);
    expect(stranger.renditions).toBeNull();
  });

  it('a publish of the derived swarm without its rendition name is refused by the tracker', async () => {
    const codec = await createCodec();
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => tracker.close());
    const net = new MemoryNetwork({ seed: 6 });
    const key = await generateStreamKey();
    const swarmId = await renditionSwarmId(key.streamId, '120p');
    const b = new BroadcastSession({ trackerUrl: `ws://127.0.0.1:${tracker.port}`, WebSocket: WS, codec, key, transport: net.createTransport(), rendition: { name: '240p', swarmId }, reconnectMinMs: 100, reconnectMaxMs: 400 });
    cleanups.push(() => b.destroy());
    const errors: string[] = [];
    b.on('error', (e) => errors.push(e.code));
    await vt.until(() => errors.length > 0 || b.tracker.state === 'live', 'tracker answered', 10_000);
    expect(errors).toContain('AUTH_FAILED');
    expect(b.tracker.state).not.toBe('live');
  });
});
