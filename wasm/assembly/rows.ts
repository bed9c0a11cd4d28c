// The multiply loop: out[r] = Σ_i M[r][i]·in[i] over byte rows, several output rows fused per pass
// so each input chunk is loaded once per group and each output stored once (split nibble tables
// and i8x16.swizzle / relaxed_swizzle; a table loop in the scalar build). Also the one-row
// multiply-accumulate and row scaling used by invert.ts. No argument checks here (index.ts does).

import { GFT, IN_PTRS, MATRIX, MUL, NIB, OUT_PTRS } from './layout';

// @ts-ignore: decorator
@inline function sw(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/** Copies the nibble tables of rows r0..r0+w-1 into GFT, input-major: (i*w + k)*32. */
function expandTables(r0: i32, w: i32, nIn: i32): void {
  let t = GFT;
  for (let i = 0; i < nIn; i++) {
    for (let k = 0; k < w; k++) {
      const c = <usize>load<u8>(MATRIX + <usize>((r0 + k) * nIn + i));
      v128.store(t, v128.load(NIB + (c << 5)));
      v128.store(t, v128.load(NIB + (c << 5), 16), 16);
      t += 32;
    }
  }
}

/** Byte offsets of the product-table rows of r0..r0+w-1 into GFT (scalar build), input-major. */
function expandRowOffsets(r0: i32, w: i32, nIn: i32): void {
  let t = GFT;
  for (let i = 0; i < nIn; i++) {
    for (let k = 0; k < w; k++) {
      store<u32>(t, <u32>MUL + (<u32>load<u8>(MATRIX + <usize>((r0 + k) * nIn + i)) << 8));
      t += 4;
    }
  }
}

function group4Simd(r0: i32, nIn: i32, len: i32, nBlocks: i32, inBS: i32, outBS: i32): void {
  expandTables(r0, 4, nIn);
  const mask = i8x16.splat(0x0f);
  const o0 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2));
  const o1 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2), 4);
  const o2 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2), 8);
  const o3 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2), 12);
  for (let b = 0; b < nBlocks; b++) {
    const bi = <usize>(b * inBS);
    const bo = <usize>(b * outBS);
    for (let off: usize = 0; off < <usize>len; off += 16) {
      let a0 = i8x16.splat(0);
      let a1 = a0, a2 = a0, a3 = a0;
      let t = GFT;
      let p = IN_PTRS;
      const pEnd = IN_PTRS + (<usize>nIn << 2);
      while (p < pEnd) {
        const src = v128.load(<usize>load<u32>(p) + bi + off);
        const lo = v128.and(src, mask);
        const hi = i8x16.shr_u(src, 4);
        a0 = v128.xor(a0, v128.xor(sw(v128.load(t), lo), sw(v128.load(t, 16), hi)));
        a1 = v128.xor(a1, v128.xor(sw(v128.load(t, 32), lo), sw(v128.load(t, 48), hi)));
        a2 = v128.xor(a2, v128.xor(sw(v128.load(t, 64), lo), sw(v128.load(t, 80), hi)));
        a3 = v128.xor(a3, v128.xor(sw(v128.load(t, 96), lo), sw(v128.load(t, 112), hi)));
        t += 128;
        p += 4;
      }
      v128.store(o0 + bo + off, a0);
      v128.store(o1 + bo + off, a1);
      v128.store(o2 + bo + off, a2);
      v128.store(o3 + bo + off, a3);
    }
  }
}

function group1Simd(r0: i32, nIn: i32, len: i32, nBlocks: i32, inBS: i32, outBS: i32): void {
  expandTables(r0, 1, nIn);
  const mask = i8x16.splat(0x0f);
  const o0 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2));
  for (let b = 0; b < nBlocks; b++) {
    const bi = <usize>(b * inBS);
    const bo = <usize>(b * outBS);
    for (let off: usize = 0; off < <usize>len; off += 16) {
      let a0 = i8x16.splat(0);
      let t = GFT;
      let p = IN_PTRS;
      const pEnd = IN_PTRS + (<usize>nIn << 2);
      while (p < pEnd) {
        const src = v128.load(<usize>load<u32>(p) + bi + off);
        a0 = v128.xor(a0, v128.xor(sw(v128.load(t), v128.and(src, mask)), sw(v128.load(t, 16), i8x16.shr_u(src, 4))));
        t += 32;
        p += 4;
      }
      v128.store(o0 + bo + off, a0);
    }
  }
}

