// The staged API of both codecs (DecodeStage, SegmentStage): bookkeeping of staged keys, the views
// of stage memory (made once per packet size and key, then reused), argument checks and the
// "one stage of each kind per codec" rule. The arithmetic is the backend's (kernel or reference).
// Used by wasm-codec.ts and reference-codec.ts.

import { P2PError } from '../errors.ts';
import { CODEC_ERRORS, checkFrameOut, checkKey, checkKeyList, GROUPS, isPacketSize, KeyPlan, MAX_PACKET_BYTES, packetSize } from './codec-input.ts';
import type { DecodeStage, SegmentStage } from './codec.ts';
import { FEED_K, KEYS, SEGMENT_K } from './generators.ts';

const KIB = 1024;
/** Offsets in stage memory: systematic slots (64·P, the frame is solved in place), coded slots
 * (x − 64)·P, the staged code segment (8·P) and seed packets (up to 32 of P). */
export const STAGE_SYS = 0;
export const STAGE_CODED = 64 * KIB;
export const STAGE_SEG = 256 * KIB;
export const STAGE_SEED = 264 * KIB;
export const STAGE_BYTES = 296 * KIB;

/** What a codec gives its stages: the memory they live in and the two products. */
export interface StageBackend {
  /** Memory holding the stage regions, from `base`. */
  readonly mem: Uint8Array;
  readonly base: number;
  /** Writes the parts plan.missing[0..nMissing) into their systematic slots (nMissing ≥ 1). */
  solve(plan: KeyPlan, P: number): void;
  /** Writes SP(c, g), g ≥ 8, of the staged segment of packet size P into the seed region. */
  seed(P: number, g: number): void;
  /** Writes SP(c, gs[k]) for the first n groups listed (all ≥ 8, distinct) at seed region + k·P. */
  seeds(P: number, gs: readonly number[], n: number): void;
}

export interface Stages {
  decodeStage(L: number): DecodeStage;
  segmentStage(P: number): SegmentStage;
}

const sizeIndex = (P: number): number => P / 128 - 1;
const ended = (what: string): P2PError => new P2PError(CODEC_ERRORS.stageEnded, `this ${what} stage has ended (a newer one began)`);

/** The stage memory of one codec, its views (made once, then reused) and the staged keys. */
class StageState {
  readonly seen = new Uint8Array(KEYS);
  readonly plan = new KeyPlan();
  count = 0;
  decodeGen = 0;
  segmentGen = 0;
  /** The live stages. Holding one instance of each kind also keeps its hidden class alive across
   * garbage collections, so optimised callers are not thrown away each time the last one dies. */
  decodeStage: DecodeStage | null = null;
  segmentStage: SegmentStage | null = null;
  private frameView: Uint8Array;
  // Views made once: slots per (P, x), segment bytes and seed output per P, segment parts per (P, g < 8).
  private readonly slotViews: Uint8Array[][] = Array.from({ length: 8 }, () => new Array<Uint8Array>(KEYS));
  private readonly segViews: Uint8Array[] = new Array(8);
  private readonly seedViews: Uint8Array[] = new Array(8);
  private readonly seedRegions: Uint8Array[] = new Array(8);
  private readonly partViews: Uint8Array[][] = Array.from({ length: 8 }, () => new Array<Uint8Array>(SEGMENT_K));

  constructor(readonly b: StageBackend) {
    this.frameView = this.view(STAGE_SYS, 0);
  }
  view(off: number, n: number): Uint8Array {
    return this.b.mem.subarray(this.b.base + off, this.b.base + off + n);
  }
  slot(P: number, x: number): Uint8Array {
    const row = this.slotViews[sizeIndex(P)];
    return row[x] ?? (row[x] = this.view(x < FEED_K ? STAGE_SYS + x * P : STAGE_CODED + (x - FEED_K) * P, P));
  }
  frame(L: number): Uint8Array {
    if (this.frameView.length !== L) this.frameView = this.view(STAGE_SYS, L);
    return this.frameView;
  }
  segment(P: number): Uint8Array {
    const i = sizeIndex(P);
    return this.segViews[i] ?? (this.segViews[i] = this.view(STAGE_SEG, SEGMENT_K * P));
  }
  part(P: number, g: number): Uint8Array {
    const row = this.partViews[sizeIndex(P)];
    return row[g] ?? (row[g] = this.view(STAGE_SEG + g * P, P));
  }
  seed(P: number): Uint8Array {
    const i = sizeIndex(P);
    return this.seedViews[i] ?? (this.seedViews[i] = this.view(STAGE_SEED, P));
  }
  /** The whole seed region (32 packets of P). */
  seeds(P: number): Uint8Array {
    const i = sizeIndex(P);
    return this.seedRegions[i] ?? (this.seedRegions[i] = this.view(STAGE_SEED, GROUPS * P));
  }
  readonly codedGroups: number[] = new Array<number>(GROUPS).fill(0);
  mark(x: number): void {
    if (this.seen[x] === 0) { this.seen[x] = 1; this.count++; }
  }
  /** Fills the missing systematic slots (64+ keys staged). */
  solve(P: number): void {
    if (this.count < FEED_K) {
      throw new P2PError(CODEC_ERRORS.tooFew, `${this.count} feed packets staged, 64 needed`, { count: this.count });
    }
    this.plan.fill(this.seen);
    if (this.plan.nMissing > 0) this.b.solve(this.plan, P);
  }
}

