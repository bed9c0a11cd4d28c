// A short history of how this peer's last frames ended: when each began and ended, how many keys
// it held and from whom, and what its own roles contributed. For diagnostics (a stalled player
// can say which frames failed and why); bounded, and written only when a frame ends. Pure.

import type { FrameState } from './frame-state.ts';

export interface FrameSummary {
  seq: number;
  outcome: 'done' | 'missed';
  /** When it ended (the core's clock), and how long after its first message. */
  endMs: number;
  tookMs: number;
  keys: number;
  /** Keys by source: `b` the broadcaster, `self` made here, else the neighbour's id. */
  from: Record<string, number>;
  /**
   * How long after its first message the frame had 64 keys, its manifest, and the manifest's
   * signature checked (absent: never): tells a frame short of keys from one waiting for its manifest.
   */
  keysAfterMs?: number;
  manifestAfterMs?: number;
  manifestOkAfterMs?: number;
  /** Seed packets received per produced group g (producer role). */
  seeds?: Record<number, number>;
  /** Code segments completed here (holder role). */
  segments?: number;
  /** A pollution search ran (a decode failed its digest): clean sets located and decodes tried. */
  pollution?: { locates: number; decodes: number };
}

export function summarizeFrame(f: FrameState, nowMs: number, broadcasterId: string | undefined): FrameSummary {
  const from: Record<string, number> = {};
  for (const src of f.from.values()) {
    const k = src === '' ? 'self' : src === broadcasterId ? 'b' : src;
    from[k] = (from[k] ?? 0) + 1;
  }
  const s: FrameSummary = { seq: f.seq, outcome: f.state === 'done' ? 'done' : 'missed', endMs: Math.round(nowMs), tookMs: Math.round(nowMs - f.firstSeenMs), keys: f.have.size, from };
  if (f.keysMs >= 0) s.keysAfterMs = Math.round(f.keysMs - f.firstSeenMs);
  if (f.manifestMs >= 0) s.manifestAfterMs = Math.round(f.manifestMs - f.firstSeenMs);
  if (f.manifestOkMs >= 0) s.manifestOkAfterMs = Math.round(f.manifestOkMs - f.firstSeenMs);
  if (f.search) s.pollution = { locates: f.search.locates, decodes: f.search.decodes };
  if (f.seeds) {
    s.seeds = {};
    for (const [g, a] of f.seeds) s.seeds[g] = a.seeds.size;
  }
  if (f.cs) {
    let n = 0;
    for (const a of f.cs.values()) if (a.done) n++;
    s.segments = n;
  }
  return s;
}

/** Appends to a history of at most `max` summaries (oldest dropped). */
export function remember(history: FrameSummary[], s: FrameSummary, max: number): void {
  history.push(s);
  if (history.length > max) history.splice(0, history.length - max);
}
