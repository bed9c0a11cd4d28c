// The viewer-to-viewer exchange: taking in a neighbour's HAVE entries, telling each neighbour what
// we newly hold (cursors into each frame's arrival log, "complete" once verified), and serving a
// pull request from held or re-encoded packets. Functions over the peer core's state; no I/O.

import type { FrameCodec, PeerCoreConfig } from './core-types.ts';
import type { FrameState } from './frame-state.ts';
import type { NeighbourState } from './neighbour-state.ts';
import { isImpliedKey } from './implied-keys.ts';
import { KeySet } from './key-set.ts';
import { HAVE_COMPLETE, HAVE_MANIFEST, MAX_HAVE_ENTRIES, type HaveEntry, type WireMessage } from './wire.ts';

/**
 * A neighbour's keys of a frame we have decoded are never read again (pulls, pushes and HAVE key
 * lists concern collecting frames only), so its record drops them for this one empty set; nothing
 * adds to it, since handleHave skips decoded frames. Saves a key set per neighbour and frame kept.
 */
const DROPPED_KEYS = new KeySet();

export interface ExchangeView {
  cfg: PeerCoreConfig;
  codec: FrameCodec;
  frames: Map<number, FrameState>;
  frameFor(seq: number, nowMs: number): FrameState | undefined;
  sendControl(peerId: string, m: WireMessage): void;
  sendMedia(peerId: string, m: WireMessage, expiresMs: number): void;
  countBad(peerId: string, reason: string): void;
  strikesOf(peerId: string): number;
  /**
   * The policy's budget for key x of frame seq, asked for by this neighbour (NeighbourPolicy.serveAsked):
   * 'serve' (recorded), 'spent' (refused: pushes used it up), 'over' (refused: it asked too often).
   */
  mayServe(peerId: string, seq: number, x: number): 'serve' | 'spent' | 'over';
  /** The frame's availability changed: schedule it at the next pass. */
  markDirty(seq: number): void;
  /** Key x of f is offered by `from` (push parents learn from first offers). */
  offered(f: FrameState, x: number, from: string, nowMs: number): void;
}

export function handleHave(v: ExchangeView, n: NeighbourState, entries: readonly HaveEntry[], nowMs: number): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const f = v.frameFor(e.seq, nowMs);
    if (!f || f.state === 'done' || f.state === 'missed') continue;
    const r = n.frame(e.seq);
    if (e.flags & HAVE_MANIFEST) r.manifest = true;
    if (e.flags & HAVE_COMPLETE) {
      if (!r.complete) r.completeMs = nowMs;
      r.complete = true;
      r.manifest = true;
    }
    const keys = e.keys;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      r.keys.add(k);
      if (!f.have.has(k)) v.offered(f, k, n.peerId, nowMs);
    }
    v.markDirty(e.seq);
  }
}

/**
 * Sends one HAVE with what this neighbour has not been told yet (nothing when nothing is new).
 * When `full` is false only news that unblocks the neighbour goes out (a frame announced for the
 * first time, the manifest, complete); further keys wait for the next full flush.
 */
export function flushHave(v: ExchangeView, n: NeighbourState, frames: Iterable<FrameState>, full = true): void {
  if (n.isBroadcaster) return;
  const entries: HaveEntry[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of frames) {
    if (entries.length >= MAX_HAVE_ENTRIES) break;
    if (f.state === 'missed') continue;
    // One HAVE spans at most 256 sequence numbers (entries are deltas from the lowest).
    if (Math.max(hi, f.seq) - Math.min(lo, f.seq) > 255) continue;
    const r = n.frame(f.seq);
    if (f.state === 'done') r.keys = DROPPED_KEYS;
    if (r.complete) continue;
    if (f.state === 'done') {
      if (!(r.toldFlags & HAVE_COMPLETE)) {
        lo = Math.min(lo, f.seq);
        hi = Math.max(hi, f.seq);
        entries.push({ seq: f.seq, flags: HAVE_MANIFEST | HAVE_COMPLETE, keys: [] });
        r.toldFlags = HAVE_MANIFEST | HAVE_COMPLETE;
      }
      continue;
    }
    const mflag = f.manifest && !f.manifestPending ? HAVE_MANIFEST : 0;
    if (!full && r.toldIdx > 0 && !(mflag & ~r.toldFlags)) continue;
    const keys: number[] = [];
    // A neighbour holding 64 keys needs no more (it decodes); only flags go to it then.
    const log = f.log;
    if (r.keys.size >= 64) r.toldIdx = log.length;
    while (r.toldIdx < log.length && keys.length < 255) {
      const x = log[r.toldIdx++];
      if (!r.keys.has(x)) keys.push(x);
    }
    if (keys.length > 0 || (mflag & ~r.toldFlags)) {
      lo = Math.min(lo, f.seq);
      hi = Math.max(hi, f.seq);
      entries.push({ seq: f.seq, flags: mflag, keys });
      r.toldFlags |= mflag;
    }
  }
  if (entries.length > 0) v.sendControl(n.peerId, { type: 'have', entries });
}

/**
 * Serves up to `count` keys of `allowed`, each within the policy's budget; returns how many were
 * queued and how many held keys were refused because the asker asked past its budget (counted
 * against it). Keys whose budget pushes used up are refused without counting.
 */
export function servePullRequest(v: ExchangeView, n: NeighbourState, seq: number, count: number, allowed: KeySet, nowMs: number): { served: number; refused: number } {
  const f = v.frames.get(seq);
  if (!f || f.state === 'missed') return { served: 0, refused: 0 };
  const expires = nowMs + v.cfg.maxRequestTimeoutMs;
  let served = 0;
  let refused = 0;
  // Implied zero keys (past the signed length) are never sent: the asker holds them once its copy
  // of the manifest verifies, which also gives up its requests for them (see holdImplied).
  const L = f.manifest && !f.manifestPending && f.manifestOkMs >= 0 ? f.manifest.length : 0;
  for (const x of allowed.toArray()) {
    if (served >= count) break;
    if (f.state !== 'done' && !f.have.has(x)) continue;
    if (isImpliedKey(x, L)) continue;
    let p: Uint8Array | undefined;
    if (f.state === 'done' && f.frame) {
      p = f.packets.get(x);
      if (!p) {
        p = v.codec.feedPacket(f.frame, x);
        if (v.cfg.cacheEncodedPackets) f.packets.set(x, p);
      }
    } else if (f.have.has(x)) {
      // Unverified keys are passed on only while nothing speaks against them (not from a suspect).
      if (f.exclude.has(x)) continue;
      const src = f.from.get(x);
      if (src && v.strikesOf(src) > 0) continue;
      p = f.packets.get(x);
    }
    if (!p) continue;
    const verdict = v.mayServe(n.peerId, seq, x);
    if (verdict !== 'serve') {
      if (verdict === 'over') refused++;
      continue;
    }
    v.sendMedia(n.peerId, { type: 'feed', seq, x, payload: p }, expires);
    served++;
  }
  return { served, refused };
}
