// What a peer knows about one frame while it collects, decodes, verifies and then serves it, and
// the narrow context the role helpers (holder, producer) use to reach the peer core. Data and
// small pure helpers only; the peer core owns the life cycle. Used by peer-core.ts and the roles.

import type { ComplaintEvidence, PeerCoreConfig, FrameCodec } from './core-types.ts';
import { KeySet } from './key-set.ts';
import type { CleanSet } from './locate-bad-keys.ts';
import type { Manifest, WireMessage } from './wire.ts';

export interface CsAssembly {
  chunks: Array<Uint8Array | undefined>;
  got: number;
  firstMs: number;
  repairs: number;
  done: boolean;
  /** The whole segment once done, kept while the frame is, for producers subscribing late. */
  cs?: Uint8Array;
}

export interface SeedAssembly {
  seeds: Map<number, Uint8Array>;
  from: Map<number, string>;
  /** When the 8th seed arrived (grace for spares starts), −1 before. */
  fullMs: number;
  done: boolean;
  /** When the group's feed packets were made (diagnostics), −1 before. */
  madeMs?: number;
  /** When the first seed arrived (or the frame began, if none has), and seed requests sent since. */
  firstMs: number;
  repairs: number;
}

export interface FrameState {
  seq: number;
  firstSeenMs: number;
  /** The neighbour whose message opened this frame ('' the broadcaster or this peer). */
  openedBy: string;
  manifest?: Manifest;
  manifestPending: boolean;
  manifestAskMs: number;
  /** Whom the manifest was last asked of ('' none): its leaving sends the question elsewhere at once. */
  manifestAskedOf: string;
  /** Packet size P once known (from the manifest or the first feed packet), else 0. */
  P: number;
  packets: Map<number, Uint8Array>;
  /** Sender of each received key ('' for keys made here: produced or re-encoded). */
  from: Map<number, string>;
  have: KeySet;
  /** Keys in the order they arrived (HAVE deltas are cursors into it). */
  log: number[];
  /** Keys asked for and not yet arrived or timed out: of whom, when, until when. */
  inflight: InflightKeys;
  /** The in-flight keys as a set (the same object as `inflight.set`). */
  inflightSet: KeySet;
  /** Keys never to use for this frame (found bad). */
  exclude: KeySet;
  /** Neighbours not to ask for this frame (under suspicion). */
  avoid: Set<string>;
  state: 'collecting' | 'hashing' | 'done' | 'missed';
  frame?: Uint8Array;
  /** Keys the last decode used. */
  usedKeys?: number[];
  deliveredMs: number;
  /** When the 64th distinct key and the manifest arrived, and when its signature checked out (-1: not yet). */
  keysMs: number;
  manifestMs: number;
  manifestOkMs: number;
  /** Pollution search, after a decode's digest mismatched its manifest (see frame-verifier.ts). */
  search?: PollutionSearch;
  /** Keys received from a neighbour that had announced the frame complete (made from a verified frame). */
  vouched?: KeySet;
  extraWant: number;
  /** Extra keys beyond the direct set were asked of the broadcaster. */
  extraAsked?: boolean;
  /** Direct feed: when to next check this viewer's slot keys, repairs asked. */
  directRepairAtMs: number;
  directRepairs: number;
  cs?: Map<number, CsAssembly>;
  /** Seed packets this peer's holder role re-sent on request (bounded per frame). */
  seedResends?: number;
  seeds?: Map<number, SeedAssembly>;
  /** Holders a seed of this frame came from (any group), and whether that was judged yet. */
  seedFrom?: Set<string>;
  seedsJudged?: boolean;
  /** Keys some neighbour (or this peer) offered already (push parents learn from first offers). */
  offered?: KeySet;
  /** When keys were first offered, for the push wait (see push-subscriptions.ts). */
  offerMs?: Uint16Array;
}

/**
 * A frame's pollution search: the secret fingerprint coefficients of this frame, the fingerprint of
 * each received key, the decode sets the digest rejected, and the clean sets still to try for the
 * keys held when it last located (see locate-bad-keys.ts).
 */
export interface PollutionSearch {
  coef: Uint8Array;
  fingerprints: Map<number, Uint8Array>;
  rejected: Set<string>;
  /** Keys held when the clean sets were last worked out (each 2 more locate one more bad key). */
  keysAtLocate: number;
  sets?: Generator<CleanSet>;
  /** Locations run, decodes tried (diagnostics and the benchmark). */
  locates: number;
  decodes: number;
}

/**
 * A frame's keys in flight, indexed by key rather than kept in a map of records: every feed packet
 * looks its key up here, and a peer asks for thousands of keys a second. The per-key arrays exist
 * only while some key is in flight (a collecting frame), so decoded frames keep nothing.
 */
