// Test kit: a whole stream in one Node process. A real tracker on port 0, a BroadcastSession that
// publishes ffmpeg-made fMP4 (cut by the media layer's FrameCutter) in real time, an edge
// ViewerSession in the swarm over MemoryTransport links (Node has no WebRTC transport here yet),
// the HlsEdge fed by that session's delivered frames, and an HTTP server with the /hls/ routes.
// Used by the edge test, the HLS browser test's server and the benchmark.

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
  /** Stops publishing (the stream stalls, as when the broadcaster's links are cut). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Starts the rig and publishes `media` paced by its capture times (the first fragment at once). */
export async function startEdgeRig(media: SplitFmp4, options: { edge?: HlsEdgeConfig; port?: number; onDemand?: boolean } = {}): Promise<EdgeRig> {
  const WS = WebSocket as unknown as WebSocketConstructor;
  const codec = await createCodec();
  const server = http.createServer();
  const tracker = await startTracker({ server, path: '/tracker', tickMs: 50 });
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
  const openSource = sessionSourceOpener({ trackerUrl, codec, WebSocket: WS, createTransport: () => net.createTransport() });
  edge = new HlsEdge({ ...options.edge, openSource: options.onDemand ? openSource : undefined });
  const broadcaster = new BroadcastSession({ ...common, key, transport: net.createTransport(), bitrateBps: 600_000 });
  let edgeSession: ViewerSession | null = null;
  if (!options.onDemand) {
    edgeSession = new ViewerSession({ ...common, streamId: key.streamId, transport: net.createTransport() });
    edge.addStream(key.streamId, sessionFrameSource(edgeSession));
    // Wait until the edge is linked to the broadcaster, so that the first frames reach it.
    for (let i = 0; i < 400 && !(broadcaster.stats.connected > 0 && edgeSession.stats.peers > 0 && edgeSession.publicKey); i++) await sleep(25);
  }
  const startMs = Date.now();
  const frames = cutFrames(media, startMs);
  const published: MediaFrame[] = [];
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
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    async stop() {
      stopped = true;
      edge!.destroy();
      broadcaster.destroy();
      await tracker.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
