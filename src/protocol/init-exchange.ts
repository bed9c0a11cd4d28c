// The init-segment exchange of a viewer: keeps the newest verified init segment, announces its seq
// in HELLO, asks the neighbour announcing the newest one for it (retried after retryMs), serves it
// once per seq to a neighbour that asks, and verifies a received one (signature, then digest)
// before delivering it. No I/O; owned and driven by PeerCore.

import type { CoreOutput, PeerCoreConfig } from './core-types.ts';
import type { CryptoJob } from './crypto-jobs.ts';
import type { FrameState } from './frame-state.ts';
import { sameBytes, type PendingJob } from './frame-verifier.ts';
import type { NeighbourState } from './neighbour-state.ts';
import { FLAG_INIT_SEGMENT, NO_SEQ, type Manifest, type WireMessage } from './wire.ts';

type InitJob = Extract<PendingJob, { kind: 'init-manifest' | 'init-digest' }>;

export interface InitHost {
  readonly cfg: PeerCoreConfig;
  readonly neighbours: Map<string, NeighbourState>;
  readonly frames: Map<number, FrameState>;
  sendControl(peerId: string, m: WireMessage): void;
  job(job: CryptoJob, p: PendingJob): void;
  emit(o: CoreOutput): void;
  strike(peerId: string, reason: string): void;
  countBad(peerId: string, reason: string): void;
  /** The policy's budget: may the init segment of seq go to this neighbour (once per seq)? */
  mayServe(peerId: string, seq: number): boolean;
}

export class InitExchange {
  private init: { manifest: Manifest; frame: Uint8Array } | undefined;
  private ask: { peerId: string; atMs: number; seq: number } | undefined;

  constructor(private readonly h: InitHost) {}

  /** Seq of the init segment held, NO_SEQ when none (for HELLO). */
  get seq(): number {
    return this.init ? this.init.manifest.seq : NO_SEQ;
  }

  /** An init-segment request is outstanding (the core keeps ticking for its retry). */
  get asking(): boolean {
    return this.ask !== undefined;
  }

  onDisconnected(peerId: string): void {
    if (this.ask?.peerId === peerId) this.ask = undefined;
  }

  onRequest(from: string, _n: NeighbourState, seq: number): void {
    if (!this.init || seq > this.init.manifest.seq) return;
    if (!this.h.mayServe(from, this.init.manifest.seq)) return this.h.countBad(from, 'init segment asked again');
    this.h.sendControl(from, { type: 'init-segment', manifest: this.init.manifest, frame: this.init.frame });
  }

  onSegment(from: string, manifest: Manifest, frame: Uint8Array): void {
    if (this.init && this.init.manifest.seq >= manifest.seq) return;
    if (!(manifest.flags & FLAG_INIT_SEGMENT)) return this.h.countBad(from, 'init segment without the init flag');
    this.h.job({ kind: 'verify-manifest', id: 0, manifest }, { kind: 'init-manifest', from, manifest, frame: frame.slice() });
  }

  /** A crypto result for an init job: verified signature, then digest; delivers on a match. */
  onJobResult(p: InitJob, r: { kind: 'verify-manifest'; valid: boolean } | { kind: 'digest'; digest: Uint8Array }, nowMs: number): void {
    if (p.kind === 'init-manifest' && r.kind === 'verify-manifest') {
      if (!r.valid) return this.h.strike(p.from, 'init segment with a bad signature');
      this.h.job({ kind: 'digest', id: 0, data: p.frame }, { ...p, kind: 'init-digest' });
    } else if (p.kind === 'init-digest' && r.kind === 'digest') {
      if (!sameBytes(r.digest, p.manifest.digest)) return this.h.strike(p.from, 'init segment does not match its manifest');
      if (this.init && this.init.manifest.seq >= p.manifest.seq) return;
      this.set(p.manifest, p.frame);
      this.ask = undefined;
      const f = this.h.frames.get(p.manifest.seq);
      if (!f || f.state !== 'done') this.h.emit({ type: 'frame', manifest: p.manifest, frame: p.frame, nowMs });
    }
  }

  /** Keeps the newest init segment and tells the neighbours, so late joiners can fetch it. */
  set(m: Manifest, frame: Uint8Array): void {
    if (this.init && this.init.manifest.seq >= m.seq) return;
    this.init = { manifest: m, frame };
    for (const n of this.h.neighbours.values()) if (!n.isBroadcaster) this.h.sendControl(n.peerId, { type: 'hello', initSeq: m.seq, roles: 0 });
  }

  /** Asks the neighbour announcing the newest init segment we lack (again after retryMs, elsewhere). */
  maybeAsk(nowMs: number): void {
    const have = this.init ? this.init.manifest.seq : -1;
    if (this.ask && nowMs - this.ask.atMs < this.h.cfg.retryMs) return;
    let best: { peerId: string; seq: number } | undefined;
    for (const n of this.h.neighbours.values()) {
      if (n.initSeq === NO_SEQ || n.initSeq <= have || n.peerId === this.ask?.peerId) continue;
      if (!best || n.initSeq > best.seq) best = { peerId: n.peerId, seq: n.initSeq };
    }
    if (!best) {
      this.ask = undefined;
      return;
    }
    this.ask = { peerId: best.peerId, atMs: nowMs, seq: best.seq };
    this.h.sendControl(best.peerId, { type: 'init-request', seq: best.seq });
  }
}
