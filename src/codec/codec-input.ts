// Checks every input of the codec and names what is wrong with a P2PError code (CODEC_*): frame
// and packet sizes, key ranges, key counts. Also picks the keys a decode or a producer step uses.
// Pure; never touches packet bytes beyond their lengths. Used by both codecs (reference and WASM).

import { P2PError } from '../errors.ts';
import { FEED_K, KEYS, SEGMENT_K } from './generators.ts';

/** Largest frame, bytes. */
export const MAX_FRAME_BYTES = 65536;
/** Smallest and largest packet size P, bytes. */
export const MIN_PACKET_BYTES = 128;
export const MAX_PACKET_BYTES = 1024;
/** Seed groups: g ∈ 0..31 names feed keys 8g..8g+7. */
export const GROUPS = KEYS / SEGMENT_K;

/** The stable error codes of the codec (listed in docs/codec.md). */
export const CODEC_ERRORS = {
  badInput: 'CODEC_BAD_INPUT',
  frameLength: 'CODEC_FRAME_LENGTH',
  keyRange: 'CODEC_KEY_RANGE',
  packetSize: 'CODEC_PACKET_SIZE',
  tooFew: 'CODEC_TOO_FEW_KEYS',
  duplicateKey: 'CODEC_DUPLICATE_KEY',
  seedsDisagree: 'CODEC_SEEDS_DISAGREE',
  kernelUnavailable: 'CODEC_KERNEL_UNAVAILABLE',
  internal: 'CODEC_INTERNAL',
  stageEnded: 'CODEC_STAGE_ENDED',
} as const;

/** Packet size P = 128·ceil(L/8192) for a frame of L bytes, 1 ≤ L ≤ 65536. */
export function packetSize(L: number): number {
  if (!Number.isInteger(L) || L < 1 || L > MAX_FRAME_BYTES) {
    throw new P2PError(CODEC_ERRORS.frameLength, `frame length ${String(L)} is outside 1..65536`, { L });
  }
  return 128 * Math.ceil(L / 8192);
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new P2PError(CODEC_ERRORS.badInput, `${what} is not a Uint8Array`);
  return v;
}

/** Checks a frame and returns its packet size P. */
export function checkFrame(frame: Uint8Array): number {
  bytes(frame, 'frame');
  return packetSize(frame.length);
}

/** Checks that k is an integer in 0..limit-1. */
export function checkKey(k: unknown, limit: number, what: string): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= limit) {
    throw new P2PError(CODEC_ERRORS.keyRange, `${what} ${String(k)} is outside 0..${limit - 1}`, { [what]: k });
  }
  return k;
}

/** Checks a list of keys: each in range, no duplicates. */
export function checkKeyList(ks: readonly number[], limit: number, what: string): void {
  if (!Array.isArray(ks)) throw new P2PError(CODEC_ERRORS.badInput, `${what} list is not an array`);
  const seen = new Uint8Array(limit);
  for (const k of ks) {
    checkKey(k, limit, what);
    if (seen[k]) throw new P2PError(CODEC_ERRORS.duplicateKey, `${what} ${k} appears twice`, { [what]: k });
    seen[k] = 1;
  }
}

/** True when n is a valid packet size (a multiple of 128 in 128..1024). */
export function isPacketSize(n: number): boolean {
  return n >= MIN_PACKET_BYTES && n <= MAX_PACKET_BYTES && n % MIN_PACKET_BYTES === 0;
}

/** Checks a code segment (8·P bytes) and returns P. */
export function checkCodeSegment(cs: Uint8Array): number {
  bytes(cs, 'code segment');
  const P = cs.length / 8;
  if (!Number.isInteger(P) || !isPacketSize(P)) {
    throw new P2PError(CODEC_ERRORS.packetSize, `code segment of ${cs.length} bytes is not 8·P with P in 128..1024`);
  }
  return P;
}

