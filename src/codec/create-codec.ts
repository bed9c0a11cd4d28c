// Chooses the codec implementation: the fastest WebAssembly kernel build this engine validates
// and that passes a known-answer self-check, or the build asked for. Holds no state of its own.
// Called through index.ts by every user of the codec.

import { P2PError } from '../errors.ts';
import { KERNEL_BUILDS, kernelValidates, loadKernel, type KernelBuild } from '../kernel/load-kernel.ts';
import { bytesEqual, CODEC_ERRORS } from './codec-input.ts';
import type { Codec, CodecBuild } from './codec.ts';
import { createReferenceCodec } from './reference-codec.ts';
import { createWasmCodec, type WasmCodecOptions } from './wasm-codec.ts';

export interface CreateCodecOptions extends WasmCodecOptions {
  /** Run on this build; rejects with CODEC_KERNEL_UNAVAILABLE when the engine cannot. */
  build?: CodecBuild;
}

/** True when `codec` gives the reference bytes on a small frame (every step, a coded decode). */
function selfCheck(codec: Codec): boolean {
  const ref = createReferenceCodec();
  const frame = new Uint8Array(300);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 151 + 7) & 255;
  const cs = codec.codeSegment(frame, 200);
  const seeds = new Map([9, 8, 30, 31, 100, 200, 201, 255, 3].map((c) => [c, codec.seedPacket(codec.codeSegment(frame, c), 20)]));
  const xs = Array.from({ length: 64 }, (_, i) => 100 + 2 * i);
  const fps = codec.feedPackets(frame, xs);
  return bytesEqual(cs, ref.codeSegment(frame, 200))
    && codec.feedPacketsFromSeeds(seeds, 20).every((fp, m) => bytesEqual(fp, ref.feedPacket(frame, 160 + m)))
    && bytesEqual(fps[5], ref.feedPacket(frame, 110))
    && bytesEqual(codec.decodeFrame(new Map(xs.map((x, i) => [x, fps[i]])), frame.length), frame);
}

async function tryBuild(build: KernelBuild, options: WasmCodecOptions): Promise<Codec | null> {
  if (!kernelValidates(build)) return null;
  try {
    const codec = createWasmCodec(await loadKernel(build), options);
    return selfCheck(codec) ? codec : null;
  } catch {
    return null;
  }
}

/**
 * A codec on the fastest kernel build that validates here (relaxed SIMD, SIMD, scalar), falling
 * back to the reference codec only when WebAssembly itself is missing. With `options.build` it
 * uses exactly that build or rejects with P2PError CODEC_KERNEL_UNAVAILABLE.
 */
export async function createCodec(options: CreateCodecOptions = {}): Promise<Codec> {
  const { build, ...rest } = options;
  if (build === 'reference') return createReferenceCodec();
  if (build !== undefined) {
    if (!(KERNEL_BUILDS as readonly string[]).includes(build)) {
      throw new P2PError(CODEC_ERRORS.kernelUnavailable, `unknown codec build ${String(build)}`);
    }
    const codec = await tryBuild(build, rest);
    if (codec === null) throw new P2PError(CODEC_ERRORS.kernelUnavailable, `kernel build ${build} does not run here`, { build });
    return codec;
  }
  if (typeof WebAssembly !== 'object') return createReferenceCodec();
  for (const b of KERNEL_BUILDS) {
    const codec = await tryBuild(b, rest);
    if (codec !== null) return codec;
  }
  throw new P2PError(CODEC_ERRORS.kernelUnavailable, 'no kernel build runs here');
}
