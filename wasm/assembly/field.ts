// GF(2^8) tables of the kernel (0x11D): exp/log, the full product table and the split nibble
// tables. Filled once by initField; no other state. Used by rows.ts and invert.ts.

import { EXP, LOG, MUL, NIB } from './layout';

export function initField(): void {
  let v: u32 = 1;
  for (let i: u32 = 0; i < 255; i++) {
    store<u8>(EXP + i, <u8>v);
    store<u8>(LOG + v, <u8>i);
    v <<= 1;
    if (v & 0x100) v ^= 0x11d;
  }
  for (let i: u32 = 255; i < 512; i++) store<u8>(EXP + i, load<u8>(EXP + i - 255));
  for (let a: u32 = 0; a < 256; a++) {
    for (let b: u32 = 0; b < 256; b++) {
      let p: u8 = 0;
      if (a != 0 && b != 0) p = load<u8>(EXP + <usize>load<u8>(LOG + a) + <usize>load<u8>(LOG + b));
      store<u8>(MUL + (a << 8) + b, p);
    }
    for (let i: u32 = 0; i < 16; i++) {
      store<u8>(NIB + (a << 5) + i, load<u8>(MUL + (a << 8) + i));
      store<u8>(NIB + (a << 5) + 16 + i, load<u8>(MUL + (a << 8) + (i << 4)));
    }
  }
}

/** a·b. */
// @ts-ignore: decorator
@inline export function gfMul(a: u32, b: u32): u32 {
  return <u32>load<u8>(MUL + ((a & 255) << 8) + (b & 255));
}

/** a⁻¹ for a ≠ 0. */
// @ts-ignore: decorator
@inline export function gfInv(a: u32): u32 {
  return <u32>load<u8>(EXP + 255 - <usize>load<u8>(LOG + a));
}
