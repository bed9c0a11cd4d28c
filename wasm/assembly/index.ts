// Export list of the Reed-Solomon kernel (GF(2^8), 0x11D): region getters, argument-checked entry
// points and nothing else. All work is on fixed regions of one memory that never grows.
// Loaded by src/kernel/load-kernel.ts; the interface there mirrors these exports.

import { initField } from './field';
import { invertUnchecked } from './invert';
import {
  DATA, DATA_BYTES, IN_PTRS, MATRIX, MATRIX_BYTES, MAX_INVERT, MAX_ROWS, MUL, OUT_PTRS,
} from './layout';
import { mulAccUnchecked, mulRowsUnchecked } from './rows';

/** Result codes of the checked entry points. */
const OK = 0;
const BAD_ARGS = 1;
const SINGULAR = 2;

/** Fills the tables; returns 0, or 1 when the compiler's static data overlaps the regions. */
export function init(): i32 {
  if (__heap_base > MUL) return BAD_ARGS;
  initField();
  return OK;
}

export function dataPtr(): usize { return DATA; }
export function dataBytes(): usize { return DATA_BYTES; }
export function matrixPtr(): usize { return MATRIX; }
export function inPtrsPtr(): usize { return IN_PTRS; }
export function outPtrsPtr(): usize { return OUT_PTRS; }

/** 1 for the SIMD builds (2 when relaxed SIMD), 0 for the scalar build. */
export function simdLevel(): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) return 2;
  if (ASC_FEATURE_SIMD) return 1;
  return 0;
}

function rowsInData(ptrs: usize, n: i32, len: i32, nBlocks: i32, blockStride: i32): bool {
  const extent = <u64>(nBlocks - 1) * <u64>blockStride + <u64>len;
  const end = <u64>(DATA + DATA_BYTES);
  for (let i = 0; i < n; i++) {
    const p = <u64>load<u32>(ptrs + (<usize>i << 2));
    if (p < <u64>DATA || p + extent > end) return false;
  }
  return true;
}

/**
 * For each block b < nBlocks: out[r] + b·outBlockStride ← Σ_i MATRIX[r·nIn + i] · (in[i] + b·inBlockStride),
 * len bytes per row. Rows are the pointers at IN_PTRS / OUT_PTRS (all inside DATA; outputs must
 * not overlap inputs). len a positive multiple of 16; 1 ≤ nIn, nOut ≤ 256; nOut·nIn ≤ 65536.
 * Returns 0, or 1 (nothing written) for bad arguments.
 */
export function mulRows(nOut: i32, nIn: i32, len: i32, nBlocks: i32, inBlockStride: i32, outBlockStride: i32): i32 {
  if (nOut < 1 || nOut > MAX_ROWS || nIn < 1 || nIn > MAX_ROWS || <usize>(nOut * nIn) > MATRIX_BYTES) return BAD_ARGS;
  if (len < 16 || (len & 15) != 0 || nBlocks < 1 || inBlockStride < 0 || outBlockStride < 0) return BAD_ARGS;
  if (!rowsInData(IN_PTRS, nIn, len, nBlocks, inBlockStride)) return BAD_ARGS;
  if (!rowsInData(OUT_PTRS, nOut, len, nBlocks, outBlockStride)) return BAD_ARGS;
  mulRowsUnchecked(nOut, nIn, len, nBlocks, inBlockStride, outBlockStride);
  return OK;
}

/** dst ^= c·src over len bytes (a positive multiple of 16), both inside DATA. Returns 0 or 1. */
export function mulAcc(dst: usize, src: usize, c: i32, len: i32): i32 {
  if (len < 16 || (len & 15) != 0 || c < 0 || c > 255) return BAD_ARGS;
  const end = DATA + DATA_BYTES;
  if (dst < DATA || dst + <usize>len > end || src < DATA || src + <usize>len > end) return BAD_ARGS;
  mulAccUnchecked(dst, src, <u32>c, <usize>len);
  return OK;
}

/** Inverts the n×n matrix at MATRIX (compact, row-major) in place. Returns 0, 1 (bad n) or 2 (singular). */
export function invert(n: i32): i32 {
  if (n < 1 || n > MAX_INVERT) return BAD_ARGS;
  return invertUnchecked(n) ? OK : SINGULAR;
}
