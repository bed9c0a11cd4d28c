// `npm start --edge`: the HLS edge inside the server process. Joins a stream's swarm on demand (the
// first request for /hls/<streamId>/index.m3u8) as a viewer session whose peer links are WebRTC in
// Node (the Node peer runtime's transport over @roamhq/wrtc), so it joins swarms of browser
// broadcasters and viewers like any peer; the server mounts `edge.handler`. Node only.

import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import { createNodeTransport, loadNodeWebRtc } from '../node-peer/node-webrtc.ts';
import { BROADCASTER_TRANSPORT } from '../session/connect-broadcaster.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import type { Transport } from '../transport/transport.ts';
import { HlsEdge, sessionSourceOpener, type HlsEdgeConfig } from './hls-edge.ts';

export interface ServerEdgeOptions {
  /** The tracker's ws:// URL, read when the edge first joins a stream (the port may be known late). */
  trackerUrl: () => string;
  /**
   * Peer links for the edge's sessions. Default: WebRTC in Node (`createNodeTransport`), with the
   * broadcaster's send buffers (the edge uploads to many neighbours) and `transport` on top.
   */
  createTransport?: () => Transport;
  /** Transport options for the default WebRTC links (ICE servers also come from the tracker). */
  transport?: Partial<TransportConfig>;
  /** Upload capacity the edge tells the tracker, bits per second. Default 100 Mbit/s. */
  uploadBps?: number;
  edge?: Omit<HlsEdgeConfig, 'openSource'>;
}

/** Starts the edge; `note` says what it can do (printed by the server). */
export async function startServerEdge(options: ServerEdgeOptions): Promise<{ edge: HlsEdge; note: string }> {
  let createTransport = options.createTransport;
  if (!createTransport) {
    try {
      loadNodeWebRtc();
    } catch (e) {
      // Without WebRTC in Node the edge cannot be a peer; it still serves streams given to addStream().
      return { edge: new HlsEdge(options.edge), note: `cannot join swarms: ${(e as Error).message}` };
    }
    const config: Partial<TransportConfig> = { ...BROADCASTER_TRANSPORT, ...options.transport };
    createTransport = () => createNodeTransport(config);
  }
  const codec = await createCodec();
  const make = createTransport;
  let open: ReturnType<typeof sessionSourceOpener> | null = null;
  const edge = new HlsEdge({
    ...options.edge,
    openSource: (streamId) => {
      open ??= sessionSourceOpener({
        trackerUrl: options.trackerUrl(), codec, WebSocket: WebSocket as unknown as WebSocketConstructor, createTransport: make,
        ...(options.uploadBps !== undefined ? { uploadBps: options.uploadBps } : {}),
      });
      return open(streamId);
    },
  });
  return { edge, note: 'joins a stream over WebRTC on the first request for its playlist' };
}
