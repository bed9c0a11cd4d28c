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
/** Header: version u8, count u16 LE. */
export const FRAME_BUNDLE_HEADER = 3;
/** At most this many frames in one bundle. */
export const MAX_BUNDLE_FRAMES = 64;
/** At most this many frame bytes in one bundle (one frame is always allowed). */
export const MAX_BUNDLE_FRAME_BYTES = 1 << 20;
/** The largest well-formed bundle. */
export const MAX_BUNDLE_BYTES = FRAME_BUNDLE_HEADER + MAX_BUNDLE_FRAMES * MANIFEST_BODY_BYTES + MAX_BUNDLE_FRAME_BYTES + MAX_FRAME_BYTES;

/** header ‖ (manifest body (122) ‖ frame (L bytes, L from the manifest))*, in the order given. */
export function encodeFrameBundle(frames: readonly DeliveredFrame[]): Uint8Array {
  let n = FRAME_BUNDLE_HEADER;
  for (const d of frames) n += MANIFEST_BODY_BYTES + d.frame.length;
  const out = new Uint8Array(n);
  out[0] = FRAME_BUNDLE_VERSION;
  out[1] = frames.length & 0xff;
  out[2] = frames.length >> 8;
  let o = FRAME_BUNDLE_HEADER;
  for (const d of frames) {
    out.set(encodeManifestBody(d.manifest), o);
    out.set(d.frame, o + MANIFEST_BODY_BYTES);
    o += MANIFEST_BODY_BYTES + d.frame.length;
  }
  return out;
}

export type BundleParse = { ok: true; frames: Array<{ manifest: Manifest; frame: Uint8Array }> } | { ok: false; reason: string };

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
  return { ok: true, frames };
}

export interface FrameRingConfig {
  /** Frames kept. Default 256 (about 25–50 s at 5–10 frames a second). */
  maxFrames: number;
  /** Frame bytes kept. Default 8 MiB. */
  maxBytes: number;
}

/** The newest verified frames of one stream by sequence, and the newest init segment. */
export class FrameRing {
  readonly #frames = new Map<number, DeliveredFrame>();
  /** Sequences kept, ascending. */
  #order: number[] = [];
  #bytes = 0;
  #init: DeliveredFrame | undefined;
  #version = 0;
  readonly config: FrameRingConfig;

  constructor(config: Partial<FrameRingConfig> = {}) {
    this.config = { maxFrames: 256, maxBytes: 8 << 20, ...config };
  }

  /** Grows with every frame kept (held requests wake on it). */
  get version(): number {
    return this.#version;
  }

  get newestSeq(): number {
    return this.#order.length === 0 ? -1 : this.#order[this.#order.length - 1];
  }

  get size(): number {
    return this.#order.length;
  }

  /** Keeps a frame as the core delivered it (verified); a sequence seen already is ignored. */
  push(d: DeliveredFrame, isInit: boolean): void {
    const seq = d.manifest.seq;
    if (this.#frames.has(seq)) return;
    this.#frames.set(seq, d);
    let i = this.#order.length;
    while (i > 0 && this.#order[i - 1] > seq) i--;
    this.#order.splice(i, 0, seq);
    this.#bytes += d.frame.length;
    if (isInit && (!this.#init || seq > this.#init.manifest.seq)) this.#init = d;
    while (this.#order.length > this.config.maxFrames || (this.#bytes > this.config.maxBytes && this.#order.length > 1)) {
      const old = this.#order.shift() as number;
      this.#bytes -= (this.#frames.get(old) as DeliveredFrame).frame.length;
      this.#frames.delete(old);
    }
    this.#version++;
  }

  /**
   * Frames with sequence ≥ seq, ascending, at most MAX_BUNDLE_FRAMES and about MAX_BUNDLE_FRAME_BYTES
   * (from the oldest kept when seq is older). 'live': the newest init segment and the newest frame.
   */
  from(seq: number | 'live'): DeliveredFrame[] {
    if (seq === 'live') {
      const newest = this.#frames.get(this.newestSeq);
      if (!newest) return [];
      return this.#init && this.#init !== newest ? [this.#init, newest] : [newest];
    }
    const out: DeliveredFrame[] = [];
    let bytes = 0;
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#order[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#order.length && out.length < MAX_BUNDLE_FRAMES; i++) {
      const d = this.#frames.get(this.#order[i]) as DeliveredFrame;
      if (out.length > 0 && bytes + d.frame.length > MAX_BUNDLE_FRAME_BYTES) break;
      out.push(d);
      bytes += d.frame.length;
    }
    return out;
  }
}
