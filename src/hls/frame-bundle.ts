// The edge's frame feed: verified protocol frames with the broadcaster's signed manifests, for a
// viewer on the HTTP path to hand on to its neighbours. `FrameRing` keeps the newest frames the
// edge's core delivered (bounded by count and bytes); `encodeFrameBundle` / `parseFrameBundle` are
// the body of `/hls/<streamId>/frames-<seq>.bin`. The receiver trusts none of it: each frame goes to
// its protocol core (PeerCore.handleOutsideFrame), which checks signature and digest itself.
// Pure: no I/O, no clock. Used by hls-edge.ts, hls-handler.ts and http-frame-feed.ts.

import { encodeManifestBody, MANIFEST_BODY_BYTES, MAX_FRAME_BYTES, parseManifestBody, type Manifest } from '../protocol/wire.ts';
import type { DeliveredFrame } from './ll-hls-writer.ts';

export const FRAME_BUNDLE_TYPE = 'application/vnd.p2p-player.frames';
/** Bundle format version (first byte). */
export const FRAME_BUNDLE_VERSION = 1;
/** Header: version u8, count u16 LE, next position u32 LE (where the reader asks from next). */
export const FRAME_BUNDLE_HEADER = 7;
/** At most this many frames in one bundle. */
export const MAX_BUNDLE_FRAMES = 64;
/** At most this many frame bytes in one bundle (one frame is always allowed). */
export const MAX_BUNDLE_FRAME_BYTES = 1 << 20;
/** The largest well-formed bundle. */
export const MAX_BUNDLE_BYTES = FRAME_BUNDLE_HEADER + MAX_BUNDLE_FRAMES * MANIFEST_BODY_BYTES + MAX_BUNDLE_FRAME_BYTES + MAX_FRAME_BYTES;

/** header ‖ (manifest body (122) ‖ frame (L bytes, L from the manifest))*, in the order given. */
export function encodeFrameBundle(frames: readonly DeliveredFrame[], next: number): Uint8Array {
  let n = FRAME_BUNDLE_HEADER;
  for (const d of frames) n += MANIFEST_BODY_BYTES + d.frame.length;
  const out = new Uint8Array(n);
  out[0] = FRAME_BUNDLE_VERSION;
  out[1] = frames.length & 0xff;
  out[2] = frames.length >> 8;
  new DataView(out.buffer).setUint32(3, next >>> 0, true);
  let o = FRAME_BUNDLE_HEADER;
  for (const d of frames) {
    out.set(encodeManifestBody(d.manifest), o);
    out.set(d.frame, o + MANIFEST_BODY_BYTES);
    o += MANIFEST_BODY_BYTES + d.frame.length;
  }
  return out;
}

export type BundleParse = { ok: true; next: number; frames: Array<{ manifest: Manifest; frame: Uint8Array }> } | { ok: false; reason: string };

/**
 * Reads a bundle from the edge (hostile input: every length is bounded, nothing throws). The frames
 * are only well formed, not verified: each must still pass the core's signature and digest checks.
 */
export function parseFrameBundle(bytes: Uint8Array): BundleParse {
  if (bytes.length < FRAME_BUNDLE_HEADER || bytes.length > MAX_BUNDLE_BYTES) return { ok: false, reason: 'bundle size out of range' };
  if (bytes[0] !== FRAME_BUNDLE_VERSION) return { ok: false, reason: `bundle version ${bytes[0]}` };
  const count = bytes[1] | (bytes[2] << 8);
  if (count > MAX_BUNDLE_FRAMES) return { ok: false, reason: 'too many frames in a bundle' };
  const frames: Array<{ manifest: Manifest; frame: Uint8Array }> = [];
  let o = FRAME_BUNDLE_HEADER;
  for (let i = 0; i < count; i++) {
    const m = parseManifestBody(bytes, o);
    if (typeof m === 'string') return { ok: false, reason: m };
    o += MANIFEST_BODY_BYTES;
    if (bytes.length - o < m.length) return { ok: false, reason: 'frame truncated' };
    frames.push({ manifest: m, frame: bytes.slice(o, o + m.length) });
    o += m.length;
  }
  if (o !== bytes.length) return { ok: false, reason: 'bytes after the last frame' };
  return { ok: true, next: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(3, true), frames };
}

export interface FrameRingConfig {
  /** Frames kept. Default 256 (about 25–50 s at 5–10 frames a second). */
  maxFrames: number;
  /** Frame bytes kept. Default 8 MiB. */
  maxBytes: number;
}

/**
 * The newest verified frames of one stream in the order the edge's core delivered them (which is
 * not always sequence order: a small frame may decode before a larger one before it), each with its
 * position in that order (0, 1, 2, …: the feed's cursor), and the newest init segment.
 */
export class FrameRing {
  #entries: DeliveredFrame[] = [];
  /** Position of #entries[0]. */
  #first = 0;
  readonly #seqs = new Set<number>();
  #bytes = 0;
  #init: DeliveredFrame | undefined;
  readonly config: FrameRingConfig;

  constructor(config: Partial<FrameRingConfig> = {}) {
    this.config = { maxFrames: 256, maxBytes: 8 << 20, ...config };
  }

  /** Position the next frame will have (grows with every frame kept; held requests wake on it). */
  get next(): number {
    return this.#first + this.#entries.length;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Keeps a frame as the core delivered it (verified); a sequence kept already is ignored. */
  push(d: DeliveredFrame, isInit: boolean): void {
    const seq = d.manifest.seq;
    if (this.#seqs.has(seq)) return;
    this.#seqs.add(seq);
    this.#entries.push(d);
    this.#bytes += d.frame.length;
    if (isInit && (!this.#init || seq > this.#init.manifest.seq)) this.#init = d;
    while (this.#entries.length > this.config.maxFrames || (this.#bytes > this.config.maxBytes && this.#entries.length > 1)) {
      const old = this.#entries.shift() as DeliveredFrame;
      this.#first++;
      this.#bytes -= old.frame.length;
      this.#seqs.delete(old.manifest.seq);
    }
  }

  /**
   * Frames from position `at` on (from the oldest kept when `at` is older), at most
   * MAX_BUNDLE_FRAMES and about MAX_BUNDLE_FRAME_BYTES, and the position after the last one.
   * 'live': the newest init segment and the newest frame.
   */
  from(at: number | 'live'): { frames: DeliveredFrame[]; next: number } {
    if (at === 'live') {
      const newest = this.#entries[this.#entries.length - 1];
      if (!newest) return { frames: [], next: this.next };
      return { frames: this.#init && this.#init !== newest ? [this.#init, newest] : [newest], next: this.next };
    }
    const frames: DeliveredFrame[] = [];
    let bytes = 0;
    let i = Math.max(0, at - this.#first);
    for (; i < this.#entries.length && frames.length < MAX_BUNDLE_FRAMES; i++) {
      const d = this.#entries[i];
      if (frames.length > 0 && bytes + d.frame.length > MAX_BUNDLE_FRAME_BYTES) break;
      frames.push(d);
      bytes += d.frame.length;
    }
    return { frames, next: this.#first + i };
  }
}