class Decode implements DecodeStage {
  readonly packetSize: number;
  constructor(private readonly s: StageState, readonly frameLength: number, private readonly gen: number) {
    this.packetSize = packetSize(frameLength);
  }
  private live(): StageState {
    if (this.gen !== this.s.decodeGen) throw ended('decode');
    return this.s;
  }
  get size(): number {
    return this.live().count;
  }
  slot(x: number): Uint8Array {
    const s = this.live();
    checkKey(x, KEYS, 'x');
    s.mark(x);
    return s.slot(this.packetSize, x);
  }
  put(x: number, packet: Uint8Array): void {
    const s = this.live();
    checkKey(x, KEYS, 'x');
    if (!(packet instanceof Uint8Array)) throw new P2PError(CODEC_ERRORS.badInput, `feed packet ${x} is not a Uint8Array`);
    const P = this.packetSize;
    if (packet.length !== P) {
      throw new P2PError(CODEC_ERRORS.packetSize, `feed packet ${x} has ${packet.length} bytes, ${P} expected`, { x, bytes: packet.length, P });
    }
    s.slot(P, x).set(packet);
    s.mark(x);
  }
  has(x: number): boolean {
    const s = this.live();
    checkKey(x, KEYS, 'x');
    return s.seen[x] === 1;
  }
  delete(x: number): boolean {
    const s = this.live();
    checkKey(x, KEYS, 'x');
    if (s.seen[x] === 0) return false;
    s.seen[x] = 0;
    s.count--;
    return true;
  }
  decode(): Uint8Array {
    const s = this.live();
    s.solve(this.packetSize);
    return s.frame(this.frameLength);
  }
  decodeInto(out: Uint8Array): Uint8Array {
    const s = this.live();
    const L = this.frameLength;
    if (s.count >= FEED_K) checkFrameOut(out, L);
    s.solve(this.packetSize);
    out.set(s.frame(L));
    return out.length === L ? out : out.subarray(0, L);
  }
}

class Segment implements SegmentStage {
  readonly bytes: Uint8Array;
  constructor(private readonly s: StageState, readonly packetSize: number, private readonly gen: number) {
    this.bytes = s.segment(packetSize);
  }
  private live(): StageState {
    if (this.gen !== this.s.segmentGen) throw ended('segment');
    return this.s;
  }
  seedPacket(g: number): Uint8Array {
    const s = this.live();
    checkKey(g, GROUPS, 'g');
    const P = this.packetSize;
    if (g < SEGMENT_K) return s.part(P, g);
    s.b.seed(P, g);
    return s.seed(P);
  }
  seedPacketInto(out: Uint8Array, g: number): Uint8Array {
    this.live();
    checkKey(g, GROUPS, 'g');
    const P = this.packetSize;
    if (!(out instanceof Uint8Array)) throw new P2PError(CODEC_ERRORS.badInput, 'output buffer is not a Uint8Array');
    if (out.length < P) throw new P2PError(CODEC_ERRORS.badInput, `output buffer of ${out.length} bytes is shorter than a seed packet (${P})`, { bytes: out.length, P });
    out.set(this.seedPacket(g));
    return out.length === P ? out : out.subarray(0, P);
  }
  seedPacketsInto(out: Uint8Array, gs: readonly number[]): Uint8Array {
    const s = this.live();
    checkKeyList(gs, GROUPS, 'g');
    const P = this.packetSize;
    const n = gs.length;
    if (!(out instanceof Uint8Array)) throw new P2PError(CODEC_ERRORS.badInput, 'output buffer is not a Uint8Array');
    if (out.length < n * P) throw new P2PError(CODEC_ERRORS.badInput, `output buffer of ${out.length} bytes is shorter than ${n} seed packets (${n * P})`, { bytes: out.length, P });
    // The coded groups (g ≥ 8) in one product, in list order; the copies (g < 8) straight from the segment.
    const coded = s.codedGroups;
    let k = 0;
    for (let i = 0; i < n; i++) if (gs[i] >= SEGMENT_K) coded[k++] = gs[i];
    if (k > 0) s.b.seeds(P, coded, k);
    const seeds = s.seeds(P);
    k = 0;
    for (let i = 0; i < n;) {
      if (gs[i] < SEGMENT_K) { out.set(s.part(P, gs[i]), i * P); i++; continue; }
      // A run of coded groups lies contiguous in the seed region: one copy.
      let end = i + 1;
      while (end < n && gs[end] >= SEGMENT_K) end++;
      out.set(seeds.subarray(k * P, (k + end - i) * P), i * P);
      k += end - i;
      i = end;
    }
    return out.length === n * P ? out : out.subarray(0, n * P);
  }
}

/** The staged API over a backend (one decode stage and one segment stage at a time). */
export function createStages(b: StageBackend): Stages {
  const s = new StageState(b);
  return {
    decodeStage(L: number): DecodeStage {
      const stage = new Decode(s, L, s.decodeGen + 1); // checks L before the old stage ends
      s.decodeGen++;
      s.seen.fill(0);
      s.count = 0;
      s.decodeStage = stage;
      return stage;
    },
    segmentStage(P: number): SegmentStage {
      if (typeof P !== 'number' || !Number.isInteger(P) || !isPacketSize(P) || P > MAX_PACKET_BYTES) {
        throw new P2PError(CODEC_ERRORS.packetSize, `packet size ${String(P)} is not a multiple of 128 in 128..1024`, { P });
      }
      const stage = new Segment(s, P, s.segmentGen + 1);
      s.segmentGen++;
      s.segmentStage = stage;
      return stage;
    },
  };
}
