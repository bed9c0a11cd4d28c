// Static memory map of the kernel: fixed regions above the compiler's own static data, in one
// memory of fixed size that never grows. Only constants; every other kernel file reads them.
// The TypeScript side reads the same offsets through the exported getters in index.ts.

/** Full product table: MUL[a*256 + b] = a·b. */
export const MUL: usize = 0x10000;
/** Split nibble tables, 32 bytes per constant c: c·i (i = 0..15), then c·(i << 4). */
export const NIB: usize = 0x20000;
/** exp (512 bytes) and log (256 bytes) tables. */
export const EXP: usize = 0x22000;
export const LOG: usize = 0x22200;
/** Coefficient matrix of mulRows, row-major nOut × nIn (≤ 64 KiB); also invert's in/out. */
export const MATRIX: usize = 0x23000;
export const MATRIX_BYTES: usize = 0x10000;
/** Row pointers of mulRows: up to 256 input and 256 output rows (u32 each). */
export const IN_PTRS: usize = 0x33000;
export const OUT_PTRS: usize = 0x33400;
export const MAX_ROWS: i32 = 256;
/** Expanded nibble tables of one group of output rows: 8 rows × 256 inputs × 32 bytes. */
export const GFT: usize = 0x34000;
/** Augmented matrix of invert: up to 64 rows of 128 bytes. */
export const INV: usize = 0x3c000;
export const INV_STRIDE: usize = 128;
export const MAX_INVERT: i32 = 64;
/** Caller data: packets, frames, outputs (rows must lie inside it). */
export const DATA: usize = 0x40000;
export const DATA_BYTES: usize = 0x100000;
/** Pages of the memory (declared with the same initial and maximum size). */
export const PAGES: i32 = 20;
