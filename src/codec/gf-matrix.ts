// Small dense matrices over GF(2^8) stored row-major in a Uint8Array (rows × cols bytes): inverse,
// product, row selection. Pure and synchronous; no byte-row (packet) work, that is the kernel's.
// Used by the generators, the reference codec and the WASM codec's decode-matrix set-up.

import { GF_EXP, GF_LOG, gfInv, gfMul } from './gf256.ts';

/** Inverse of the n×n matrix `m` (not mutated), or null when it is singular. */
export function gfInvert(m: Uint8Array, n: number): Uint8Array | null {
  const w = 2 * n;
  const a = new Uint8Array(n * w);
  for (let r = 0; r < n; r++) {
    a.set(m.subarray(r * n, r * n + n), r * w);
    a[r * w + n + r] = 1;
  }
  for (let col = 0; col < n; col++) {
    let piv = -1;
    for (let r = col; r < n; r++) if (a[r * w + col] !== 0) { piv = r; break; }
    if (piv < 0) return null;
    if (piv !== col) {
      for (let k = 0; k < w; k++) {
        const t = a[piv * w + k]; a[piv * w + k] = a[col * w + k]; a[col * w + k] = t;
      }
    }
    const inv = gfInv(a[col * w + col]);
    if (inv !== 1) for (let k = 0; k < w; k++) a[col * w + k] = gfMul(a[col * w + k], inv);
    for (let r = 0; r < n; r++) {
      const f = a[r * w + col];
      if (r === col || f === 0) continue;
      const lf = GF_LOG[f];
      for (let k = 0; k < w; k++) {
        const v = a[col * w + k];
        if (v !== 0) a[r * w + k] ^= GF_EXP[lf + GF_LOG[v]];
      }
    }
  }
  const out = new Uint8Array(n * n);
  for (let r = 0; r < n; r++) out.set(a.subarray(r * w + n, r * w + w), r * n);
  return out;
}

/** Product (rows×inner) · (inner×cols) → rows×cols. */
export function gfMatMul(
  a: Uint8Array, b: Uint8Array, rows: number, inner: number, cols: number,
): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < inner; k++) {
      const f = a[r * inner + k];
      if (f === 0) continue;
      for (let c = 0; c < cols; c++) out[r * cols + c] ^= gfMul(f, b[k * cols + c]);
    }
  }
  return out;
}
