// Test kit: a whole stream in one Node process. A real tracker on port 0, a BroadcastSession that
// publishes ffmpeg-made fMP4 (cut by the media layer's FrameCutter) in real time, an edge
// ViewerSession in the swarm, the HlsEdge fed by that session's delivered frames, and an HTTP server
// with the /hls/ routes. Links: MemoryTransport (`via: 'memory'`, the default), or real WebRTC in
// Node (`via: 'webrtc'`: the broadcaster over the Node peer transport, the edge made by
// `startServerEdge` as `npm start -- --edge` makes it, joining on the first playlist request).
// Used by the edge tests, the HLS browser test's server and the benchmark.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { generateStreamKey } from '../crypto/stream-key.ts';
import type { MediaFrame } from '../media/frame-format.ts';
import { BroadcastSession } from '../session/broadcast-session.ts';
import { ViewerSession } from '../session/viewer-session.ts';
import { startTracker } from '../tracker/server.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { createNodeTransport } from '../node-peer/node-webrtc.ts';
import { BROADCASTER_TRANSPORT } from '../session/connect-broadcaster.ts';
import { startServerEdge } from './edge-server.ts';
import { HlsEdge, sessionFrameSource, sessionSourceOpener, type HlsEdgeConfig } from './hls-edge.ts';
import { cutFrames, type SplitFmp4 } from './test-media.ts';

export interface EdgeRig {
  baseUrl: string;
  streamId: string;
  edge: HlsEdge;
  broadcaster: BroadcastSession;
  /** The edge's own session (null when it joins on demand). */
  edgeSession: ViewerSession | null;
  /** Frames published so far (the broadcaster's own bytes). */
  published: MediaFrame[];
  /** Resolves when every frame of the media has been published. */
  done: Promise<void>;
  /** A further viewer session in the same swarm (same tracker, MemoryTransport links; memory rigs only). */
  addViewer(): ViewerSession;
  /** Stops publishing (the stream stalls, as when the broadcaster's links are cut). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Starts the rig and publishes `media` paced by its capture times (the first fragment at once). */
export async function startEdgeRig(
  media: SplitFmp4,
  options: { edge?: Omit<HlsEdgeConfig, 'openSource'>; port?: number; onDemand?: boolean; via?: 'memory' | 'webrtc' } = {},
): Promise<EdgeRig> {
  const WS = WebSocket as unknown as WebSocketConstructor;
  const codec = await createCodec();
  const server = http.createServer();
  // Every peer of the rig comes from 127.0.0.1: the per-address socket bound (16) would leave viewers out.
  const tracker = await startTracker({ server, path: '/tracker', tickMs: 50, limits: { maxSocketsPerAddress: 256 } });
  let edge: HlsEdge | null = null;
  server.on('request', (req, res) => {
    if (tracker.handleHttp(req, res) || edge?.handler.handle(req, res)) return;
    res.writeHead(404, { 'access-control-allow-origin': '*' });
    res.end();
  });
  await new Promise<void>((r) => server.listen(options.port ?? 0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const trackerUrl = `ws://127.0.0.1:${port}/tracker`;
  const net = new MemoryNetwork({ seed: 5, latencyMs: 2, jitterMs: 1, mediaLossRate: 0 });
  const key = await generateStreamKey();
  const common = { trackerUrl, WebSocket: WS, codec, reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 200 };
  const webrtc = options.via === 'webrtc';
  if (webrtc) {
    edge = (await startServerEdge({ trackerUrl: () => trackerUrl, edge: options.edge })).edge;
  } else {
    const openSource = sessionSourceOpener({ trackerUrl, codec, WebSocket: WS, createTransport: () => net.createTransport() });
    edge = new HlsEdge({ ...options.edge, openSource: options.onDemand ? openSource : undefined });
  }
  const transport = webrtc ? createNodeTransport(BROADCASTER_TRANSPORT) : net.createTransport();
  const broadcaster = new BroadcastSession({ ...common, key, transport, bitrateBps: 600_000 });
  let edgeSession: ViewerSession | null = null;
  if (webrtc && !options.onDemand) {
    // Ask the edge for the playlist as a player would: it joins the swarm over WebRTC. Publish once
    // the broadcaster has its link to the edge, so that the first frames reach it.
    const asked = fetch(`http://127.0.0.1:${port}/hls/${key.streamId}/index.m3u8`).then((r) => r.body?.cancel(), () => {});
    for (let i = 0; i < 600 && !(broadcaster.stats.connected > 0); i++) await sleep(25);
    if (!(broadcaster.stats.connected > 0)) throw new Error('the edge did not link to the broadcaster over WebRTC');
    void asked;
  } else if (!options.onDemand) {
    edgeSession = new ViewerSession({ ...common, streamId: key.streamId, transport: net.createTransport() });
    edge.addStream(key.streamId, sessionFrameSource(edgeSession));
    // Wait until the edge is linked to the broadcaster, so that the first frames reach it.
    for (let i = 0; i < 400 && !(broadcaster.stats.connected > 0 && edgeSession.stats.peers > 0 && edgeSession.publicKey); i++) await sleep(25);
  }
  const startMs = Date.now();
  const frames = cutFrames(media, startMs);
  const published: MediaFrame[] = [];
  const viewers: ViewerSession[] = [];
  let paused = false;
  let stopped = false;
  const done = (async () => {
    for (const f of frames) {
      while (paused && !stopped) await sleep(20);
      if (stopped) return;
      const due = f.captureTimeMs - startMs;
      const wait = due - (Date.now() - startMs) + 500; // a fragment is framed when it is whole: 0.5 s after its start
      if (wait > 0) await sleep(wait);
      if (stopped) return;
      broadcaster.publishFrame(f);
      published.push(f);
    }
  })();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    streamId: key.streamId,
    edge: edge!,
    broadcaster,
    edgeSession,
    published,
    done,
    addViewer: () => {
      if (webrtc) throw new Error('addViewer: memory rigs only');
      const v = new ViewerSession({ ...common, streamId: key.streamId, transport: net.createTransport() });
      viewers.push(v);
      return v;
    },
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    async stop() {
      stopped = true;
      for (const v of viewers) v.destroy();
      edge!.destroy();
      broadcaster.destroy();
      await tracker.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
