// Rebuilds whole media fragments from verified frames (any order, with gaps, with duplicates) and
// releases them in order: start at the newest fragment that begins with a key frame, skip a
// fragment that is still incomplete when its wait budget runs out, and after a skip resume only at
// a key-frame fragment. Pure: no clock (nowMs comes in), no DOM. Used by the player core.

import {
  FRAME_END_OF_STREAM,
  FRAME_INIT,
  MAX_FRAME_BYTES,
  decodeEndOfStream,
  readRecords,
  type MediaFrame,
} from './frame-format.ts';

export interface AssembledFragment {
  index: number;
  bytes: Uint8Array;
  keyFrame: boolean;
  mediaTimeMs: number;
  /** Wall-clock capture time of the fragment's first sample, when a frame starting with it said so. */
  captureTimeMs: number | null;
}

export type AssemblerOutput =
  | { kind: 'init'; bytes: Uint8Array }
  | { kind: 'fragment'; fragment: AssembledFragment }
  | { kind: 'skip'; index: number; reason: 'incomplete' | 'no-key-frame' }
  | { kind: 'end' };

export interface FragmentAssemblerConfig {
  /** Most fragments kept in reassembly at once; the oldest go first. Default 64. */
  maxPendingFragments: number;
  /** Most bytes kept in reassembly at once. Default 32 MiB. */
  maxPendingBytes: number;
}

export interface AssemblerCounters {
  framesIn: number;
  duplicateFrames: number;
  badFrames: number;
  badRecords: number;
  lateRecords: number;
  fragmentsOut: number;
  fragmentsSkipped: number;
  fragmentsEvicted: number;
  initFrames: number;
}

interface PartialFragment {
  index: number;
  bytes: Uint8Array;
  received: number;
  ranges: Array<[number, number]>;
  keyFrame: boolean;
  mediaTimeMs: number;
  captureTimeMs: number | null;
}

const SEEN_WINDOW = 4096;

export class FragmentAssembler {
  readonly config: FragmentAssemblerConfig;
  readonly counters: AssemblerCounters = {
    framesIn: 0, duplicateFrames: 0, badFrames: 0, badRecords: 0, lateRecords: 0,
    fragmentsOut: 0, fragmentsSkipped: 0, fragmentsEvicted: 0, initFrames: 0,
  };
  private partials = new Map<number, PartialFragment>();
  private seen = new Set<number>();
  private seenOrder: number[] = [];
  private init: Uint8Array | null = null;
  private initDelivered = false;
  private next: number | null = null;
  private needKey = false;
  private blockedSinceMs: number | null = null;
  private endCount: number | null = null;
  private endDelivered = false;
  private newestIndex = -1;

  constructor(config: Partial<FragmentAssemblerConfig> = {}) {
    this.config = { maxPendingFragments: 64, maxPendingBytes: 32 * 1024 * 1024, ...config };
  }

  /** The index of the next fragment to release, once playback has started. */
  get nextIndex(): number | null {
    return this.next;
  }

  /** The current init segment, if one has arrived. */
  get initSegment(): Uint8Array | null {
    return this.init;
  }

  /** Highest fragment index seen in any record. */
  get newestFragmentIndex(): number {
    return this.newestIndex;
  }

  /** Takes one verified frame. Malformed frames are dropped and counted, never thrown. */
  pushFrame(frame: MediaFrame, nowMs: number): void {
    this.counters.framesIn++;
    if (!frame || typeof frame !== 'object' || !Number.isInteger(frame.seq) || !Number.isInteger(frame.flags) || !(frame.bytes instanceof Uint8Array) || frame.bytes.length === 0 || frame.bytes.length > MAX_FRAME_BYTES) {
      this.counters.badFrames++;
      return;
    }
    if (frame.flags & FRAME_INIT) {
      this.counters.initFrames++;
      if (!this.init || !sameBytes(this.init, frame.bytes)) {
        // A different init segment means the broadcaster started over: its fragments count from 0 again.
        if (this.init) this.reset();
        this.init = frame.bytes.slice();
        this.initDelivered = false;
      }
      return;
    }
    if (this.seen.has(frame.seq)) {
      this.counters.duplicateFrames++;
      return;
    }
    this.remember(frame.seq);
    if (frame.flags & FRAME_END_OF_STREAM) {
      try {
        this.endCount = decodeEndOfStream(frame.bytes);
      } catch {
        this.counters.badFrames++;
      }
      return;
    }
    let records;
    try {
      records = readRecords(frame.bytes);
    } catch {
      this.counters.badFrames++;
      return;
    }
    for (const r of records) {
      if (this.next !== null && r.fragmentIndex < this.next) {
        this.counters.lateRecords++;
        continue;
      }
      let p = this.partials.get(r.fragmentIndex);
      if (!p) {
        p = {
          index: r.fragmentIndex, bytes: new Uint8Array(r.fragmentLength), received: 0, ranges: [],
          keyFrame: r.keyFrame, mediaTimeMs: r.mediaTimeMs, captureTimeMs: null,
        };
        this.partials.set(r.fragmentIndex, p);
        this.newestIndex = Math.max(this.newestIndex, r.fragmentIndex);
      } else if (p.bytes.length !== r.fragmentLength || p.keyFrame !== r.keyFrame || p.mediaTimeMs !== r.mediaTimeMs) {
        this.counters.badRecords++;
        continue;
      }
      if (records[0] === r) p.captureTimeMs = frame.captureTimeMs;
      const added = addRange(p.ranges, r.offset, r.offset + r.payload.length);
      if (added === 0) continue;
      p.bytes.set(r.payload, r.offset);
      p.received += added;
    }
    this.evict();
    void nowMs;
  }

