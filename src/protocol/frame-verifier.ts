// Decoding and verifying frames: decode once 64 clean keys and a verified manifest are there,
// hash, deliver on a digest match. On a mismatch the pollution search locates the corrupted keys
// with the feed code itself (fingerprints and syndromes, locate-bad-keys.ts), leaving whole sources
// out where too many keys are bad to locate at once, asks for more keys while it cannot, and once a
// decode verifies re-encodes every received key and strikes the sources of bad ones. No I/O; owned
// by PeerCore.

import type { CoreOutput, FrameCodec } from './core-types.ts';
import type { CryptoJob } from './crypto-jobs.ts';
import { pickDecodeSet, type FrameState, type PollutionSearch } from './frame-state.ts';
import { cleanSets, fingerprint, fingerprintCoefficients } from './locate-bad-keys.ts';
import { DEFAULT_POLICY } from './neighbour-policy.ts';
import type { NeighbourState } from './neighbour-state.ts';
import { FLAG_INIT_SEGMENT, packetSizeOf, type Manifest } from './wire.ts';

/** What a crypto job was for, kept until its result comes back. */
export type PendingJob =
  | { kind: 'manifest'; seq: number; from: string; manifest: Manifest }
  | { kind: 'frame-digest'; seq: number }
  | { kind: 'init-manifest'; from: string; manifest: Manifest; frame: Uint8Array }
  | { kind: 'init-digest'; from: string; manifest: Manifest; frame: Uint8Array }
  | { kind: 'outside-manifest'; manifest: Manifest; frame: Uint8Array; opened: boolean }
  | { kind: 'outside-digest'; manifest: Manifest; frame: Uint8Array; opened: boolean };

/**
 * Bounds of one pollution search. Sources left out together (erasures, before locating among the
 * rest): 3 finds a group of 3 among 8 neighbours with about 104 keys; locating alone finds any
 * number of bad sources once bad keys ≤ (n − 65)/2. Locations per key count: the CPU bound
 * (1 + 8 + 28 + 56 = 93 for 8 sources, each O(n²)). Keys asked beyond those held when every
 * clean set failed: each 2 locate one more bad key, each 1 erases one more.
 */
export const SEARCH_ERASED_SOURCES = 3;
export const SEARCH_MAX_LOCATES = 128;
export const SEARCH_MORE_KEYS = 16;
/**
 * Bad keys of one frame from a source that had not announced the frame complete, beyond which it
 * is struck: an honest relay may pass on nearly all it sends unverified (the swarm simulator shows
 * honest relays with 45–50 bad keys of 75–92), but never sends one neighbour more than
 * serveKeysPerFrame (96) keys of a frame.
 */
export const RELAY_BAD_KEYS_MAX = DEFAULT_POLICY.serveKeysPerFrame;
/** The clean sets are worked out again once this many more keys are held (not at every key: CPU). */
export const SEARCH_RELOCATE_KEYS = 4;

export interface VerifyHost {
  readonly codec: FrameCodec;
  readonly frames: Map<number, FrameState>;
  readonly neighbours: Map<string, NeighbourState>;
  readonly stats: { framesDelivered: number; framesMissed: number; framesPolluted: number };
  /** The peer's secret for fingerprint coefficients (never sent: polluters cannot aim at it). */
  readonly secret: number;
  frameFor(seq: number, nowMs: number): FrameState | undefined;
  job(job: CryptoJob, p: PendingJob): void;
  emit(o: CoreOutput): void;
  strike(peerId: string, reason: string): void;
  countBad(peerId: string, reason: string): void;
  strikesOf(peerId: string): number;
  /** The broadcaster named by the tracker: the source of the stream, never left out or struck. */
  isBroadcaster(peerId: string): boolean;
  /** The frame's have-state changed (HAVE news). */
  changed(seq: number): void;
  /** The frame needs a scheduling pass. */
  dirty(seq: number): void;
  releaseInflight(f: FrameState): void;
  /** The frame ended (delivered or missed): for the frame history. */
  finished(f: FrameState, nowMs: number): void;
  /** The manifest of seq verified: admit it to the replay window. */
  admit(seq: number): void;
  initSeq(): number | undefined;
  setInit(m: Manifest, frame: Uint8Array): void;
  askExtraKeys(f: FrameState, nowMs: number): void;
  /**
   * The frame's manifest verified: its all-zero systematic keys (past the signed length, see
   * implied-keys.ts) are held from now on as zero packets made here.
   */
  holdImplied(f: FrameState, nowMs: number): void;
  /** Tells the broadcaster that `peerId` sent mostly bad packets of a frame (rate-limited by the host). */
  report(peerId: string): void;
}

const setKey = (keys: Iterable<number>): string => [...keys].join(',');

export class FrameVerifier {
  constructor(private readonly h: VerifyHost) {}

  /** A suspect: a neighbour with a strike (it sent a bad packet a verified frame disproved). */
  private suspect = (src: string): boolean => src !== '' && !this.h.isBroadcaster(src) && this.h.strikesOf(src) > 0;

