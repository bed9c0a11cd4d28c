// Where a frame's time goes, per viewer (the simulator's `timeline` option, `--timeline`): every
// code-segment chunk, seed and feed packet is followed from the moment its sender's core handed it
// to the link to the moment the receiver's core took it, and each peer notes when it first held
// each key of each frame. When a viewer decodes a frame, the key that completed its 64 is traced
// back hop by hop (through a relay that decoded the frame and re-encoded the key, on to that
// relay's own 64th key) to the producer that made it, then to the eighth seed of its group,
// the holder's segment and the broadcaster's chunk, and the frame's close-to-decode time is split
// over the stages of that path (uplink queueing, the wire, download and CPU waits, relays holding
// a key until it was asked for, repairs, the producer's wait). Diagnostic only: it watches the
// simulator's messages and never touches a core. Used by simulator.ts; summed by sim-report.ts.

import { dataParts } from '../protocol/implied-keys.ts';
import { MAX_FRAME_BYTES, type WireMessage } from '../protocol/wire.ts';

/** The stages of a traced path, in the order they happen (the report's columns). */
export const TIMELINE_STAGES = [
  'broadcaster: close to first send of the chunk',
  'chunk sent again (repair of a lost chunk)',
  'broadcaster uplink queue',
  'chunk on the wire (serialize + one way)',
  'holder download queue + CPU wait',
  'holder: segment whole to seed sent (seeds asked again after a loss)',
  'holder uplink queue',
  'seed on the wire',
  'producer download queue + CPU wait',
  'producer: 8th seed to key made',
  'relays: push held in core (send queue)',
  'relays: pull, key held to first asked',
  'relays: pull, asked again (an earlier request timed out)',
  'relays: pull, asked to sent',
  'relays uplink queue',
  'relays: on the wire',
  'relays and viewer: download queue',
  'relays and viewer: CPU wait',
  'relays: decoded the frame, key re-encoded and sent',
  'decode (64th key to frame), viewer and relays that re-encode',
  'not traced',
] as const;

const S = {
  bcastHold: 0, chunkRepair: 1, bcastQueue: 2, chunkWire: 3, holderIn: 4, holderHold: 5, holderQueue: 6, seedWire: 7,
  producerIn: 8, produce: 9, pushHold: 10, pullUntilAsked: 11, pullRetry: 12, pullServe: 13, relayQueue: 14, relayWire: 15, relayDown: 16,
  relayCpu: 17, reencode: 18, decode: 19, untraced: 20,
} as const;

/** Extra columns after the stages: relay hops on the path, and how many of them were pulls. */
export const TIMELINE_COLUMNS = TIMELINE_STAGES.length + 2;

/** What the simulator knows of one media message once it left: set at send, read at delivery. */
export interface SentInfo {
  from: number;
  /** Handed to the link by the sender's core. */
  send: number;
  /** Left the sender's uplink (its last bit). */
  depart: number;
  /** Serialization time on the sender's uplink. */
  ser: number;
  /** Reached the receiver's side (before its download link and event loop). */
  at: number;
  /** The receiver's latest REQUEST for this frame to the sender, sent before this (NaN: none). */
  askedMs: number;
}

interface Hop extends SentInfo {
  handled: number;
  /** Of it: waiting for the event loop. */
  cpu: number;
}

class PeerFrame {
  /** When each key was first held here (NaN: never): received or made. */
  readonly keyAt = new Float64Array(256).fill(NaN);
  readonly hop: Array<Hop | undefined> = [];
  readonly made = new Uint8Array(256);
  /** Keys made here: when (NaN: not known). */
  madeMs?: Float64Array;
  held = 0;
  /** When this peer decoded the frame (NaN: not yet). */
  decodedMs = NaN;
  /** Latest REQUEST for this frame to each neighbour (by number). */
  readonly askedOf = new Map<number, number>();
  /** When each key was first asked for (of anyone; NaN: never). */
  firstAsk?: Float64Array;
  /** Code segments (holder): chunks got per key, the chunk that made it whole and when. */
  chunks?: Map<number, Set<number>>;
  segDone?: Map<number, { hop: Hop; chunk: number }>;
  /** Seeds (producer) per group: keys got, and the eighth seed's hop and key. */
  seeds?: Map<number, Map<number, Hop>>;
}

export class FrameTimeline {
  private readonly publishMs = new Map<number, number>();
  /** Broadcaster's first send of each chunk: key (seq, c, chunk). */
  private readonly chunkFirst = new Map<number, number>();
  private readonly peers = new Map<number, Map<number, PeerFrame>>();

  constructor(private readonly broadcasterNum: number, private readonly keepFrames = 64) {}

  published(seq: number, nowMs: number): void {
    this.publishMs.set(seq, nowMs);
    const old = seq - this.keepFrames;
    if (old < 0) return;
    // Forget frames too old to be traced any more.
    this.publishMs.delete(old);
    for (const m of this.peers.values()) m.delete(old);
    for (const k of this.chunkFirst.keys()) if (k / 65536 < old) this.chunkFirst.delete(k);
  }

