// Pollution in identity runs. Identity packets are shared zero-filled views (identity-codec.ts), so
// a corrupted packet is any view whose first byte is not zero: the adversary kit (adversary.ts)
// corrupts every byte of what it sends. This wrapper makes the identity codec answer as the real
// code would: a decode that uses a corrupted packet gives a wrong frame (its fingerprint then
// disagrees with the signed manifest), a seed or feed packet made from corrupted input is
// corrupted, and spare seeds that disagree are found as `producerStep` finds them (9 seeds detect,
// 10–32 name a single bad one). Used by the simulator for every identity run; honest runs see no
// difference, since nothing they send is corrupted.

import { P2PError } from '../errors.ts';
import type { FrameCodec } from '../protocol/core-types.ts';

/** The byte every corrupted identity byte carries (the adversary XORs this into each byte). */
export const TAINT = 0x5a;

const BAD = new Uint8Array(65536).fill(TAINT);

/** A corrupted view of n bytes (shared, like the identity codec's zero views). */
export function taintedView(n: number): Uint8Array {
  return BAD.subarray(0, n);
}

/** True for a corrupted identity view (any packet, seed, segment part or frame). */
export function isTainted(v: Uint8Array): boolean {
  return v.length > 0 && v[0] !== 0;
}

/** The identity codec `base`, answering corrupted input as the real code does (see above). */
export function withTaint(base: FrameCodec): FrameCodec {
  return {
    ...base,
    decodeFrame: (packets, L) => {
      for (const p of packets.values()) if (isTainted(p)) return taintedView(L);
      return base.decodeFrame(packets, L);
    },
    seedPacket: (cs, g) => {
      const P = cs.length / 8;
      return isTainted(cs.subarray(g * P, g * P + P)) ? taintedView(P) : base.seedPacket(cs, g);
    },
    feedPacketsFromSeeds: (seeds, g) => {
      const bad: number[] = [];
      for (const [c, s] of seeds) if (isTainted(s)) bad.push(c);
      if (bad.length === 0) return base.feedPacketsFromSeeds(seeds, g);
      const n = seeds.size;
      if (n <= 8) {
        const P = (seeds.values().next().value as Uint8Array).length;
        const t = taintedView(P);
        return [t, t, t, t, t, t, t, t];
      }
      const details: Record<string, unknown> = { g, keys: [...seeds.keys()] };
      if (n >= 10 && n <= 32 && bad.length === 1) {
        details.c = bad[0];
        throw new P2PError('CODEC_SEEDS_DISAGREE', `seed packet of holder key ${bad[0]} disagrees with the others (group ${g})`, details);
      }
      throw new P2PError('CODEC_SEEDS_DISAGREE', `the ${n} seed packets of group ${g} disagree`, details);
    },
  };
}
