// A broadcaster in Node for tests, the lab and benchmarks: a BroadcastSession over the Node WebRTC
// transport, fed by a synthetic frame source at a set bitrate (no camera, no encoder). The frames
// are signed and verified like real ones; their bytes depend on their sequence number only, so a
// wrong decode cannot pass. Frames are a multiple of 8 KiB where the bitrate allows (the feed
// code pads every frame to 64 · 128 · ceil(L / 8192) bytes), as the browser's frame cutter does.
// Node-only.

import { WebSocket } from 'ws';
import { generateStreamKey, type StreamKeyPair } from '../crypto/stream-key.ts';
import { P2PError } from '../errors.ts';
import {
  FRAME_ALIGN_BYTES,
  FRAME_FRAGMENT_END,
  FRAME_FRAGMENT_START,
  FRAME_INIT,
  FRAME_KEY,
  MAX_FRAME_BYTES,
  paddedFrameBytes,
  type MediaFrame,
} from '../media/frame-format.ts';
import { BroadcastSession } from '../session/broadcast-session.ts';
import { BROADCASTER_TRANSPORT } from '../session/connect-broadcaster.ts';
import type { SessionOptions } from '../session/session-config.ts';
import type { WebSocketConstructor } from '../tracker-client/tracker-client.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { createNodeTransport } from './node-webrtc.ts';

export interface NodeBroadcasterOptions {
  trackerUrl: string;
  /** More nodes of the same tracker deployment, tried in turn when the connection is lost. */
  trackerUrls?: readonly string[];
  key?: StreamKeyPair;
  /** Stream bitrate, bits per second. Default 1 000 000. */
  bitrateBps?: number;
  /**
   * Frames per second wanted. Default 10. The rate used is the nearest one whose frames are a
   * multiple of 8 KiB, no slower than one frame per `maxFrameIntervalMs` (see frameLayout).
   */
  framesPerSec?: number;
  /** Longest time between frames, ms (bounds the latency the 8 KiB alignment adds). Default 500. */
  maxFrameIntervalMs?: number;
  /** Feed keys sent per frame in direct feed beyond the 64 needed (absorb loss before repairs). Default: the core's (1). */
  spareKeys?: number;
  transport?: Partial<TransportConfig>;
  session?: Partial<Omit<SessionOptions, 'trackerUrl' | 'transport'>>;
}

/** Size and spacing of the synthetic frames: `frameBytes` every `intervalMs` is the bitrate. */
export interface FrameLayout {
  frameBytes: number;
  intervalMs: number;
  /** Bytes the feed code carries per frame over the frame's own bytes: paddedFrameBytes(L) / L. */
  paddingRatio: number;
}

/**
 * Frames for a stream of `bitrateBps` at about `framesPerSec`: the multiple of 8 KiB nearest to
 * one frame's share of the bitrate (at least 8 KiB, at most 64 KiB), sent as often as the bitrate
 * then allows. When 8 KiB takes longer than `maxFrameIntervalMs` to accrue, frames are what
 * accrues in that time, and padded. Throws P2PError('BAD_CONFIG') on nonsense.
 */
export function frameLayout(bitrateBps: number, framesPerSec: number, maxFrameIntervalMs = 500): FrameLayout {
  if (!(bitrateBps >= 8000 && bitrateBps <= 100_000_000)) throw new P2PError('BAD_CONFIG', `bitrateBps ${bitrateBps} is outside 8000 … 100 000 000`);
  if (!(framesPerSec > 0 && framesPerSec <= 100)) throw new P2PError('BAD_CONFIG', `framesPerSec ${framesPerSec} is outside (0, 100]`);
  if (!(maxFrameIntervalMs >= 10 && maxFrameIntervalMs <= 5000)) throw new P2PError('BAD_CONFIG', `maxFrameIntervalMs ${maxFrameIntervalMs} is outside 10 … 5000`);
  const bytesPerMs = bitrateBps / 8000;
  const share = bytesPerMs * (1000 / framesPerSec);
  let frameBytes = Math.min(MAX_FRAME_BYTES, Math.max(FRAME_ALIGN_BYTES, Math.round(share / FRAME_ALIGN_BYTES) * FRAME_ALIGN_BYTES));
  if (frameBytes / bytesPerMs > maxFrameIntervalMs) frameBytes = Math.max(64, Math.round(bytesPerMs * maxFrameIntervalMs));
  return { frameBytes, intervalMs: frameBytes / bytesPerMs, paddingRatio: paddedFrameBytes(frameBytes) / frameBytes };
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
  /** Frames per second actually sent (from frameLayout). */
  readonly framesPerSec: number;
  readonly layout: FrameLayout;
  /** Frames handed to the session: sequence number → index and length of the synthetic frame. */
  readonly published = new Map<number, { index: number; length: number }>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #count = 0;

  static async start(options: NodeBroadcasterOptions): Promise<NodeBroadcaster> {
    const key = options.key ?? (await generateStreamKey());
    const bitrateBps = options.bitrateBps ?? 1_000_000;
    const layout = frameLayout(bitrateBps, options.framesPerSec ?? 10, options.maxFrameIntervalMs);
    const spare = options.spareKeys;
    if (spare !== undefined && !(Number.isInteger(spare) && spare >= 0 && spare <= 192)) throw new P2PError('BAD_CONFIG', `spareKeys ${spare} is not an integer in 0 … 192`);
    const session = await BroadcastSession.create({
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      ...options.session,
      ...(spare !== undefined ? { broadcaster: { ...options.session?.broadcaster, directSpareKeys: spare } } : {}),
      trackerUrl: options.trackerUrl,
      ...(options.trackerUrls ? { trackerUrls: options.trackerUrls } : {}),
      key,
      bitrateBps,
      transport: createNodeTransport({ ...BROADCASTER_TRANSPORT, ...options.transport }),
    });
    return new NodeBroadcaster(session, key, bitrateBps, layout);
  }

  private constructor(session: BroadcastSession, key: StreamKeyPair, bitrateBps: number, layout: FrameLayout) {
    this.session = session;
    this.key = key;
    this.bitrateBps = bitrateBps;
    this.layout = layout;
    this.framesPerSec = 1000 / layout.intervalMs;
  }

  /** Publishes one frame now: the init frame first, then key frames of the layout's size. */
  publishNext(): number {
    const i = this.#count++;
    const length = i === 0 ? 600 : this.layout.frameBytes;
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

  /** Publishes frames on a timer, one per `layout.intervalMs`, until stop(). */
  run(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.publishNext(), this.layout.intervalMs);
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