  private rec(num: number, seq: number, make: boolean): PeerFrame | undefined {
    let m = this.peers.get(num);
    if (!m) {
      if (!make) return undefined;
      this.peers.set(num, (m = new Map()));
    }
    let r = m.get(seq);
    if (!r && make && this.publishMs.has(seq)) m.set(seq, (r = new PeerFrame()));
    return r;
  }

  /** `from` hands `msg` to its link to `to`; returns what the delivery will carry (undefined: not followed). */
  sent(from: number, to: number, msg: WireMessage, nowMs: number, depart: number, ser: number, at: number, madeAt: (seq: number, g: number) => number): SentInfo | undefined {
    switch (msg.type) {
      case 'request': {
        const r = this.rec(from, msg.seq, true);
        if (!r) return undefined;
        r.askedOf.set(to, nowMs);
        const first = (r.firstAsk ??= new Float64Array(256).fill(NaN));
        for (let i = 0; i < msg.allowed.length; i++) {
          for (let b = 0; b < 8; b++) if (msg.allowed[i] & (1 << b) && Number.isNaN(first[i * 8 + b])) first[i * 8 + b] = nowMs;
        }
        return undefined;
      }
      case 'cs-chunk': {
        if (from === this.broadcasterNum) {
          const k = msg.seq * 65536 + msg.c * 64 + msg.chunk;
          if (!this.chunkFirst.has(k)) this.chunkFirst.set(k, nowMs);
        }
        return { from, send: nowMs, depart, ser, at, askedMs: NaN };
      }
      case 'seed':
        return { from, send: nowMs, depart, ser, at, askedMs: NaN };
      case 'feed': {
        const s = this.rec(from, msg.seq, true);
        // A key its sender never received was made there: by a producer (held since it made its
        // group), or re-encoded from a decoded frame (held from now).
        if (s && Number.isNaN(s.keyAt[msg.x])) {
          const made = madeAt(msg.seq, msg.x >> 3);
          s.keyAt[msg.x] = Number.isNaN(made) ? nowMs : Math.min(made, nowMs);
          s.made[msg.x] = 1;
          (s.madeMs ??= new Float64Array(256).fill(NaN))[msg.x] = made;
          s.held++;
        }
        const asked = this.rec(to, msg.seq, false)?.askedOf.get(from);
        return { from, send: nowMs, depart, ser, at, askedMs: asked ?? NaN };
      }
      default:
        return undefined;
    }
  }

  /** `to`'s core is about to take `msg`, sent as `info`; `cpu` of the wait was for its event loop. */
  received(to: number, msg: WireMessage, info: SentInfo, nowMs: number, cpu: number): void {
    const hop: Hop = { ...info, handled: nowMs, cpu };
    switch (msg.type) {
      case 'feed': {
        const r = this.rec(to, msg.seq, true);
        if (!r || !Number.isNaN(r.keyAt[msg.x])) return;
        r.keyAt[msg.x] = nowMs;
        r.hop[msg.x] = hop;
        r.held++;
        return;
      }
      case 'cs-chunk': {
        const r = this.rec(to, msg.seq, true);
        if (!r) return;
        r.chunks ??= new Map();
        r.segDone ??= new Map();
        let got = r.chunks.get(msg.c);
        if (!got) r.chunks.set(msg.c, (got = new Set()));
        if (got.has(msg.chunk)) return;
        got.add(msg.chunk);
        if (got.size === msg.chunks) r.segDone.set(msg.c, { hop, chunk: msg.chunk });
        return;
      }
      case 'seed': {
        const r = this.rec(to, msg.seq, true);
        if (!r) return;
        r.seeds ??= new Map();
        let got = r.seeds.get(msg.g);
        if (!got) r.seeds.set(msg.g, (got = new Map()));
        if (!got.has(msg.c)) got.set(msg.c, hop);
        return;
      }
    }
  }

  /** Keys the frame being traced needs: its data parts (64 for a full frame). */
  private need = 64;

  /** The key that was this peer's 64th of the frame, or its last needed one (−1: it held fewer). */
  private key64(r: PeerFrame): number {
    // A frame of fewer than 64 data parts is complete with that many keys: its implied zero keys
    // (implied-keys.ts) are held without being sent, so its last needed key is the one traced.
    const need = this.need;
    if (r.held < need) return -1;
    const times = Array.from(r.keyAt).filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
    return r.keyAt.indexOf(times[need - 1]);
  }

  /** Key x was made here by a producer from seeds (8 of its group, its own segments counting). */
  private isProduced(r: PeerFrame, x: number): boolean {
    if (!Number.isNaN(r.madeMs?.[x] ?? NaN)) return true;
    return (r.seeds?.get(x >> 3)?.size ?? 0) + (r.segDone?.size ?? 0) >= 8;
  }

