// The simulator's stand-in for the codec at large N: every operation returns a zero-filled view
// of the right size without computing anything, so thousands of peers move packet identities
// (keys, sizes, timing) instead of bytes. Never used outside the simulator; the real codec
// carries the bytes in the small-N runs and tests.

import type { FrameCodec } from '../protocol/core-types.ts';

const ZERO = new Uint8Array(65536);
// One shared view per size: nobody writes them, and thousands of peers holding their own view
// objects for every packet would cost memory and GC time (10 000 peers).
const views = new Map<number, Uint8Array>();

/** The shared zero-filled view of n bytes (n ≤ 65 536) that identity packets are made of. */
export function zeroView(n: number): Uint8Array {
  let v = views.get(n);
  if (!v) views.set(n, (v = ZERO.subarray(0, n)));
  return v;
}

export function createIdentityCodec(): FrameCodec {
  const view = zeroView;
  const P = (L: number) => 128 * Math.ceil(L / 8192);
  return {
    codeSegment: (frame, _c) => view(8 * P(frame.length)),
    seedPacket: (cs, _g) => view(cs.length / 8),
    feedPacketsFromSeeds: (seeds, _g) => {
      const n = (seeds.values().next().value as Uint8Array).length;
      const v = view(n);
      return [v, v, v, v, v, v, v, v];
    },
    feedPacket: (frame, _x) => view(P(frame.length)),
    decodeFrame: (_packets, L) => view(L),
  };
}

/** The identity runs' stand-in for SHA-256: a cheap 32-byte fingerprint of length and sampled bytes. */
export function fingerprint(data: Uint8Array): Uint8Array {
  let h = 0x811c9dc5 ^ data.length;
  for (let i = 0; i < data.length; i += 61) h = Math.imul(h ^ data[i], 0x01000193);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
    out[i] = h & 0xff;
  }
  return out;
}