  tryDecode(f: FrameState, nowMs: number): void {
    if (f.state !== 'collecting' || !f.manifest || f.manifestPending || f.have.size < 64) return;
    if (f.search) return this.searchDecode(f, f.search, nowMs);
    // Suspects' packets are used only when 64 cannot be had without them.
    const set = pickDecodeSet(f, this.suspect) ?? pickDecodeSet(f);
    if (set) this.decode(f, set);
  }

  private decode(f: FrameState, set: Map<number, Uint8Array>): boolean {
    let frame: Uint8Array;
    try {
      frame = this.h.codec.decodeFrame(set, (f.manifest as Manifest).length);
    } catch {
      return false;
    }
    f.frame = frame;
    f.usedKeys = [...set.keys()];
    f.state = 'hashing';
    this.h.job({ kind: 'digest', id: 0, data: frame }, { kind: 'frame-digest', seq: f.seq });
    return true;
  }

  /**
   * The next clean set of the polluted frame whose decode the digest has not rejected yet: worked
   * out again once 2 more keys are held; when none is left, more keys are asked for.
   */
  private searchDecode(f: FrameState, s: PollutionSearch, nowMs: number): void {
    const keys: number[] = [];
    for (const x of f.have.toArray()) if (!f.exclude.has(x) && f.packets.get(x)?.length === f.P) keys.push(x);
    if (!s.sets || keys.length >= s.keysAtLocate + SEARCH_RELOCATE_KEYS) {
      for (const x of keys) if (!s.fingerprints.has(x)) s.fingerprints.set(x, fingerprint(s.coef, f.packets.get(x) as Uint8Array));
      const trusted = (src: string): boolean => src === '' || this.h.isBroadcaster(src);
      const count = new Map<string, number>();
      for (const x of keys) {
        const src = f.from.get(x) ?? '';
        if (!trusted(src)) count.set(src, (count.get(src) ?? 0) + 1);
      }
      const suspects = [...count.keys()].sort((a, b) => this.h.strikesOf(b) - this.h.strikesOf(a) || (count.get(b) ?? 0) - (count.get(a) ?? 0));
      s.keysAtLocate = keys.length;
      s.sets = cleanSets({
        keys,
        fingerprints: s.fingerprints,
        sourceOf: (x) => {
          const src = f.from.get(x) ?? '';
          return trusted(src) ? '' : src;
        },
        suspects,
        maxErased: SEARCH_ERASED_SOURCES,
        maxTries: SEARCH_MAX_LOCATES,
      });
    }
    for (let r = s.sets.next(); !r.done; r = s.sets.next()) {
      s.locates++;
      const set = new Map<number, Uint8Array>();
      for (const x of r.value.keys) {
        set.set(x, f.packets.get(x) as Uint8Array);
        if (set.size === 64) break;
      }
      const id = setKey(set.keys());
      if (s.rejected.has(id)) continue;
      s.decodes++;
      if (this.decode(f, set)) return;
      s.rejected.add(id);
    }
    // Every clean set of these keys failed: ask for more (suspects' keys do not count as held).
    for (const src of f.from.values()) if (this.suspect(src)) f.avoid.add(src);
    const want = Math.min(256 - 64, keys.length + SEARCH_MORE_KEYS - 64);
    if (f.extraWant < want) {
      f.extraWant = want;
      this.h.dirty(f.seq);
    }
    this.h.askExtraKeys(f, nowMs);
  }

  onFrameDigest(p: Extract<PendingJob, { kind: 'frame-digest' }>, digest: Uint8Array, nowMs: number): void {
    const f = this.h.frames.get(p.seq);
    if (!f || f.state !== 'hashing' || !f.manifest || !f.frame) return;
    if (sameBytes(digest, f.manifest.digest)) return this.onVerified(f, nowMs);
    // Pollution: the decode used at least one bad packet. Locate them with the code.
    f.frame = undefined;
    f.state = 'collecting';
    if (!f.search) {
      this.h.stats.framesPolluted++;
      f.search = { coef: fingerprintCoefficients(this.h.secret, f.seq, f.P), fingerprints: new Map(), rejected: new Set(), keysAtLocate: 0, locates: 0, decodes: 1 };
    }
    f.search.rejected.add(setKey(f.usedKeys ?? []));
    this.tryDecode(f, nowMs);
  }

  /**
   * A frame obtained outside the swarm whose manifest signature and SHA-256 this peer checked itself
   * (see PeerCore.handleOutsideFrame): it ends the frame as a decode that verified would, so the
   * frame is delivered, announced complete and served to neighbours (any key, re-encoded from it).
   * False when the frame ended already or its verified manifest differs from this one.
   */
  acceptOutside(f: FrameState, m: Manifest, frame: Uint8Array, nowMs: number): boolean {
    if (f.state === 'done' || f.state === 'missed') return false;
    if (f.manifest && !f.manifestPending && !sameBytes(f.manifest.digest, m.digest)) return false;
    f.manifest = m;
    f.manifestPending = false;
    if (f.manifestOkMs < 0) f.manifestOkMs = nowMs;
    f.P = packetSizeOf(m.length);
    f.frame = frame;
    f.usedKeys = undefined;
    this.onVerified(f, nowMs);
    return true;
  }