export class InflightKeys {
  readonly set = new KeySet();
  private peers: Array<string | undefined> | undefined;
  /** [2x] when key x was asked for, [2x + 1] when that request expires. */
  private times: Float64Array | undefined;

  get size(): number {
    return this.set.size;
  }

  has(x: number): boolean {
    return this.set.has(x);
  }

  /** Records (or re-records) key x as asked of `peerId` at `sentMs`, expiring at `expiresMs`. */
  add(x: number, peerId: string, sentMs: number, expiresMs: number): void {
    if (this.peers === undefined) {
      this.peers = new Array<string | undefined>(256).fill(undefined);
      this.times = new Float64Array(512);
    }
    this.set.add(x);
    this.peers[x] = peerId;
    (this.times as Float64Array)[2 * x] = sentMs;
    (this.times as Float64Array)[2 * x + 1] = expiresMs;
  }

  /** Who key x was asked of; undefined when x is not in flight. */
  peerOf(x: number): string | undefined {
    return this.set.has(x) ? this.peers?.[x] : undefined;
  }

  sentMs(x: number): number {
    return (this.times as Float64Array)[2 * x];
  }

  expiresMs(x: number): number {
    return (this.times as Float64Array)[2 * x + 1];
  }

  delete(x: number): boolean {
    if (!this.set.delete(x)) return false;
    (this.peers as Array<string | undefined>)[x] = undefined;
    return true;
  }

  /** Keys in flight, ascending (a copy: the caller may delete while walking it). */
  keys(): number[] {
    return this.set.toArray();
  }

  clear(): void {
    this.set.clear();
    this.peers = undefined;
    this.times = undefined;
  }
}

export function newFrameState(seq: number, nowMs: number, directRepairDelayMs: number): FrameState {
  const inflight = new InflightKeys();
  return {
    seq,
    firstSeenMs: nowMs,
    openedBy: '',
    manifestPending: false,
    manifestAskMs: -Infinity,
    manifestAskedOf: '',
    P: 0,
    packets: new Map(),
    from: new Map(),
    have: new KeySet(),
    log: [],
    inflight,
    inflightSet: inflight.set,
    exclude: new KeySet(),
    avoid: new Set(),
    state: 'collecting',
    deliveredMs: -1,
    keysMs: -1,
    manifestMs: -1,
    manifestOkMs: -1,
    extraWant: 0,
    directRepairAtMs: nowMs + directRepairDelayMs,
    directRepairs: 0,
  };
}

/**
 * The 64 packets a decode uses: systematic keys first, then the lowest coded keys, skipping
 * excluded keys and packets from sources `leaveOut` names. Undefined when fewer than 64 qualify.
 */
export function pickDecodeSet(f: FrameState, leaveOut?: (source: string) => boolean): Map<number, Uint8Array> | undefined {
  const out = new Map<number, Uint8Array>();
  for (const x of f.have.toArray()) {
    if (f.exclude.has(x)) continue;
    if (leaveOut !== undefined && leaveOut(f.from.get(x) ?? '')) continue;
    const p = f.packets.get(x);
    if (!p || p.length !== f.P) continue;
    out.set(x, p);
    if (out.size === 64) return out;
  }
  return undefined;
}

/** Feed keys a directly fed viewer's slot covers in frame `seq`. */
export function directSlotKeys(seq: number, slot: number, slots: number, keys: number): number[] {
  const out: number[] = [];
  if (slots <= 0) return out;
  for (let k = 0; k < keys; k++) if ((k + seq) % slots === slot) out.push(k);
  return out;
}

/** What the role helpers may do through the peer core. */
export interface CoreContext {
  readonly cfg: PeerCoreConfig;
  readonly codec: FrameCodec;
  sendControl(peerId: string, message: WireMessage): void;
  sendMedia(peerId: string, message: WireMessage, expiresMs: number): void;
  /** The frame's state, created when the seq is plausible; undefined when refused. */
  frameFor(seq: number, nowMs: number): FrameState | undefined;
  /** Adds feed packets made here (a producer's output) to a frame. */
  addOwnPackets(f: FrameState, packets: Map<number, Uint8Array>, nowMs: number): void;
  strike(peerId: string, reason: string): void;
  countBad(peerId: string, reason: string): void;
  isConnected(peerId: string): boolean;
  isBroadcaster(peerId: string): boolean;
  frames(): Iterable<FrameState>;
  /** Tells the tracker about a holder this producer stopped using (see CoreOutput `complaint`). */
  complain(peerId: string, reason: 'withholding' | 'corrupt', evidence: ComplaintEvidence): void;
}
