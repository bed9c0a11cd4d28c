// Sessions end to end in Node: a real tracker on port 0, real tracker clients over `ws`, the real
// protocol cores, codec and WebCrypto, and MemoryTransport links in place of WebRTC.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { fromBase64url, generateStreamKey, type StreamKeyPair } from '../crypto/stream-key.ts';
import { FRAME_END_OF_STREAM, FRAME_FRAGMENT_END, FRAME_FRAGMENT_START, FRAME_INIT, FRAME_KEY, type MediaFrame } from '../media/frame-format.ts';
import type { FrameCodec } from '../protocol/core-types.ts';
import { startTracker, type TrackerOptions } from '../tracker/server.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork, type MemoryTransport } from '../transport/memory-transport.ts';
import { BroadcastSession } from './broadcast-session.ts';
import { acceptStreamKey, encodeStreamKey } from './stream-key-exchange.ts';
import { ViewerSession, type ViewerStatus } from './viewer-session.ts';
import { expectCode } from '../expect-code.ts';
import { useVirtualTime, type VirtualTime } from './session-test-kit.ts';

const WS = WebSocket as unknown as WebSocketConstructor;
const cleanups: Array<() => unknown> = [];
// Every test runs on virtual time (session-test-kit.ts): waits and limits below are virtual
// milliseconds, so a loaded machine slows a test down but cannot make a frame miss its deadline.
let vt: VirtualTime;
beforeEach(() => {
  vt = useVirtualTime();
});
afterEach(async () => {
  vt.restore();
  for (const f of cleanups.splice(0).reverse()) await f();
});

const sleep = (ms: number) => vt.advance(ms);
const until = (check: () => boolean, what: string, maxMs = 20_000) => vt.until(check, what, maxMs);

