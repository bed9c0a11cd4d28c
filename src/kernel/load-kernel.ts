// Loads one build of the WebAssembly Reed-Solomon kernel from its bytes (no plugin, the same in
// browsers and Node), states its exports in one interface and builds the memory views once.
// Knows nothing of frames or packets (that is src/codec). Called by the codec and the benchmark.

import { relaxedSimdWasm, scalarWasm, simdWasm } from './kernel-wasm.generated.ts';

/** The kernel builds, fastest first. */
export const KERNEL_BUILDS = ['relaxed-simd', 'simd', 'scalar'] as const;
export type KernelBuild = (typeof KERNEL_BUILDS)[number];

/** The exports of wasm/assembly/index.ts. Pointers and sizes are byte offsets into `memory`. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  /** Fills the field tables; 0 on success. */
  init(): number;
  dataPtr(): number;
  dataBytes(): number;
  matrixPtr(): number;
  inPtrsPtr(): number;
  outPtrsPtr(): number;
  /** 2 relaxed SIMD, 1 SIMD, 0 scalar. */
  simdLevel(): number;
  /** out[r] = Σ_i M[r][i]·in[i] per block; rows from the pointer tables; 0 or 1 (bad arguments). */
  mulRows(nOut: number, nIn: number, len: number, nBlocks: number, inBlockStride: number, outBlockStride: number): number;
  /** dst ^= c·src over len bytes (multiple of 16); 0 or 1. */
  mulAcc(dst: number, src: number, c: number, len: number): number;
  /** Inverts the compact n×n matrix at matrixPtr in place; 0, 1 (bad n) or 2 (singular). */
  invert(n: number): number;
}

/** A ready kernel instance with its views (built once; the memory never grows). */
export interface Kernel {
  readonly build: KernelBuild;
  readonly exports: KernelExports;
  /** The whole memory. */
  readonly heap: Uint8Array;
  /** Offset and size of the caller data region. */
  readonly dataPtr: number;
  readonly dataBytes: number;
  /** The coefficient matrix region (64 KiB). */
  readonly matrix: Uint8Array;
  /** Input and output row pointer tables (256 entries each). */
  readonly inPtrs: Uint32Array;
  readonly outPtrs: Uint32Array;
}

const base64 = { 'relaxed-simd': relaxedSimdWasm, simd: simdWasm, scalar: scalarWasm } as const;
const modules = new Map<KernelBuild, Promise<WebAssembly.Module>>();

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The WebAssembly bytes of a build. */
export function kernelBytes(build: KernelBuild): Uint8Array {
  return decodeBase64(base64[build]);
}

/** True when this engine accepts the build (relaxed SIMD needs Chrome 114+, Firefox 146+, or a Node flag). */
export function kernelValidates(build: KernelBuild): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(kernelBytes(build) as BufferSource);
}

function instantiate(build: KernelBuild, instance: WebAssembly.Instance): Kernel {
  const ex = instance.exports as unknown as KernelExports;
  if (ex.init() !== 0) throw new Error(`kernel ${build}: init failed`);
  const heap = new Uint8Array(ex.memory.buffer);
  return {
    build,
    exports: ex,
    heap,
    dataPtr: ex.dataPtr(),
    dataBytes: ex.dataBytes(),
    matrix: heap.subarray(ex.matrixPtr(), ex.matrixPtr() + 65536),
    inPtrs: new Uint32Array(ex.memory.buffer, ex.inPtrsPtr(), 256),
    outPtrs: new Uint32Array(ex.memory.buffer, ex.outPtrsPtr(), 256),
  };
}

/** Compiles (once per build) and instantiates a fresh kernel; rejects when the engine cannot run it. */
export async function loadKernel(build: KernelBuild): Promise<Kernel> {
  let mod = modules.get(build);
  if (mod === undefined) {
    mod = WebAssembly.compile(kernelBytes(build) as BufferSource);
    modules.set(build, mod);
    mod.catch(() => modules.delete(build));
  }
  return instantiate(build, await WebAssembly.instantiate(await mod, {}));
}

/** Synchronous form of loadKernel (for Node and workers; the module is a few KiB). */
export function loadKernelSync(build: KernelBuild): Kernel {
  const mod = new WebAssembly.Module(kernelBytes(build) as BufferSource);
  return instantiate(build, new WebAssembly.Instance(mod, {}));
}
