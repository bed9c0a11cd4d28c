// The holder role of a peer: assembles the code segments CS(c) the broadcaster sends for the keys
// it holds, asks the broadcaster for lost chunks, and pushes SP(c, g) to every producer with a
// standing subscription to group g, and to this peer's own producer role. A producer subscribing
// late gets the seeds of the frames still in flight too. No I/O; driven by the peer core through
// CoreContext.

import type { CoreContext, CsAssembly, FrameState } from './frame-state.ts';
import { CS_CHUNK_BYTES, type WireMessage } from './wire.ts';

type Chunk = Extract<WireMessage, { type: 'cs-chunk' }>;

export class HolderRole {
  readonly keys = new Set<number>();
  /** producer peer → groups it subscribed to */
  readonly subscribers = new Map<string, Set<number>>();
  private readonly lastSeq = new Map<number, number>();
  seedsSent = 0;
  /** A code segment is whole (this peer's own producer role makes its seeds from it). */
  onSegment?: (f: FrameState, c: number, cs: Uint8Array, nowMs: number) => void;

  constructor(private readonly ctx: CoreContext) {}

  setKeys(keys: readonly number[]): void {
    this.keys.clear();
    for (const c of keys) this.keys.add(c);
  }

  /**
   * A producer's standing subscription to group g (or its end). Frames from `fromSeq` on whose
   * segments are already whole get their seeds now (at most backfillFrames of them): a producer
   * that took over a group mid-frame can still make that frame's keys.
   */
  onSubscribe(from: string, g: number, on: boolean, fromSeq: number, nowMs: number): void {
    let gs = this.subscribers.get(from);
    if (on) {
      if (!gs) this.subscribers.set(from, (gs = new Set()));
      if (gs.has(g)) return;
      gs.add(g);
      let n = 0;
      const expires = nowMs + this.ctx.cfg.frameLifetimeMs / 2;
      for (const f of this.ctx.frames()) {
        if (n >= this.ctx.cfg.backfillFrames) break;
        if (!f.cs || f.seq < fromSeq || nowMs - f.firstSeenMs > this.ctx.cfg.frameLifetimeMs) continue;
        n++;
        for (const [c, a] of f.cs) {
          if (!a.cs || !this.keys.has(c)) continue;
          this.seedsSent++;
          this.ctx.sendMedia(from, { type: 'seed', seq: f.seq, c, g, payload: this.ctx.codec.seedPacket(a.cs, g) }, expires);
        }
      }
    } else if (gs) {
      gs.delete(g);
      if (gs.size === 0) this.subscribers.delete(from);
    }
  }

  onDisconnected(peerId: string): void {
    this.subscribers.delete(peerId);
  }

  /**
   * A subscribed producer lost seeds of frame `seq` for group g: the seeds of every key held here
   * whose segment is whole go again (at most maxSeedResendsPerFrame per frame, for all producers).
   */
  onSeedRequest(from: string, seq: number, g: number, nowMs: number): void {
    if (!this.subscribers.get(from)?.has(g)) {
      this.ctx.countBad(from, 'seed request without a subscription');
      return;
    }
    const f = this.frameOf(seq);
    if (!f?.cs || nowMs - f.firstSeenMs > this.ctx.cfg.frameLifetimeMs) return;
    const expires = nowMs + this.ctx.cfg.frameLifetimeMs / 2;
    for (const [c, a] of f.cs) {
      if ((f.seedResends ?? 0) >= this.ctx.cfg.maxSeedResendsPerFrame) break;
      if (!a.cs || !this.keys.has(c)) continue;
      f.seedResends = (f.seedResends ?? 0) + 1;
      this.seedsSent++;
      this.ctx.sendMedia(from, { type: 'seed', seq: f.seq, c, g, payload: this.ctx.codec.seedPacket(a.cs, g) }, expires);
    }
  }

  private frameOf(seq: number): FrameState | undefined {
    for (const f of this.ctx.frames()) if (f.seq === seq) return f;
    return undefined;
  }

  onChunk(from: string, m: Chunk, nowMs: number): void {
    if (!this.ctx.isBroadcaster(from)) {
      this.ctx.countBad(from, 'code-segment chunk from a peer other than the broadcaster');
      return;
    }
    // The broadcaster hears of a key moving to or from here through the tracker, as this peer
    // does, not at the same moment: a chunk of a key not (or no longer) held here is dropped, not
    // held against the broadcaster (enough of them would ban it).
    if (!this.keys.has(m.c)) return;
    const f = this.ctx.frameFor(m.seq, nowMs);
    if (!f) return;
    const a = this.assembly(f, m.c, m.chunks, nowMs);
    if (a.done || a.chunks.length !== m.chunks || a.chunks[m.chunk]) return;
    a.chunks[m.chunk] = m.payload;
    a.got++;
    // A chunk of a newer frame reveals code segments of older frames that never arrived at all.
    const last = this.lastSeq.get(m.c) ?? m.seq;
    for (let s = last + 1; s < m.seq && m.seq - last <= 4; s++) {
      const older = this.ctx.frameFor(s, nowMs);
      if (older) this.assembly(older, m.c, m.chunks, nowMs - this.ctx.cfg.csRepairDelayMs);
    }
    if (m.seq > last || !this.lastSeq.has(m.c)) this.lastSeq.set(m.c, m.seq);
    if (a.got === a.chunks.length) this.complete(f, m.c, a, nowMs);
  }

  /** Asks the broadcaster for chunks still missing after csRepairDelayMs (twice at most). */
  tick(nowMs: number, broadcasterId: string | undefined): void {
    if (!broadcasterId || this.keys.size === 0) return;
    for (const f of this.ctx.frames()) {
      if (!f.cs) continue;
      for (const [c, a] of f.cs) {
        if (a.done || a.repairs >= 2 || nowMs - a.firstMs < this.ctx.cfg.csRepairDelayMs * (1 + 3 * a.repairs)) continue;
        let mask = 0;
        for (let i = 0; i < a.chunks.length; i++) if (!a.chunks[i]) mask |= 1 << i;
        a.repairs++;
        this.ctx.sendControl(broadcasterId, { type: 'cs-repair', seq: f.seq, c, mask });
      }
    }
  }

  private assembly(f: FrameState, c: number, chunks: number, nowMs: number): CsAssembly {
    f.cs ??= new Map();
    let a = f.cs.get(c);
    if (!a) {
      a = { chunks: new Array(chunks).fill(undefined), got: 0, firstMs: nowMs, repairs: 0, done: false };
      f.cs.set(c, a);
    }
    return a;
  }

  private complete(f: FrameState, c: number, a: CsAssembly, nowMs: number): void {
    a.done = true;
    const cs = new Uint8Array(a.chunks.length * CS_CHUNK_BYTES);
    a.chunks.forEach((ch, i) => cs.set(ch as Uint8Array, i * CS_CHUNK_BYTES));
    a.chunks = [];
    a.cs = cs;
    this.onSegment?.(f, c, cs, nowMs);
    const made = new Map<number, Uint8Array>();
    const expires = nowMs + this.ctx.cfg.frameLifetimeMs / 2;
    for (const [peerId, gs] of this.subscribers) {
      if (!this.ctx.isConnected(peerId)) continue;
      for (const g of gs) {
        let sp = made.get(g);
        if (!sp) made.set(g, (sp = this.ctx.codec.seedPacket(cs, g)));
        this.seedsSent++;
        this.ctx.sendMedia(peerId, { type: 'seed', seq: f.seq, c, g, payload: sp }, expires);
      }
    }
  }
}
