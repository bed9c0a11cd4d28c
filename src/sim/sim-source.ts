// The broadcaster's side of a simulated run: the frames it closes (sizes, key frames, init
// segments, bytes) and, for identity runs, a stand-in for the crypto worker that signs manifests
// with a keyed hash of their fields and digests with the cheap fingerprint. Pure; used by
// simulator.ts.

import type { CryptoJob, CryptoResult } from '../protocol/crypto-jobs.ts';
import { FLAG_FRAGMENT_END, FLAG_FRAGMENT_START, FLAG_INIT_SEGMENT, FLAG_KEY_FRAME, type Manifest } from '../protocol/wire.ts';
import { SeededRng } from '../rng.ts';
import { fingerprint } from './identity-codec.ts';
import type { SimOptions } from './sim-options.ts';

/** A frame the broadcaster closes, with the media it carries (for the report's playout model). */
export interface SourceFrame {
  bytes: Uint8Array;
  flags: number;
  /** The capture time its manifest carries, ms. */
  captureMs: number;
  /** Media fragment (-1: init segment) and the media span the frame carries, capture time, ms. */
  fragment: number;
  mediaStartMs: number;
  mediaEndMs: number;
}

/** Video frames a second of the `fragments` source. */
const FPS = 30;

/**
 * The broadcaster's frames. `steady`: closed every frameMs at a multiple of 8 KiB with the rest
 * carried over (a low bitrate's whole carry when it never reaches 8 KiB), a key frame (and a new
 * fragment) every keyFrameMs. `fragments`: whole fragments of keyFrameMs, a key frame keyFrameSize
 * × the size of each delta frame, framed at the first tick after they end in frames of at most
 * 64 KiB. Both: a 600-byte init segment every initEveryMs.
 */
export class FrameSource {
  private carry = 0;
  private lastKeyMs = -Infinity;
  private lastInitMs = -Infinity;
  private count = 0;
  private fragment = -1;
  private lastCloseMs = 0;
  /** Fragments source: the next fragment to frame, and its own seeded draws of key frame sizes. */
  private nextFragment = 0;
  private rng: SeededRng;

  constructor(private readonly o: SimOptions) {
    this.rng = new SeededRng((o.seed ^ 0x6b65) >>> 0);
  }

  /** The frames closed at time t, in publishing order. */
  close(t: number): SourceFrame[] {
    const o = this.o;
    const out: SourceFrame[] = [];
    if (t - this.lastInitMs >= o.initEveryMs) {
      this.lastInitMs = t;
      out.push({ bytes: makeFrameBytes(600, this.count++, o.seed, o.bytes), flags: FLAG_INIT_SEGMENT, captureMs: t, fragment: -1, mediaStartMs: t, mediaEndMs: t });
    }
    if (o.source === 'fragments') this.fragments(t, out);
    else this.steady(t, out);
    return out;
  }

  private steady(t: number, out: SourceFrame[]): void {
    const o = this.o;
    // Video frames of this tick: deltas, and a key frame k × their size when a fragment opens, with
    // the bitrate held over the fragment (k = 1: every tick alike, as before key sizes were modelled).
    const opens = t - this.lastKeyMs >= o.keyFrameMs;
    const n = Math.max(1, (o.keyFrameMs * FPS) / 1000);
    const k = o.keyFrameSize[1] > 1 ? this.rng.uniform(o.keyFrameSize[0], o.keyFrameSize[1]) : 1;
    const gop = (o.bitrateBps * o.keyFrameMs) / 8000;
    const delta = gop / (n - 1 + k);
    this.carry += k === 1 ? (o.bitrateBps * o.frameMs) / 8000 : (delta * o.frameMs * FPS) / 1000 + (opens ? (k - 1) * delta : 0);
    let L = Math.min(65536, Math.floor(this.carry / 8192) * 8192);
    if (L === 0 && this.carry >= 1 && o.bitrateBps * o.frameMs < 8192 * 8000) L = Math.floor(this.carry);
    if (L > 0) {
      this.carry -= L;
      let flags = 0;
      if (opens) {
        this.lastKeyMs = t;
        this.fragment++;
        flags |= FLAG_KEY_FRAME | FLAG_FRAGMENT_START;
      }
      out.push({ bytes: makeFrameBytes(L, this.count++, o.seed, o.bytes), flags, captureMs: t, fragment: this.fragment, mediaStartMs: this.lastCloseMs, mediaEndMs: t });
      this.lastCloseMs = t;
    }
  }

