// `npm start --edge`: the HLS edge inside the server process. Joins a stream's swarm on demand (the
// first request for /hls/<streamId>/index.m3u8) as a viewer session whose peer links come from
// `createTransport`; the server mounts `edge.handler`. Node only (codec, `ws`).

import { WebSocket } from 'ws';
import { createCodec } from '../codec/index.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { Transport } from '../transport/transport.ts';
import { HlsEdge, sessionSourceOpener, type HlsEdgeConfig } from './hls-edge.ts';

export interface ServerEdgeOptions {
  /** The tracker's ws:// URL, read when the edge first joins a stream (the port may be known late). */
  trackerUrl: () => string;
  /** Peer links for the edge's sessions; without it the edge cannot join a swarm by itself. */
  createTransport?: () => Transport;
  edge?: Omit<HlsEdgeConfig, 'openSource'>;
}

/** Starts the edge; `note` says what it can do (printed by the server). */
export async function startServerEdge(options: ServerEdgeOptions): Promise<{ edge: HlsEdge; note: string }> {
  const createTransport = options.createTransport;
  if (!createTransport) {
    return {
      edge: new HlsEdge(options.edge),
      note: 'no Node WebRTC transport is wired in, so the edge cannot join swarms yet; it serves streams added with edge.addStream()',
    };
  }
  const codec = await createCodec();
  let open: ((streamId: string) => ReturnType<ReturnType<typeof sessionSourceOpener>>) | null = null;
  const edge = new HlsEdge({
    ...options.edge,
    openSource: (streamId) => {
      open ??= sessionSourceOpener({ trackerUrl: options.trackerUrl(), codec, WebSocket: WebSocket as unknown as WebSocketConstructor, createTransport });
      return open(streamId);
    },
  });
  return { edge, note: 'joins a stream on the first request for its playlist' };
}
