// GF(2^8) field arithmetic with the reduction polynomial 0x11D (x^8+x^4+x^3+x^2+1), addition = XOR.
// Owns the exp/log and full product tables; pure and synchronous, no I/O, no matrices (see
// gf-matrix.ts). Used by the generators, the reference codec and the WASM codec's matrix set-up.

/** The reduction polynomial of the field (bit 8 included). */
export const GF_POLY = 0x11d;

/** exp[i] = 2^i for i in 0..509 (doubled so exp[log a + log b] needs no modulo). */
export const GF_EXP: Uint8Array = new Uint8Array(512);
/** log[a] for a in 1..255; log[0] is unused (0). */
export const GF_LOG: Uint8Array = new Uint8Array(256);

{
  let v = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = v;
    GF_LOG[v] = i;
    v <<= 1;
    if (v & 0x100) v ^= GF_POLY;
  }
  for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255];
}

/** Full product table: GF_MUL[a * 256 + b] = a·b (64 KiB). */
export const GF_MUL: Uint8Array = new Uint8Array(65536);
for (let a = 1; a < 256; a++) {
  const la = GF_LOG[a];
  for (let b = 1; b < 256; b++) GF_MUL[(a << 8) | b] = GF_EXP[la + GF_LOG[b]];
}

/** a·b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  return GF_MUL[((a & 255) << 8) | (b & 255)];
}

/** a⁻¹ in GF(2^8); throws RangeError for 0 (callers never pass 0: it is a programming error). */
export function gfInv(a: number): number {
  if ((a & 255) === 0) throw new RangeError('gfInv(0)');
  return GF_EXP[255 - GF_LOG[a & 255]];
}

/** a / b in GF(2^8), b ≠ 0. */
export function gfDiv(a: number, b: number): number {
  return a === 0 ? 0 : gfMul(a, gfInv(b));
}

/** x^e in GF(2^8) with x^0 = 1 for every x, 0 included (the code's convention). */
export function gfPow(x: number, e: number): number {
  if (e === 0) return 1;
  if ((x & 255) === 0) return 0;
  return GF_EXP[(GF_LOG[x & 255] * e) % 255];
}

/** dst[i] ^= c·src[i] for i in 0..len-1 (plain byte loop; the reference multiply-accumulate). */
export function gfMulAcc(
  dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, c: number, len: number,
): void {
  if (c === 0) return;
  const row = (c & 255) << 8;
  if (c === 1) {
    for (let i = 0; i < len; i++) dst[dstOff + i] ^= src[srcOff + i];
    return;
  }
  for (let i = 0; i < len; i++) dst[dstOff + i] ^= GF_MUL[row | src[srcOff + i]];
}