function checkMap(m: unknown, what: string): Map<number, Uint8Array> {
  if (!(m instanceof Map)) throw new P2PError(CODEC_ERRORS.badInput, `${what} is not a Map`);
  return m as Map<number, Uint8Array>;
}

/** Seeds of one producer step, keys ascending. */
export interface SeedSet {
  keys: number[];
  seeds: Uint8Array[];
  P: number;
}

/** Checks a producer step's input: 8 or more seeds of equal valid size P, keys c in 0..255. */
export function checkSeeds(seeds: Map<number, Uint8Array>, g: number): SeedSet {
  checkMap(seeds, 'seeds');
  checkKey(g, GROUPS, 'g');
  if (seeds.size < SEGMENT_K) {
    throw new P2PError(CODEC_ERRORS.tooFew, `${seeds.size} seed packets, 8 needed`, { count: seeds.size });
  }
  const keys = [...seeds.keys()].sort((a, b) => a - b);
  let P = -1;
  for (const c of keys) {
    checkKey(c, KEYS, 'c');
    const s = bytes(seeds.get(c), `seed packet ${c}`);
    if (P < 0) P = s.length;
    if (s.length !== P || !isPacketSize(P)) {
      throw new P2PError(CODEC_ERRORS.packetSize, `seed packet ${c} has ${s.length} bytes`, { c, bytes: s.length });
    }
  }
  return { keys, seeds: keys.map((c) => seeds.get(c) as Uint8Array), P };
}

/** The keys a decode uses: systematic parts present and missing, and one coded key per missing part. */
export interface DecodePlan {
  P: number;
  /** Parts j < 64 that arrived, ascending. */
  present: number[];
  /** Parts j < 64 that are missing, ascending. */
  missing: number[];
  /** Coded keys x ≥ 64 used to solve for the missing parts (the lowest ones), ascending. */
  coded: number[];
  /** Names the set of keys used (present ∪ coded): equal ids, equal decode matrices. */
  id: string;
  /** The packets by key (x → FP(x)), for the keys that arrived. */
  byKey: Uint8Array[];
}

/**
 * The keys a decode uses, in arrays made once and refilled per decode (no allocation per call):
 * the first nPresent of `present`, the first nMissing of `missing` and of `coded`.
 */
export class KeyPlan {
  nPresent = 0;
  nMissing = 0;
  /** Parts j < 64 that arrived, ascending. */
  readonly present = new Uint8Array(FEED_K);
  /** Parts j < 64 that are missing, ascending. */
  readonly missing = new Uint8Array(FEED_K);
  /** Coded keys x ≥ 64 (the lowest that arrived) that solve for the missing parts, ascending. */
  readonly coded = new Uint8Array(FEED_K);
  /** The keys used (present ∪ coded) as a bit set: equal sets, equal decode matrices. */
  readonly used = new Uint16Array(KEYS / 16);

  /** Plans from `seen` (seen[x] = 1 for every key that arrived; at least 64 of them). */
  fill(seen: Uint8Array): void {
    const used = this.used;
    used.fill(0);
    let np = 0;
    let nm = 0;
    for (let j = 0; j < FEED_K; j++) {
      if (seen[j] === 1) { this.present[np++] = j; used[j >> 4] |= 1 << (j & 15); } else this.missing[nm++] = j;
    }
    let nc = 0;
    for (let x = FEED_K; x < KEYS && nc < nm; x++) {
      if (seen[x] === 1) { this.coded[nc++] = x; used[x >> 4] |= 1 << (x & 15); }
    }
    this.nPresent = np;
    this.nMissing = nm;
  }

  /** The key set as a string (a cache key). */
  id(): string {
    return String.fromCharCode.apply(null, this.used as unknown as number[]);
  }

  /** True when `words` (a copy of an earlier `used`) names the same key set. */
  sameKeys(words: Uint16Array): boolean {
    const used = this.used;
    for (let i = 0; i < used.length; i++) if (used[i] !== words[i]) return false;
    return true;
  }
}