function group4Scalar(r0: i32, nIn: i32, len: i32, nBlocks: i32, inBS: i32, outBS: i32): void {
  expandRowOffsets(r0, 4, nIn);
  const o0 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2));
  const o1 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2), 4);
  const o2 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2), 8);
  const o3 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2), 12);
  for (let b = 0; b < nBlocks; b++) {
    const bi = <usize>(b * inBS);
    const bo = <usize>(b * outBS);
    for (let off: usize = 0; off < <usize>len; off++) {
      let a0: u32 = 0, a1: u32 = 0, a2: u32 = 0, a3: u32 = 0;
      let t = GFT;
      for (let i = 0; i < nIn; i++) {
        const s = <usize>load<u8>(<usize>load<u32>(IN_PTRS + (<usize>i << 2)) + bi + off);
        a0 ^= load<u8>(<usize>load<u32>(t) + s);
        a1 ^= load<u8>(<usize>load<u32>(t, 4) + s);
        a2 ^= load<u8>(<usize>load<u32>(t, 8) + s);
        a3 ^= load<u8>(<usize>load<u32>(t, 12) + s);
        t += 16;
      }
      store<u8>(o0 + bo + off, <u8>a0);
      store<u8>(o1 + bo + off, <u8>a1);
      store<u8>(o2 + bo + off, <u8>a2);
      store<u8>(o3 + bo + off, <u8>a3);
    }
  }
}

function group1Scalar(r0: i32, nIn: i32, len: i32, nBlocks: i32, inBS: i32, outBS: i32): void {
  expandRowOffsets(r0, 1, nIn);
  const o0 = <usize>load<u32>(OUT_PTRS + (<usize>r0 << 2));
  for (let b = 0; b < nBlocks; b++) {
    const bi = <usize>(b * inBS);
    const bo = <usize>(b * outBS);
    for (let off: usize = 0; off < <usize>len; off++) {
      let a0: u32 = 0;
      let t = GFT;
      for (let i = 0; i < nIn; i++) {
        a0 ^= load<u8>(<usize>load<u32>(t) + <usize>load<u8>(<usize>load<u32>(IN_PTRS + (<usize>i << 2)) + bi + off));
        t += 4;
      }
      store<u8>(o0 + bo + off, <u8>a0);
    }
  }
}

/** out rows (OUT_PTRS) = MATRIX (nOut × nIn) · in rows (IN_PTRS), len bytes (multiple of 16) per row, per block. */
export function mulRowsUnchecked(nOut: i32, nIn: i32, len: i32, nBlocks: i32, inBS: i32, outBS: i32): void {
  let r = 0;
  for (; r + 4 <= nOut; r += 4) {
    if (ASC_FEATURE_SIMD) group4Simd(r, nIn, len, nBlocks, inBS, outBS);
    else group4Scalar(r, nIn, len, nBlocks, inBS, outBS);
  }
  for (; r < nOut; r++) {
    if (ASC_FEATURE_SIMD) group1Simd(r, nIn, len, nBlocks, inBS, outBS);
    else group1Scalar(r, nIn, len, nBlocks, inBS, outBS);
  }
}

/** dst[0..len) ^= c·src[0..len); len a multiple of 16. */
export function mulAccUnchecked(dst: usize, src: usize, c: u32, len: usize): void {
  if (ASC_FEATURE_SIMD) {
    const tl = v128.load(NIB + (<usize>(c & 255) << 5));
    const th = v128.load(NIB + (<usize>(c & 255) << 5), 16);
    const mask = i8x16.splat(0x0f);
    for (let off: usize = 0; off < len; off += 16) {
      const s = v128.load(src + off);
      const p = v128.xor(sw(tl, v128.and(s, mask)), sw(th, i8x16.shr_u(s, 4)));
      v128.store(dst + off, v128.xor(v128.load(dst + off), p));
    }
  } else {
    const row = MUL + (<usize>(c & 255) << 8);
    for (let off: usize = 0; off < len; off++) {
      store<u8>(dst + off, load<u8>(dst + off) ^ load<u8>(row + <usize>load<u8>(src + off)));
    }
  }
}

/** row[0..len) = c·row[0..len); len a multiple of 16. */
export function scaleUnchecked(row: usize, c: u32, len: usize): void {
  if (ASC_FEATURE_SIMD) {
    const tl = v128.load(NIB + (<usize>(c & 255) << 5));
    const th = v128.load(NIB + (<usize>(c & 255) << 5), 16);
    const mask = i8x16.splat(0x0f);
    for (let off: usize = 0; off < len; off += 16) {
      const s = v128.load(row + off);
      v128.store(row + off, v128.xor(sw(tl, v128.and(s, mask)), sw(th, i8x16.shr_u(s, 4))));
    }
  } else {
    const m = MUL + (<usize>(c & 255) << 8);
    for (let off: usize = 0; off < len; off++) store<u8>(row + off, load<u8>(m + <usize>load<u8>(row + off)));
  }
}