  private onVerified(f: FrameState, nowMs: number): void {
    const frame = f.frame as Uint8Array;
    const m = f.manifest as Manifest;
    f.state = 'done';
    f.deliveredMs = nowMs;
    this.h.changed(f.seq);
    this.h.releaseInflight(f);
    this.h.finished(f, nowMs);
    // Received keys are checked exactly by re-encoding them: all of them after a pollution search,
    // else those of suspects (a second proof bans them even when the decode did without them).
    const search = f.search !== undefined;
    const total = new Map<string, number>();
    const bad = new Map<string, number>();
    const proof = new Set<string>();
    for (const [x, p] of f.packets) {
      const src = f.from.get(x);
      if (!src || this.h.isBroadcaster(src) || (!search && !this.suspect(src))) continue;
      total.set(src, (total.get(src) ?? 0) + 1);
      if (sameBytes(p, this.h.codec.feedPacket(frame, x))) continue;
      bad.set(src, (bad.get(src) ?? 0) + 1);
      if (f.vouched?.has(x)) proof.add(src);
    }
    // A bad key sent after its sender announced the frame complete was made from a frame it claimed
    // verified: proof, a strike. Bad keys sent before that may have been relayed unverified (an
    // honest neighbour passes on what polluters pushed to it before it can decode). When most of a
    // source's keys were bad, that is a strike if it is a suspect already (a second frame) or sent
    // more than RELAY_BAD_KEYS_MAX (more than relaying explains); else bad messages, one per 8 keys.
    for (const [src, n] of bad) {
      const mostly = 2 * n > (total.get(src) ?? 0);
      if (proof.has(src) || (mostly && (n > RELAY_BAD_KEYS_MAX || this.suspect(src)))) this.h.strike(src, `sent bad feed packets for frame ${f.seq}`);
      else if (mostly) for (let i = 0; i < n; i += 8) this.h.countBad(src, `passed on bad feed packets for frame ${f.seq}`);
      // The broadcaster hears of it at once: reports from two neighbours take a polluter's direct
      // slot (its keys are withheld or forged) while they last; they never ban (see reports).
      if (mostly || proof.has(src)) this.h.report(src);
    }
    if (search || bad.size > 0) f.packets.clear();
    else {
      // Spares not used by the decode are unchecked: serve re-encoded copies instead.
      const used = new Set(f.usedKeys);
      for (const x of f.packets.keys()) if (!used.has(x)) f.packets.delete(x);
    }
    f.search = undefined;
    f.vouched = undefined;
    // What only collecting needs goes (senders, arrival log, offer times): memory per frame.
    f.from.clear();
    f.usedKeys = undefined;
    f.log = [];
    f.offered = undefined;
    f.offerMs = undefined;
    this.h.stats.framesDelivered++;
    if (m.flags & FLAG_INIT_SEGMENT) {
      if (this.h.initSeq() === m.seq) return; // already delivered through the init exchange
      this.h.setInit(m, frame);
    }
    this.h.emit({ type: 'frame', manifest: m, frame, nowMs });
  }

  onManifest(from: string, m: Manifest, nowMs: number): void {
    const f = this.h.frameFor(m.seq, nowMs);
    if (!f || f.manifest) return;
    this.h.job({ kind: 'verify-manifest', id: 0, manifest: m }, { kind: 'manifest', seq: m.seq, from, manifest: m });
    f.manifest = m;
    f.manifestPending = true;
    f.manifestMs = nowMs;
  }

  onManifestVerified(p: Extract<PendingJob, { kind: 'manifest' }>, valid: boolean, nowMs: number): void {
    const f = this.h.frames.get(p.seq);
    if (!f) return;
    if (!valid) {
      f.manifest = undefined;
      f.manifestPending = false;
      f.manifestAskMs = -Infinity;
      this.h.strike(p.from, 'manifest with a bad signature');
      return;
    }
    f.manifestPending = false;
    f.manifestOkMs = nowMs;
    this.h.admit(p.seq);
    const P = packetSizeOf(p.manifest.length);
    if (f.P !== 0 && f.P !== P) {
      // Packets of the wrong size arrived before the manifest: drop them.
      for (const [x, pk] of f.packets) if (pk.length !== P) {
        f.packets.delete(x);
        f.have.delete(x);
        const s = f.from.get(x);
        if (s) this.h.countBad(s, 'feed packet of the wrong size');
      }
      f.log = f.log.filter((x) => f.have.has(x));
    }
    f.P = P;
    this.h.holdImplied(f, nowMs);
    this.h.changed(f.seq);
    this.tryDecode(f, nowMs);
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