  /**
   * Releases what can go to the media buffer now, in order. `waitBudgetMs` is how long a fragment may
   * hold up later, complete ones before it is skipped (the player derives it from its buffer ahead).
   */
  poll(nowMs: number, waitBudgetMs: number): AssemblerOutput[] {
    const out: AssemblerOutput[] = [];
    if (!this.init) return out;
    if (!this.initDelivered) {
      out.push({ kind: 'init', bytes: this.init });
      this.initDelivered = true;
    }
    if (this.next === null) {
      const start = this.newestCompleteKey();
      if (start === null) return out;
      this.next = start;
      for (const i of [...this.partials.keys()]) if (i < start) this.partials.delete(i);
    }
    for (;;) {
      if (this.endCount !== null && this.next >= this.endCount) {
        if (!this.endDelivered) out.push({ kind: 'end' });
        this.endDelivered = true;
        break;
      }
      const p = this.partials.get(this.next);
      if (p && p.received === p.bytes.length) {
        this.partials.delete(this.next);
        this.next++;
        this.blockedSinceMs = null;
        if (this.needKey && !p.keyFrame) {
          this.counters.fragmentsSkipped++;
          out.push({ kind: 'skip', index: p.index, reason: 'no-key-frame' });
          continue;
        }
        this.needKey = false;
        this.counters.fragmentsOut++;
        out.push({ kind: 'fragment', fragment: { index: p.index, bytes: p.bytes, keyFrame: p.keyFrame, mediaTimeMs: p.mediaTimeMs, captureTimeMs: p.captureTimeMs } });
        continue;
      }
      // Incomplete or unseen: it holds up playback only when something later is complete.
      if (!this.laterComplete(this.next)) {
        this.blockedSinceMs = null;
        break;
      }
      if (this.blockedSinceMs === null) this.blockedSinceMs = nowMs;
      if (nowMs - this.blockedSinceMs < waitBudgetMs) break;
      this.partials.delete(this.next);
      this.counters.fragmentsSkipped++;
      out.push({ kind: 'skip', index: this.next, reason: 'incomplete' });
      this.next++;
      this.needKey = true;
      // blockedSinceMs stays: the fragments after a skipped one were due no earlier, so a run of
      // missing fragments is skipped at once rather than one wait budget each.
    }
    return out;
  }

  /** Forgets the playing position so that the next poll starts again at the newest key-frame fragment. */
  restart(): void {
    this.next = null;
    this.needKey = false;
    this.blockedSinceMs = null;
    this.initDelivered = false;
  }

  private reset(): void {
    this.partials.clear();
    this.seen.clear();
    this.seenOrder = [];
    this.restart();
    this.endCount = null;
    this.endDelivered = false;
    this.newestIndex = -1;
  }

  private newestCompleteKey(): number | null {
    let best: number | null = null;
    for (const p of this.partials.values()) {
      if (p.keyFrame && p.received === p.bytes.length && (best === null || p.index > best)) best = p.index;
    }
    return best;
  }

  private laterComplete(index: number): boolean {
    for (const p of this.partials.values()) if (p.index > index && p.received === p.bytes.length) return true;
    return false;
  }

  private evict(): void {
    let bytes = 0;
    for (const p of this.partials.values()) bytes += p.bytes.length;
    while (this.partials.size > this.config.maxPendingFragments || (bytes > this.config.maxPendingBytes && this.partials.size > 1)) {
      const oldest = Math.min(...this.partials.keys());
      bytes -= this.partials.get(oldest)!.bytes.length;
      this.partials.delete(oldest);
      this.counters.fragmentsEvicted++;
    }
  }

  private remember(seq: number): void {
    this.seen.add(seq);
    this.seenOrder.push(seq);
    if (this.seenOrder.length > SEEN_WINDOW) this.seen.delete(this.seenOrder.shift()!);
  }
}

/** Adds [start, end) to a sorted list of disjoint ranges; returns how many new bytes it covered. */
export function addRange(ranges: Array<[number, number]>, start: number, end: number): number {
  let covered = 0;
  for (const [a, b] of ranges) covered += Math.max(0, Math.min(b, end) - Math.max(a, start));
  const merged: Array<[number, number]> = [];
  let s = start;
  let e = end;
  for (const [a, b] of ranges) {
    if (b < s || a > e) merged.push([a, b]);
    else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  merged.push([s, e]);
  merged.sort((x, y) => x[0] - y[0]);
  ranges.length = 0;
  ranges.push(...merged);
  return end - start - covered;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