let codec: FrameCodec;
async function setup(opts: { viewers: number; port?: number; room?: TrackerOptions['room'] }) {
  codec ??= await createCodec();
  const tracker = await startTracker({ port: opts.port ?? 0, host: '127.0.0.1', tickMs: 50, room: opts.room });
  const t = { tracker, port: tracker.port };
  cleanups.push(() => t.tracker.close());
  const url = `ws://127.0.0.1:${tracker.port}`;
  const net = new MemoryNetwork({ seed: 3, latencyMs: 2, jitterMs: 2, mediaLossRate: 0.02 });
  const key = await generateStreamKey();
  const common = { trackerUrl: url, WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
  const viewers: Array<{ session: ViewerSession; frames: MediaFrame[]; statuses: ViewerStatus[]; transport: MemoryTransport }> = [];
  const addViewer = () => {
    const transport = net.createTransport();
    const session = new ViewerSession({ ...common, streamId: key.streamId, transport });
    const v = { session, frames: [] as MediaFrame[], statuses: [] as ViewerStatus[], transport };
    session.on('frame', (f) => v.frames.push(f));
    session.on('status', (s) => v.statuses.push(s));
    cleanups.push(() => session.destroy());
    viewers.push(v);
    return v;
  };
  for (let i = 0; i < opts.viewers; i++) addViewer();
  const startBroadcaster = (k: StreamKeyPair = key) => {
    const b = new BroadcastSession({ ...common, key: k, transport: net.createTransport(), bitrateBps: 1_000_000 });
    cleanups.push(() => b.destroy());
    return b;
  };
  return { t, url, key, viewers, addViewer, startBroadcaster };
}

/** A synthetic media frame: distinct bytes per seq so a wrong decode cannot pass. */
function frameOf(i: number, flags: number, length = 9000 + ((i * 7919) % 30000)): MediaFrame {
  const bytes = new Uint8Array(length);
  for (let j = 0; j < length; j++) bytes[j] = (i * 31 + j * 17 + (j >> 8)) & 255;
  return { seq: i, bytes, flags, captureTimeMs: Date.now() };
}

const connected = (v: { session: ViewerSession }) => v.session.stats.peers;

describe('ViewerSession and BroadcastSession', () => {
  it('deliver every frame, verified, to every viewer; viewers feed each other; upload stays near one copy', async () => {
    const s = await setup({ viewers: 4 });
    // Viewers that come before the broadcaster wait for it.
    await until(() => s.viewers.every((v) => v.session.stats.streamState === 'waiting'), 'viewers joined');
    expect(s.viewers.every((v) => v.session.status === 'waiting-for-broadcaster')).toBe(true);
    const b = s.startBroadcaster();
    await until(() => b.stats.connected === 4 && s.viewers.every((v) => connected(v) >= 4), 'links up');
    await until(() => s.viewers.every((v) => v.session.status === 'playing'), 'status playing');

    const sent: MediaFrame[] = [frameOf(0, FRAME_INIT, 700)];
    b.publishFrame(sent[0]);
    for (let i = 1; i <= 24; i++) {
      await sleep(60);
      const f = frameOf(i, FRAME_KEY | FRAME_FRAGMENT_START | FRAME_FRAGMENT_END);
      sent.push(f);
      b.publishFrame(f);
    }
    await until(() => s.viewers.every((v) => v.frames.length >= sent.length), 'every frame everywhere');
    for (const v of s.viewers) {
      const bySize = new Map(v.frames.map((f) => [f.bytes.length + ':' + f.bytes[5] + ':' + f.bytes[4000], f]));
      for (const f of sent) {
        const got = bySize.get(f.bytes.length + ':' + f.bytes[5] + ':' + f.bytes[4000]);
        expect(got, `frame ${f.seq}`).toBeDefined();
        expect(Buffer.from(got!.bytes).equals(Buffer.from(f.bytes))).toBe(true);
        expect(got!.flags).toBe(f.flags);
      }
      expect(new Set(v.frames.map((f) => f.seq)).size).toBe(v.frames.length);
      expect(v.session.publicKey).toEqual(s.key.publicKeyBytes);
      const st = v.session.stats;
      expect(st.shareFromPeers).toBeGreaterThan(0.3);
      expect(st.framesMissed).toBe(0);
    }
    // Sequence numbers come from the session (wall clock based) and are consecutive.
    const seqs = s.viewers[0].frames.map((f) => f.seq).sort((x, y) => x - y);
    expect(seqs[seqs.length - 1] - seqs[0]).toBe(sent.length - 1);
    const bs = b.stats;
    expect(bs.streamBytes).toBe(sent.reduce((n, f) => n + f.bytes.length, 0));
    expect(bs.uploadRatio).toBeGreaterThan(0.9);
    expect(bs.uploadRatio).toBeLessThan(1.6);
    expect(bs.viewers).toBe(4);
    // Repairs were asked for on the requests channel (2 % media loss), and nothing else came there.
    expect(s.viewers.reduce((n, v) => n + v.transport.transportStats().requestsMessagesOut, 0)).toBeGreaterThan(0);

    // The end of the stream reaches everyone, and the tracker says so.
    b.publishFrame(frameOf(99, FRAME_END_OF_STREAM, 4));
    let ended = false;
    void b.end(300).then(() => (ended = true));
    await until(() => ended, 'broadcaster ended');
    await until(() => s.viewers.every((v) => v.frames.some((f) => f.flags & FRAME_END_OF_STREAM)), 'end frame');
    await until(() => s.viewers.every((v) => v.session.status === 'ended'), 'status ended');
  });

  it('a late viewer gets the init segment and the new frames; one leaving does not stop the others', async () => {
    const s = await setup({ viewers: 3 });
    const b = s.startBroadcaster();
    await until(() => s.viewers.every((v) => connected(v) >= 3), 'links up');
    b.publishFrame(frameOf(0, FRAME_INIT, 900));
    let i = 1;
    const pump = setInterval(() => b.publishFrame(frameOf(i++, FRAME_FRAGMENT_START | FRAME_FRAGMENT_END)), 60);
    cleanups.push(() => clearInterval(pump));
    await until(() => s.viewers.every((v) => v.frames.length >= 5), 'first frames');
    const late = s.addViewer();
    await until(() => late.frames.some((f) => f.flags & FRAME_INIT), 'late viewer has the init segment');
    const before = late.frames.length;
    await until(() => late.frames.length >= before + 5, 'late viewer gets new frames');
    s.viewers[0].session.destroy();
    const counts = s.viewers.slice(1).map((v) => v.frames.length);
    await until(() => s.viewers.slice(1).every((v, k) => v.frames.length >= counts[k] + 8), 'the rest keep receiving');
  });

  it('keeps delivering while the tracker restarts, and everyone rejoins it', async () => {
    const s = await setup({ viewers: 3 });
    const b = s.startBroadcaster();
    await until(() => s.viewers.every((v) => connected(v) >= 3), 'links up');
    b.publishFrame(frameOf(0, FRAME_INIT, 900));
    let i = 1;
    const pump = setInterval(() => b.publishFrame(frameOf(i++, FRAME_FRAGMENT_START | FRAME_FRAGMENT_END)), 60);
    cleanups.push(() => clearInterval(pump));
    await until(() => s.viewers.every((v) => v.frames.length >= 3), 'first frames');
    await s.t.tracker.close();
    await until(() => s.viewers.every((v) => !v.session.stats.trackerConnected), 'tracker gone');
    const counts = s.viewers.map((v) => v.frames.length);
    await until(() => s.viewers.every((v, k) => v.frames.length >= counts[k] + 8), 'frames flow without the tracker');
    s.t.tracker = await startTracker({ port: s.t.port, host: '127.0.0.1', tickMs: 50 });
    await until(() => b.stats.trackerConnected && s.viewers.every((v) => v.session.stats.trackerConnected && v.session.stats.streamState === 'live'), 'rejoined');
    const again = s.viewers.map((v) => v.frames.length);
    await until(() => s.viewers.every((v, k) => v.frames.length >= again[k] + 5), 'frames after the restart');
    expect(s.viewers.every((v) => v.session.status === 'playing')).toBe(true);
  });

  it('each go-live has its own broadcast id: manifests carry it, viewers take it from the tracker and follow a new one', async () => {
    const s = await setup({ viewers: 2 });
    // The tracker names the broadcast the viewer core accepts (PeerCore keeps it private).
    const viewerId = (v: { session: ViewerSession }) => (v.session.core as unknown as { broadcastId?: Uint8Array }).broadcastId;
    const b1 = s.startBroadcaster();
    expect(b1.core.broadcastId).toEqual(fromBase64url(b1.tracker.broadcastId as string));
    expect(b1.core.broadcastId.some((x) => x !== 0)).toBe(true);
    await until(() => s.viewers.every((v) => connected(v) >= 2), 'links up');
    await until(() => s.viewers.every((v) => viewerId(v) !== undefined), 'viewers know the broadcast');
    for (const v of s.viewers) expect(viewerId(v)).toEqual(b1.core.broadcastId);
    b1.publishFrame(frameOf(0, FRAME_INIT, 900));
    for (let i = 1; i <= 4; i++) b1.publishFrame(frameOf(i, FRAME_FRAGMENT_START | FRAME_FRAGMENT_END));
    await until(() => s.viewers.every((v) => v.frames.length >= 5), 'frames of the first broadcast');
    b1.destroy();

    // The same key goes live again (a page reload): a new id, followed by every viewer.
    const b2 = s.startBroadcaster();
    expect(b2.core.broadcastId).not.toEqual(b1.core.broadcastId);
    await until(() => s.viewers.every((v) => viewerId(v) !== undefined && fromBase64url(b2.tracker.broadcastId as string).every((x, k) => viewerId(v)![k] === x)), 'viewers take the new id');
    const before = s.viewers.map((v) => v.frames.length);
    await until(() => s.viewers.every((v) => connected(v) >= 2), 'links to the new broadcaster');
    b2.publishFrame(frameOf(0, FRAME_INIT, 901));
    let i = 1;
    const pump = setInterval(() => b2.publishFrame(frameOf(100 + i++, FRAME_FRAGMENT_START | FRAME_FRAGMENT_END)), 60);
    cleanups.push(() => clearInterval(pump));
    await until(() => s.viewers.every((v, k) => v.frames.length >= before[k] + 5), 'frames of the second broadcast');
  });

  it('in holder mode, holders and producers carry the stream; a holder leaving does not stop the rest', async () => {
    const s = await setup({ viewers: 6, room: { holderModeAtViewers: 3, directModeAtViewers: 2 } });
    const b = s.startBroadcaster();
    await until(() => b.stats.mode === 'holder' && b.stats.holders > 0 && b.stats.producers > 0, 'holder mode with roles');
    await until(() => s.viewers.every((v) => connected(v) >= 3), 'links up');
    b.publishFrame(frameOf(0, FRAME_INIT, 900));
    let i = 1;
    const pump = setInterval(() => b.publishFrame(frameOf(i++, FRAME_FRAGMENT_START | FRAME_FRAGMENT_END)), 60);
    cleanups.push(() => clearInterval(pump));
    await until(() => s.viewers.every((v) => v.frames.length >= 15), 'frames through holders and producers');
    const holder = s.viewers.find((v) => v.session.core.holder && (v.session.tracker.holderKeys.length > 0));
    expect(holder).toBeDefined();
    holder!.session.destroy();
    const rest = s.viewers.filter((v) => v !== holder);
    const counts = rest.map((v) => v.frames.length);
    await until(() => rest.every((v, k) => v.frames.length >= counts[k] + 15), 'the rest keep receiving');
    // Holders carry the stream: 12 segments of 1/8 frame each (1.5), plus in this 2-second run the
    // direct-feed overlap at the switch, segment repairs and the left holder's keys re-sent to
    // their new holders for the frames under way. Feeding the 6 viewers directly would be ≥ 6.
    expect(b.stats.uploadRatio).toBeLessThan(2.2);
  });

  it('says tracker-unreachable when the tracker cannot be reached, and no-peers when no neighbour connects', async () => {
    codec ??= await createCodec();
    const dead = await startTracker({ port: 0, host: '127.0.0.1' });
    const deadUrl = `ws://127.0.0.1:${dead.port}`;
    await dead.close();
    const key = await generateStreamKey();
    const lonely = new ViewerSession({ trackerUrl: deadUrl, streamId: key.streamId, transport: new MemoryNetwork().createTransport(), codec, WebSocket: WS, reconnectMinMs: 100, reconnectMaxMs: 200, statsIntervalMs: 50 });
    cleanups.push(() => lonely.destroy());
    await until(() => lonely.status === 'tracker-unreachable', 'tracker-unreachable');

    // Broadcaster and viewer on networks that cannot reach each other: the link fails, is reported, no peers.
    const s = await setup({ viewers: 0 });
    const b = s.startBroadcaster();
    const apart = new ViewerSession({
      trackerUrl: s.url, streamId: s.key.streamId, codec, WebSocket: WS, statsIntervalMs: 50, noPeersAfterMs: 300,
      transport: new MemoryNetwork().createTransport(undefined, { connectTimeoutMs: 300 }),
    });
    cleanups.push(() => apart.destroy());
    await until(() => apart.stats.streamState === 'live', 'live');
    await until(() => apart.status === 'no-peers', 'no-peers');
    expect(b.stats.connected).toBe(0);
  });

  it('accepts a stream key only when its hash is the streamId', async () => {
    const a = await generateStreamKey();
    const other = await generateStreamKey();
    expect(await acceptStreamKey(encodeStreamKey(a.publicKeyBytes), a.streamId)).toEqual(a.publicKeyBytes);
    expect(await acceptStreamKey(encodeStreamKey(other.publicKeyBytes), a.streamId)).toBeNull();
    expect(await acceptStreamKey(new Uint8Array([0xf5]), a.streamId)).toBeNull();
    expect(await acceptStreamKey(new Uint8Array(200).fill(0xf5), a.streamId)).toBeNull();
  });

  it('rejects bad options with BAD_CONFIG', async () => {
    codec ??= await createCodec();
    const net = new MemoryNetwork();
    expectCode(() => new ViewerSession({ trackerUrl: 'http://x', streamId: 'a'.repeat(43), transport: net.createTransport(), codec, WebSocket: WS }), 'BAD_CONFIG');
    expectCode(() => new ViewerSession({ trackerUrl: 'ws://127.0.0.1:1', streamId: 'short', transport: net.createTransport(), codec, WebSocket: WS }), 'BAD_CONFIG');
  });
});
