// Inversion of a small n×n matrix over GF(2^8) (n ≤ 64) by Gauss-Jordan elimination on an
// augmented matrix, with the same row kernels as the multiply loop. Reads and writes MATRIX
// (compact n×n, row-major); uses INV as scratch. Called through index.ts only.

import { gfInv } from './field';
import { INV, INV_STRIDE, MATRIX } from './layout';
import { mulAccUnchecked, scaleUnchecked } from './rows';

/** Inverts MATRIX in place; returns false (MATRIX unchanged) when it is singular. */
export function invertUnchecked(n: i32): bool {
  const un = <usize>n;
  const w: usize = (un + un + 15) & ~(<usize>15);
  memory.fill(INV, 0, un * INV_STRIDE);
  for (let r: usize = 0; r < un; r++) {
    memory.copy(INV + r * INV_STRIDE, MATRIX + r * un, un);
    store<u8>(INV + r * INV_STRIDE + un + r, 1);
  }
  for (let col: usize = 0; col < un; col++) {
    let piv: usize = col;
    while (piv < un && load<u8>(INV + piv * INV_STRIDE + col) == 0) piv++;
    if (piv == un) return false;
    const pr = INV + col * INV_STRIDE;
    if (piv != col) {
      const qr = INV + piv * INV_STRIDE;
      for (let k: usize = 0; k < w; k += 8) {
        const t = load<u64>(pr + k);
        store<u64>(pr + k, load<u64>(qr + k));
        store<u64>(qr + k, t);
      }
    }
    const d = <u32>load<u8>(pr + col);
    if (d != 1) scaleUnchecked(pr, gfInv(d), w);
    for (let r: usize = 0; r < un; r++) {
      if (r == col) continue;
      const f = <u32>load<u8>(INV + r * INV_STRIDE + col);
      if (f != 0) mulAccUnchecked(INV + r * INV_STRIDE, pr, f, w);
    }
  }
  for (let r: usize = 0; r < un; r++) memory.copy(MATRIX + r * un, INV + r * INV_STRIDE + un, un);
  return true;
}
