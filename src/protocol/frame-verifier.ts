// Decoding and verifying frames: decode once 64 clean keys and a verified manifest are there,
// hash, deliver on a digest match; on a mismatch leave out one source at a time, then re-encode
// every received key and strike the sources of bad ones. No I/O; owned by PeerCore.

import type { CoreOutput, FrameCodec } from './core-types.ts';
import type { CryptoJob } from './crypto-jobs.ts';
import { pickDecodeSet, type FrameState } from './frame-state.ts';
import type { NeighbourState } from './neighbour-state.ts';
import { FLAG_INIT_SEGMENT, packetSizeOf, type Manifest } from './wire.ts';

/** What a crypto job was for, kept until its result comes back. */
export type PendingJob =
  | { kind: 'manifest'; seq: number; from: string; manifest: Manifest }
  | { kind: 'frame-digest'; seq: number; leaveOut?: string }
  | { kind: 'init-manifest'; from: string; manifest: Manifest; frame: Uint8Array }
  | { kind: 'init-digest'; from: string; manifest: Manifest; frame: Uint8Array };

export interface VerifyHost {
  readonly codec: FrameCodec;
  readonly frames: Map<number, FrameState>;
  readonly neighbours: Map<string, NeighbourState>;
  readonly stats: { framesDelivered: number; framesMissed: number };
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
}

export class FrameVerifier {
  constructor(private readonly h: VerifyHost) {}

  tryDecode(f: FrameState, _nowMs: number): void {
    if (f.state !== 'collecting' || !f.manifest || f.manifestPending || f.have.size < 64) return;
    let leaveOut: string | undefined;
    if (f.trial) {
      const { order, index } = f.trial;
      if (index >= order.length) {
        f.state = 'missed';
        this.h.stats.framesMissed++;
        return;
      }
      // The next source whose packets can be left out with 64 still there goes first; a big
      // source that cannot be left out yet waits for more packets instead of blocking the others.
      let k = index;
      while (k < order.length && !pickDecodeSet(f, order[k])) k++;
      if (k >= order.length) {
        for (let i = index; i < order.length; i++) f.avoid.add(order[i]);
        this.h.askExtraKeys(f, _nowMs);
        return; // not enough packets without any remaining source yet: wait for more
      }
      [order[index], order[k]] = [order[k], order[index]];
      leaveOut = order[index];
      f.trial.excluding = leaveOut;
    }
    const set = pickDecodeSet(f, leaveOut);
    if (!set) return;
    let frame: Uint8Array;
    try {
      frame = this.h.codec.decodeFrame(set, f.manifest.length);
    } catch {
      return;
    }
    f.frame = frame;
    f.usedKeys = [...set.keys()];
    f.state = 'hashing';
    this.h.job({ kind: 'digest', id: 0, data: frame }, { kind: 'frame-digest', seq: f.seq, leaveOut });
  }

  onFrameDigest(p: Extract<PendingJob, { kind: 'frame-digest' }>, digest: Uint8Array, nowMs: number): void {
    const f = this.h.frames.get(p.seq);
    if (!f || f.state !== 'hashing' || !f.manifest || !f.frame) return;
    if (sameBytes(digest, f.manifest.digest)) return this.onVerified(f, nowMs);
    // Pollution: the decode used at least one bad packet. Leave out one source at a time.
    f.frame = undefined;
    f.state = 'collecting';
    if (!f.trial) {
      const counts = new Map<string, number>();
      for (const s of f.from.values()) if (s && !this.h.isBroadcaster(s)) counts.set(s, (counts.get(s) ?? 0) + 1);
      const order = [...counts.keys()].sort((a, b) => this.h.strikesOf(b) - this.h.strikesOf(a) || (counts.get(b) ?? 0) - (counts.get(a) ?? 0));
      f.trial = { order, index: 0 };
    } else {
      f.trial.index++;
    }
    f.extraWant = 16;
    this.h.dirty(f.seq);
    this.tryDecode(f, nowMs);
  }

  private onVerified(f: FrameState, nowMs: number): void {
    const frame = f.frame as Uint8Array;
    const m = f.manifest as Manifest;
    f.state = 'done';
    f.deliveredMs = nowMs;
    this.h.changed(f.seq);
    this.h.releaseInflight(f);
    this.h.finished(f, nowMs);
    // Every received key is now checked exactly by re-encoding it; senders of bad ones get a strike.
    if (f.trial) {
      // A source whose packets are mostly bad made them; one that relayed a few bad ones among
      // good ones only passed them on before it could verify (no strike).
      const total = new Map<string, number>();
      const bad = new Map<string, number>();
      for (const [x, p] of f.packets) {
        const src = f.from.get(x);
        if (!src) continue;
        total.set(src, (total.get(src) ?? 0) + 1);
        if (!sameBytes(p, this.h.codec.feedPacket(frame, x))) bad.set(src, (bad.get(src) ?? 0) + 1);
      }
      for (const [s, n] of bad) if (2 * n > (total.get(s) ?? 0)) this.h.strike(s, `sent bad feed packets for frame ${f.seq}`);
      f.packets.clear();
      f.trial = undefined;
    } else {
      // Spares not used by the decode are unchecked: serve re-encoded copies instead.
      const used = new Set(f.usedKeys);
      for (const x of f.packets.keys()) if (!used.has(x)) f.packets.delete(x);
    }
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
    this.h.changed(f.seq);
    this.tryDecode(f, nowMs);
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
