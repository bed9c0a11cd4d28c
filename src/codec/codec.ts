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
  /** As decodeFrame, written into out[0, L) (out.length ≥ L, no allocation); returns out.subarray(0, L) (out itself when out.length = L). */
  decodeFrameInto(out: Uint8Array, packets: Map<number, Uint8Array>, L: number): Uint8Array;
  /**
   * Begins the codec's decode stage for a frame of L bytes (ending the previous one): packets are
   * written straight into codec memory and the frame is handed out as a view of it. See DecodeStage.
   */
  decodeStage(L: number): DecodeStage;
  /**
   * Begins the codec's segment stage for packet size P (ending the previous one): a code segment
   * is written once into codec memory and serves any number of seed packets. See SegmentStage.
   */
  segmentStage(P: number): SegmentStage;
}

/**
 * Staged input of one decode (zero-copy receive path). Slot views are views of codec memory: the
 * caller writes all P bytes of FP(x) into slot(x) (or calls put), then decode() solves the frame in
 * place. One decode stage per codec: decodeStage() ends the previous one, whose methods then throw
 * CODEC_STAGE_ENDED and whose views show the new stage's bytes (never write through them).
 * Other codec calls never touch stage memory.
 */
export interface DecodeStage {
  /** L, bytes. */
  readonly frameLength: number;
  /** P = packetSize(L), bytes. */
  readonly packetSize: number;
  /** Distinct keys staged so far. */
  readonly size: number;
  /** The P-byte view of codec memory for FP(x); counts x as staged. Write all P bytes into it. */
  slot(x: number): Uint8Array;
  /** Copies FP(x) (exactly P bytes) into its slot and counts x as staged. */
  put(x: number, packet: Uint8Array): void;
  /** True when x is staged. */
  has(x: number): boolean;
  /** Un-stages x (e.g. to decode without one source's packets); false when it was not staged. */
  delete(x: number): boolean;
  /**
   * Decodes from the staged keys (64 or more; the same keys decodeFrame would use) and returns the
   * frame, L bytes, as a view of codec memory. The view shares memory with the systematic slots:
   * it stays valid until a slot is written, decode()/decodeInto() runs again, or the stage ends.
   */
  decode(): Uint8Array;
  /** As decode(), written into out[0, L) (out.length ≥ L); returns out.subarray(0, L) (out itself when out.length = L). */
  decodeInto(out: Uint8Array): Uint8Array;
}

/**
 * A code segment staged in codec memory, for the holder step. The caller writes all 8·P bytes of
 * CS(c) into `bytes` (e.g. chunk by chunk as they arrive), then asks for any number of seed packets
 * without copying the segment again. One segment stage per codec: segmentStage() ends the previous
 * one (its methods then throw CODEC_STAGE_ENDED and its views show the new stage's bytes).
 */
export interface SegmentStage {
  /** P, bytes. */
  readonly packetSize: number;
  /** The 8·P-byte view of codec memory that holds CS(c). */
  readonly bytes: Uint8Array;
  /**
   * SP(c, g) as a P-byte view of codec memory. Valid until the next seedPacket(), seedPacketInto()
   * or seedPacketsInto() of this codec, a write to `bytes`, or the stage's end; copy it to keep it.
   */
  seedPacket(g: number): Uint8Array;
  /** SP(c, g) written into out[0, P) (out.length ≥ P); returns out.subarray(0, P) (out itself when out.length = P). */
  seedPacketInto(out: Uint8Array, g: number): Uint8Array;
  /**
   * SP(c, gs[i]) for several distinct groups in one product, written at out[i·P, (i+1)·P)
   * (out.length ≥ gs.length·P); returns out.subarray(0, gs.length·P) (out itself when of that length).
   */
  seedPacketsInto(out: Uint8Array, gs: readonly number[]): Uint8Array;
}
