// A broadcaster in Node for tests, the lab and benchmarks: a BroadcastSession over the Node WebRTC
// transport, fed by a synthetic frame source at a set bitrate (no camera, no encoder). The frames
// are signed and verified like real ones; their bytes depend on their sequence number only, so a
// wrong decode cannot pass. Node-only.

import { WebSocket } from 'ws';
import { generateStreamKey, type StreamKeyPair } from '../crypto/stream-key.ts';
import { FRAME_FRAGMENT_END, FRAME_FRAGMENT_START, FRAME_INIT, FRAME_KEY, type MediaFrame } from '../media/frame-format.ts';
import { BroadcastSession } from '../session/broadcast-session.ts';
import { BROADCASTER_TRANSPORT } from '../session/connect-broadcaster.ts';
import type { SessionOptions } from '../session/session-config.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { createNodeTransport } from './node-webrtc.ts';

export interface NodeBroadcasterOptions {
  trackerUrl: string;
  key?: StreamKeyPair;
  /** Stream bitrate, bits per second. Default 1 000 000. */
  bitrateBps?: number;
  /** Frames per second of the synthetic source. Default 10. */
  framesPerSec?: number;
  transport?: Partial<TransportConfig>;
  session?: Partial<Omit<SessionOptions, 'trackerUrl' | 'transport'>>;
}

/** Bytes of synthetic frame `i` (the init frame is `i = 0`). Same `i` and length, same bytes. */
export function syntheticFrameBytes(i: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let j = 0; j < length; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[j] = x & 255;
  }
  return bytes;
}

export class NodeBroadcaster {
  readonly session: BroadcastSession;
  readonly key: StreamKeyPair;
  readonly bitrateBps: number;
  readonly framesPerSec: number;
  /** Frames handed to the session: sequence number → index and length of the synthetic frame. */
  readonly published = new Map<number, { index: number; length: number }>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #count = 0;

  static async start(options: NodeBroadcasterOptions): Promise<NodeBroadcaster> {
    const key = options.key ?? (await generateStreamKey());
    const bitrateBps = options.bitrateBps ?? 1_000_000;
    const session = await BroadcastSession.create({
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      ...options.session,
      trackerUrl: options.trackerUrl,
      key,
      bitrateBps,
      transport: createNodeTransport({ ...BROADCASTER_TRANSPORT, ...options.transport }),
    });
    return new NodeBroadcaster(session, key, bitrateBps, options.framesPerSec ?? 10);
  }

  private constructor(session: BroadcastSession, key: StreamKeyPair, bitrateBps: number, framesPerSec: number) {
    this.session = session;
    this.key = key;
    this.bitrateBps = bitrateBps;
    this.framesPerSec = framesPerSec;
  }

  /** Publishes one frame now: the init frame first, then key frames of the stream's size. */
  publishNext(): number {
    const i = this.#count++;
    const length = i === 0 ? 600 : Math.max(64, Math.min(65536, Math.round(this.bitrateBps / 8 / this.framesPerSec)));
    const frame: MediaFrame = {
      seq: i,
      bytes: syntheticFrameBytes(i, length),
      flags: i === 0 ? FRAME_INIT : FRAME_KEY | FRAME_FRAGMENT_START | FRAME_FRAGMENT_END,
      captureTimeMs: Date.now(),
    };
    const seq = this.session.publishFrame(frame);
    this.published.set(seq, { index: i, length });
    return seq;
  }

  /** The bytes published as `seq`, or undefined for a sequence number this broadcaster did not publish. */
  expectedBytes(seq: number): Uint8Array | undefined {
    const p = this.published.get(seq);
    return p && syntheticFrameBytes(p.index, p.length);
  }

  /** Publishes frames on a timer at `framesPerSec` until stop(). */
  run(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.publishNext(), 1000 / this.framesPerSec);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  destroy(): void {
    this.stop();
    this.session.destroy();
  }
}
