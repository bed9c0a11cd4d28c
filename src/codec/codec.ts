// The Codec interface: the exact code of DESIGN section 3 as byte operations. Types only; the
// implementations are reference-codec.ts (plain TypeScript) and wasm-codec.ts (the kernel).
// Callers: protocol (holder, producer, viewer), broadcaster, tests and the benchmark.

/** Which implementation a codec runs on. */
export type CodecBuild = 'relaxed-simd' | 'simd' | 'scalar' | 'reference';

/**
 * Every method checks its input and throws P2PError (codes CODEC_*, see docs/codec.md) instead
 * of returning a wrong answer. Every returned array belongs to the caller: no later call writes
 * to it. It may be a view into a larger buffer (one per batch call, or a pool shared by small
 * results, like Node's Buffer pool): use byteOffset/byteLength, never transfer its `.buffer`.
 * P = packetSize(frame length); Q = P/8.
 */
export interface Codec {
  readonly build: CodecBuild;
  /** CS(c): 8·P bytes; a plain copy of sub-parts for c < 8. */
  codeSegment(frame: Uint8Array, c: number): Uint8Array;
  /** CS(c) for several distinct keys at once (same order). */
  codeSegments(frame: Uint8Array, cs: readonly number[]): Uint8Array[];
  /** SP(c, g) from CS(c): P bytes; a plain copy for g < 8. */
  seedPacket(codeSegment: Uint8Array, g: number): Uint8Array;
  /** SP(c, g) for several distinct groups g at once (same order). */
  seedPackets(codeSegment: Uint8Array, gs: readonly number[]): Uint8Array[];
  /** [FP(8g), …, FP(8g+7)] from 8 or more seed packets SP(c, g) keyed by c; spares are checked. */
  feedPacketsFromSeeds(seeds: Map<number, Uint8Array>, g: number): Uint8Array[];
  /** FP(x): P bytes; a plain copy of part x for x < 64. */
  feedPacket(frame: Uint8Array, x: number): Uint8Array;
  /** FP(x) for several distinct keys at once (same order). */
  feedPackets(frame: Uint8Array, xs: readonly number[]): Uint8Array[];
  /** The frame of L bytes from 64 or more distinct feed packets FP(x) keyed by x. */
  decodeFrame(packets: Map<number, Uint8Array>, L: number): Uint8Array;
  /** As decodeFrame, written into out[0, L) (out.length ≥ L, no allocation); returns out.subarray(0, L). */
  decodeFrameInto(out: Uint8Array, packets: Map<number, Uint8Array>, L: number): Uint8Array;
}