  /**
   * Viewer `num` decoded frame `seq` now: its close-to-decode time split over the stages of the
   * path that brought its 64th key (TIMELINE_STAGES, then hops and pulls among them). Undefined
   * when the frame's records are gone.
   */
  trace(num: number, seq: number, nowMs: number, length = MAX_FRAME_BYTES): Float32Array | undefined {
    const pub = this.publishMs.get(seq);
    const v = this.rec(num, seq, false);
    if (pub === undefined || !v) return undefined;
    this.need = Math.max(1, dataParts(length));
    v.decodedMs = nowMs;
    const out = new Float32Array(TIMELINE_COLUMNS);
    const total = nowMs - pub;
    const finish = () => {
      let sum = 0;
      for (let i = 0; i < S.untraced; i++) sum += out[i];
      out[S.untraced] = total - sum;
      return out;
    };
    let cur = v;
    let x = this.key64(v);
    if (x < 0) return finish();
    out[S.decode] += nowMs - v.keyAt[x];
    let hops = 0;
    let pulls = 0;
    const wireOf = (h: Hop, queue: number, wire: number, down: number, cpu: number) => {
      out[queue] += h.depart - h.send - h.ser;
      out[wire] += h.at - h.depart + h.ser;
      out[down] += h.handled - h.at - h.cpu;
      out[cpu] += h.cpu;
    };
    // Relays, from the viewer back to the peer that made the key.
    for (let guard = 0; ; guard++) {
      if (guard > 64) return finish();
      if (cur.made[x]) {
        // Not a producer's key: a relay that decoded the frame re-encoded it; its own 64th key goes on.
        if (Number.isNaN(cur.decodedMs) || cur.decodedMs > cur.keyAt[x] || this.isProduced(cur, x)) break;
        const y = this.key64(cur);
        if (y < 0) return finish();
        out[S.reencode] += cur.keyAt[x] - cur.decodedMs;
        out[S.decode] += cur.decodedMs - cur.keyAt[y];
        x = y;
        continue;
      }
      const h = cur.hop[x];
      if (!h) return finish();
      wireOf(h, S.relayQueue, S.relayWire, S.relayDown, S.relayCpu);
      out[TIMELINE_STAGES.length] = ++hops;
      if (h.from === this.broadcasterNum) {
        out[S.bcastHold] += h.send - pub;
        out[TIMELINE_STAGES.length + 1] = pulls;
        return finish();
      }
      const s = this.rec(h.from, seq, false);
      const had = s?.keyAt[x];
      if (!s || had === undefined || Number.isNaN(had)) return finish();
      if (h.askedMs >= had) {
        // Asked of someone earlier, that request timed out: the wait from then is the retry's.
        const asked1 = cur.firstAsk?.[x] ?? NaN;
        const first = Math.max(had, Number.isNaN(asked1) ? h.askedMs : Math.min(h.askedMs, asked1));
        out[S.pullUntilAsked] += first - had;
        out[S.pullRetry] += h.askedMs - first;
        out[S.pullServe] += h.send - h.askedMs;
        out[TIMELINE_STAGES.length + 1] = ++pulls;
      } else out[S.pushHold] += h.send - had;
      cur = s;
    }
    // The producer: its group's eighth seed (a segment of its own counts as one, made here), the
    // holder's segment, the broadcaster's chunk.
    const got: Array<{ t: number; c: number; seed?: Hop }> = [];
    for (const [c, h] of cur.seeds?.get(x >> 3) ?? []) got.push({ t: h.handled, c, seed: h });
    for (const [c, d] of cur.segDone ?? []) if (!got.some((g) => g.c === c)) got.push({ t: d.hop.handled, c });
    if (got.length < 8) return finish();
    got.sort((a, b) => a.t - b.t);
    const s8 = got[7];
    out[S.produce] += cur.keyAt[x] - s8.t;
    let holder = cur;
    if (s8.seed) {
      out[S.producerIn] += s8.seed.handled - s8.seed.at;
      out[S.seedWire] += s8.seed.at - s8.seed.depart + s8.seed.ser;
      out[S.holderQueue] += s8.seed.depart - s8.seed.send - s8.seed.ser;
      const h = this.rec(s8.seed.from, seq, false);
      if (!h) return finish();
      holder = h;
    }
    const done = holder.segDone?.get(s8.c);
    if (!done) return finish();
    const seg = done.hop;
    if (s8.seed) out[S.holderHold] += s8.seed.send - seg.handled;
    out[S.holderIn] += seg.handled - seg.at;
    out[S.chunkWire] += seg.at - seg.depart + seg.ser;
    out[S.bcastQueue] += seg.depart - seg.send - seg.ser;
    // The chunk that made the segment whole: sent again after a loss, or the first time.
    const first = Math.min(seg.send, this.chunkFirst.get(seq * 65536 + s8.c * 64 + done.chunk) ?? seg.send);
    out[S.bcastHold] += first - pub;
    out[S.chunkRepair] += seg.send - first;
    return finish();
  }
}
