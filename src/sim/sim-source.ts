// The broadcaster's side of a simulated run: the frames it closes (sizes, key frames, init
// segments, bytes) and, for identity runs, a stand-in for the crypto worker that signs manifests
// with a keyed hash of their fields and digests with the cheap fingerprint. Pure; used by
// simulator.ts.

import type { CryptoJob, CryptoResult } from '../protocol/crypto-jobs.ts';
import { FLAG_INIT_SEGMENT, FLAG_KEY_FRAME, type Manifest } from '../protocol/wire.ts';
import { fingerprint } from './identity-codec.ts';
import type { SimOptions } from './sim-options.ts';

/**
 * Frames closed every frameMs at a multiple of 8 KiB with the rest carried over (a low bitrate's
 * whole carry when it never reaches 8 KiB), a key frame every keyFrameMs and a 600-byte init
 * segment every initEveryMs.
 */
export class FrameSource {
  private carry = 0;
  private lastKeyMs = -Infinity;
  private lastInitMs = -Infinity;
  private count = 0;

  constructor(private readonly o: SimOptions) {}

  /** The frames closed at time t, in publishing order. */
  close(t: number): Array<{ bytes: Uint8Array; flags: number }> {
    const o = this.o;
    const out: Array<{ bytes: Uint8Array; flags: number }> = [];
    if (t - this.lastInitMs >= o.initEveryMs) {
      this.lastInitMs = t;
      out.push({ bytes: makeFrameBytes(600, this.count++, o.seed, o.bytes), flags: FLAG_INIT_SEGMENT });
    }
    this.carry += (o.bitrateBps * o.frameMs) / 8000;
    let L = Math.min(65536, Math.floor(this.carry / 8192) * 8192);
    if (L === 0 && this.carry >= 1 && o.bitrateBps * o.frameMs < 8192 * 8000) L = Math.floor(this.carry);
    if (L > 0) {
      this.carry -= L;
      let flags = 0;
      if (t - this.lastKeyMs >= o.keyFrameMs) {
        this.lastKeyMs = t;
        flags |= FLAG_KEY_FRAME | 4;
      }
      out.push({ bytes: makeFrameBytes(L, this.count++, o.seed, o.bytes), flags });
    }
    return out;
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
