// The identity runs' stand-in for the crypto worker: signs manifests by remembering them and
// verifies a manifest by comparing it with the one remembered, digests with the cheap
// fingerprint. Pure and synchronous; used by simulator.ts when the run carries no real bytes.

import type { CryptoJob, CryptoResult } from '../protocol/crypto-jobs.ts';
import type { Manifest } from '../protocol/wire.ts';
import { fingerprint } from './identity-codec.ts';

export class CryptoOracle {
  private readonly manifests = new Map<number, Manifest>();

  run(job: CryptoJob): CryptoResult {
    switch (job.kind) {
      case 'sign-manifest': {
        const m: Manifest = { seq: job.seq, length: job.frame.length, captureTimeMs: job.captureTimeMs, flags: job.flags, digest: fingerprint(job.frame), signature: new Uint8Array(64) };
        this.manifests.set(job.seq, m);
        return { kind: job.kind, id: job.id, manifest: m };
      }
      case 'verify-manifest': {
        const m = this.manifests.get(job.manifest.seq);
        const valid = !!m && m.length === job.manifest.length && m.flags === job.manifest.flags && m.captureTimeMs === job.manifest.captureTimeMs && m.digest.every((v, i) => v === job.manifest.digest[i]);
        return { kind: job.kind, id: job.id, valid };
      }
      case 'digest':
        return { kind: job.kind, id: job.id, digest: fingerprint(job.data) };
    }
  }
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