// State of the one packet check running (JavaScript is single-threaded and the check never
// calls out), so Map.forEach gets one function made once instead of a closure per call.
let entryP = 0;
let entrySeen: Uint8Array = new Uint8Array(KEYS);
let entryByKey: (Uint8Array | undefined)[] | null = null;
let entryMem: Uint8Array | null = null;
let entrySys = 0;
let entryCoded = 0;

function checkEntry(p: unknown, x: unknown): void {
  checkKey(x, KEYS, 'x');
  if (!(p instanceof Uint8Array)) throw new P2PError(CODEC_ERRORS.badInput, `feed packet ${String(x)} is not a Uint8Array`);
  const P = entryP;
  if (p.length !== P) {
    throw new P2PError(CODEC_ERRORS.packetSize, `feed packet ${String(x)} has ${p.length} bytes, ${P} expected`, { x, bytes: p.length, P });
  }
  const k = x as number;
  entrySeen[k] = 1;
  if (entryMem !== null) entryMem.set(p, k < FEED_K ? entrySys + k * P : entryCoded + (k - FEED_K) * P);
  else if (entryByKey !== null) entryByKey[k] = p;
}

/** Where checkPackets puts the packets: by key into an array, or copied into memory. */
export type PacketSink =
  | { byKey: (Uint8Array | undefined)[] }
  | { mem: Uint8Array; sys: number; coded: number };

/**
 * Checks a decode's input (64+ distinct keys in 0..255, every packet P = packetSize(L) bytes) in
 * O(number of packets), never reading packet bytes, and sets seen[x] = 1 for every key (seen is
 * cleared first). Each packet goes to `sink`: byKey[x] = FP(x) (the caller clears byKey), or a copy
 * at mem[sys + x·P] (x < 64) or mem[coded + (x − 64)·P]. Returns P.
 */
export function checkPackets(packets: Map<number, Uint8Array>, L: number, seen: Uint8Array, sink: PacketSink): number {
  checkMap(packets, 'packets');
  const P = packetSize(L);
  seen.fill(0);
  entryP = P;
  entrySeen = seen;
  if ('mem' in sink) { entryMem = sink.mem; entrySys = sink.sys; entryCoded = sink.coded; } else entryByKey = sink.byKey;
  try {
    packets.forEach(checkEntry);
  } finally {
    entryMem = null;
    entryByKey = null;
  }
  if (packets.size < FEED_K) {
    throw new P2PError(CODEC_ERRORS.tooFew, `${packets.size} feed packets, 64 needed`, { count: packets.size });
  }
  return P;
}

const planSeen = new Uint8Array(KEYS);
const planKeys = new KeyPlan();

/** Checks a decode's input (64+ distinct keys, every packet P = packetSize(L) bytes) and plans it. */
export function planDecode(packets: Map<number, Uint8Array>, L: number): DecodePlan {
  const byKey: Uint8Array[] = new Array(KEYS);
  const P = checkPackets(packets, L, planSeen, { byKey });
  planKeys.fill(planSeen);
  const { nPresent, nMissing } = planKeys;
  return {
    P,
    present: Array.from(planKeys.present.subarray(0, nPresent)),
    missing: Array.from(planKeys.missing.subarray(0, nMissing)),
    coded: Array.from(planKeys.coded.subarray(0, nMissing)),
    id: planKeys.id(),
    byKey,
  };
}

/** Checks the output buffer of decodeFrameInto: a Uint8Array of at least L bytes. */
export function checkFrameOut(out: Uint8Array, L: number): void {
  if (!(out instanceof Uint8Array)) throw new P2PError(CODEC_ERRORS.badInput, 'output buffer is not a Uint8Array');
  if (out.length < L) throw new P2PError(CODEC_ERRORS.badInput, `output buffer of ${out.length} bytes is shorter than the frame (${L})`, { bytes: out.length, L });
}

/** True when a and b hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