  // Fragment g holds the media captured in [g·D − phase, (g+1)·D − phase): its end falls half a tick
  // before a tick, as the encoder's clock and the cutter's ticks are not in step.
  private fragments(t: number, out: SourceFrame[]): void {
    const o = this.o;
    const D = o.keyFrameMs;
    const phase = o.frameMs / 2;
    for (let g = this.nextFragment; (g + 1) * D - phase <= t; g = ++this.nextFragment) {
      const start = g * D - phase;
      // A whole fragment goes out at once: how its bytes split between key and delta frames does not
      // change what travels (the encoder holds the bitrate per fragment).
      const size = Math.max(1, Math.round((o.bitrateBps * D) / 8000));
      for (let off = 0; off < size; off += 65536) {
        const L = Math.min(65536, size - off);
        let flags = 0;
        if (off === 0) flags |= FLAG_KEY_FRAME | FLAG_FRAGMENT_START;
        if (off + L >= size) flags |= FLAG_FRAGMENT_END;
        out.push({ bytes: makeFrameBytes(L, this.count++, o.seed, o.bytes), flags, captureMs: Math.max(0, start), fragment: g, mediaStartMs: start, mediaEndMs: start + D });
      }
    }
  }
}

export class CryptoOracle {
  run(job: CryptoJob): CryptoResult {
    switch (job.kind) {
      case 'sign-manifest': {
        const m: Manifest = { seq: job.seq, length: job.frame.length, captureTimeMs: job.captureTimeMs, flags: job.flags, broadcastId: job.broadcastId.slice(0, 8), digest: fingerprint(job.frame), signature: new Uint8Array(64) };
        m.signature.set(seal(m));
        return { kind: job.kind, id: job.id, manifest: m };
      }
      case 'verify-manifest': {
        const want = seal(job.manifest);
        const valid = job.manifest.signature.length === 64 && want.every((v, i) => v === job.manifest.signature[i]);
        return { kind: job.kind, id: job.id, valid };
      }
      case 'digest':
        return { kind: job.kind, id: job.id, digest: fingerprint(job.data) };
    }
  }
}

/**
 * The identity runs' stand-in for a signature: a hash of every manifest field under a fixed
 * simulator key, so any part of a parallel run verifies what another part's broadcaster signed
 * without shared state. (Forgery is not modelled; pollution needs real bytes and WebCrypto.)
 */
function seal(m: Manifest): Uint8Array {
  const body = new Uint8Array(26 + m.digest.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, m.seq >>> 0, true);
  v.setUint32(4, m.length >>> 0, true);
  v.setFloat64(8, m.captureTimeMs, true);
  v.setUint16(16, m.flags & 0xffff, true);
  body.set(m.broadcastId.subarray(0, 8), 18);
  body.set(m.digest, 26);
  let h = 0x2545f491;
  const out = new Uint8Array(32);
  for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body[i], 0x01000193);
  for (let i = 0; i < 32; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
    out[i] = h & 0xff;
  }
  return out;
}

/** Frame bytes of length n: zeros in identity runs, a seeded xorshift stream with real bytes. */
export function makeFrameBytes(n: number, salt: number, seed: number, real: boolean): Uint8Array {
  const out = new Uint8Array(n);
  if (!real) return out;
  let x = (salt * 2654435761 + seed) >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
