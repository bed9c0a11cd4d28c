// Low-Latency HLS from the broadcaster's own fragmented-MP4 bytes. Fed the frames the protocol core
// delivered (decoded and matched against their signed manifest), it rebuilds fragments with the
// media layer's assembler, lists each fragment as a part, groups parts into ~2 s segments, keeps a
// DVR window and writes the media playlist. Pure: no I/O, no clock (nowMs comes in), no timers.
// Used by the HLS edge (hls-edge.ts), which serves it through hls-handler.ts.

import { concatBytes } from '../bytes.ts';
import { P2PError } from '../errors.ts';
import { FragmentAssembler } from '../media/fragment-assembler.ts';
import type { CoreOutput } from '../protocol/core-types.ts';
import { readFragmentTiming, readTrackTimings, type TrackTiming } from './fmp4-timing.ts';

/**
 * A frame as the protocol core delivers it: decoded, its SHA-256 matched to a manifest whose
 * broadcaster signature was verified. Nothing else may enter the playlist.
 */
export type DeliveredFrame = Pick<Extract<CoreOutput, { type: 'frame' }>, 'manifest' | 'frame'>;

export interface LlHlsWriterConfig {
  /** Segment duration aimed at, seconds; TARGETDURATION is its rounding up. Default 2. */
  segmentTargetS: number;
  /** Smallest PART-TARGET, seconds. PART-TARGET is the larger of this and 1.1 × the first fragment's duration. Default 0.25. */
  minPartTargetS: number;
  /** Media kept in the playlist behind the live edge (DVR), seconds. Default 120. */
  dvrWindowS: number;
  /** How long a missing fragment may hold up later, complete ones before it is given up, ms. Default 1000. */
  waitBudgetMs: number;
  /** Parts are listed for segments in this many target durations from the end (RFC 8216bis: 3). Default 3. */
  partListTargetDurations: number;
  /** Prefix of resource names, so that a restarted writer never reuses a name. Default ''. */
  resourcePrefix: string;
}

export const DEFAULT_LL_HLS_WRITER_CONFIG: LlHlsWriterConfig = {
  segmentTargetS: 2,
  minPartTargetS: 0.25,
  dvrWindowS: 120,
  waitBudgetMs: 1000,
  partListTargetDurations: 3,
  resourcePrefix: '',
};

/** Checks a partial config and fills defaults; throws P2PError('BAD_CONFIG') on nonsense. */
export function resolveLlHlsWriterConfig(partial: Partial<LlHlsWriterConfig> = {}): LlHlsWriterConfig {
  const c = { ...DEFAULT_LL_HLS_WRITER_CONFIG, ...partial };
  const bad = (m: string): never => {
    throw new P2PError('BAD_CONFIG', m);
  };
  if (!(c.segmentTargetS >= 1 && c.segmentTargetS <= 10)) bad(`segmentTargetS ${c.segmentTargetS} is outside 1 … 10`);
  if (!(c.minPartTargetS >= 0.05 && c.minPartTargetS <= c.segmentTargetS)) bad(`minPartTargetS ${c.minPartTargetS} is outside 0.05 … segmentTargetS`);
  if (!(c.dvrWindowS >= 3 * c.segmentTargetS && c.dvrWindowS <= 6 * 3600)) bad(`dvrWindowS ${c.dvrWindowS} is outside 3 × segmentTargetS … 6 h`);
  if (!(c.waitBudgetMs >= 0 && c.waitBudgetMs <= 10_000)) bad(`waitBudgetMs ${c.waitBudgetMs} is outside 0 … 10000`);
  if (!(Number.isInteger(c.partListTargetDurations) && c.partListTargetDurations >= 3)) bad(`partListTargetDurations ${c.partListTargetDurations} is below 3`);
  if (!/^[A-Za-z0-9_-]{0,32}$/.test(c.resourcePrefix)) bad(`resourcePrefix ${JSON.stringify(c.resourcePrefix)} is not [A-Za-z0-9_-]{0,32}`);
  return c;
}

interface Part {
  bytes: Uint8Array;
  durationS: number;
  independent: boolean;
}

interface Segment {
  msn: number;
  parts: Part[];
  durationS: number;
  /** Wall-clock time of the first sample, ms since the Unix epoch (broadcaster's clock). */
  programDateMs: number | null;
  initId: number;
  discontinuity: boolean;
  closed: boolean;
  /** Parts were left out (a fragment longer than PART-TARGET): the segment is listed without EXT-X-PART. */
  noParts: boolean;
}

export interface LlHlsWriterCounters {
  framesIn: number;
  /** Frames that are not in the delivered form (dropped before the assembler). */
  badFrames: number;
  fragmentsIn: number;
  /** Fragments whose boxes could not be timed (dropped). */
  badFragments: number;
  /** Fragments given up by the assembler (missing frames). */
  fragmentsSkipped: number;
  /** Fragments longer than PART-TARGET (their segment is listed without parts). */
  longFragments: number;
  discontinuities: number;
  segmentsClosed: number;
  segmentsDropped: number;
}

export type HlsResource = { kind: 'init' | 'segment' | 'part'; bytes: Uint8Array; contentType: string };

/**
 * Media sequence number of the first segment a writer makes. Not 0: hls.js 1.7.4 takes
 * a part of segment 0 for "no part" in its fragment tracker (`appendedPart?.fragment.sn || -1`), so
 * after each part of segment 0 it forgets the parts of segment 0 it has buffered and asks for the
 * same part again at once, hundreds of times a second until the playhead leaves segment 0
 * (docs/hls.md, Media sequence numbers). RFC 8216bis lets a playlist start at any number.
 */
export const FIRST_MEDIA_SEQUENCE = 1;

/** Where a blocking request stands against the playlist: serve now, wait, or refuse (RFC 8216bis 6.2.5.2). */
export type BlockingAnswer = 'ready' | 'wait' | 'bad-request';

export class LlHlsWriter {
  readonly config: LlHlsWriterConfig;
  readonly counters: LlHlsWriterCounters = {
    framesIn: 0, badFrames: 0, fragmentsIn: 0, badFragments: 0, fragmentsSkipped: 0, longFragments: 0,
    discontinuities: 0, segmentsClosed: 0, segmentsDropped: 0,
  };
  #assembler = new FragmentAssembler();
  #inits: Array<{ id: number; bytes: Uint8Array; tracks: Map<number, TrackTiming> }> = [];
  #segments: Segment[] = [];
  #nextMsn = FIRST_MEDIA_SEQUENCE;
  #discontinuitySeq = 0;
  #pendingDiscontinuity = false;
  #partTargetS: number | null = null;
  #targetDurationS: number;
  #epochMs: number | null = null;
  #ended = false;
  #version = 0;

  constructor(config: Partial<LlHlsWriterConfig> = {}) {
    this.config = resolveLlHlsWriterConfig(config);
    this.#targetDurationS = Math.ceil(this.config.segmentTargetS);
  }

  /** Grows by one each time the playlist changes (the I/O side wakes blocked requests on it). */
  get version(): number {
    return this.#version;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** PART-TARGET in seconds, once the first fragment has been seen. */
  get partTargetS(): number | null {
    return this.#partTargetS;
  }

  get targetDurationS(): number {
    return this.#targetDurationS;
  }

  /** Takes one delivered frame (init segments included). Never throws; bad input is counted. */
  push(delivered: DeliveredFrame, nowMs: number): void {
    this.counters.framesIn++;
    const m = delivered?.manifest;
    if (!m || !(delivered.frame instanceof Uint8Array) || delivered.frame.length !== m.length || !Number.isInteger(m.seq) || !Number.isFinite(m.captureTimeMs)) {
      this.counters.badFrames++;
      return;
    }
    this.#assembler.pushFrame({ seq: m.seq, bytes: delivered.frame, flags: m.flags, captureTimeMs: m.captureTimeMs }, nowMs);
    this.tick(nowMs);
  }

  /** Releases what the assembler can release now (call it on a timer too: skips are decided by time). */
  tick(nowMs: number): void {
    for (const out of this.#assembler.poll(nowMs, this.config.waitBudgetMs)) {
      if (out.kind === 'init') this.#onInit(out.bytes);
      else if (out.kind === 'fragment') this.#onFragment(out.fragment.bytes, out.fragment.keyFrame, out.fragment.mediaTimeMs, out.fragment.captureTimeMs);
      else if (out.kind === 'skip') {
        this.counters.fragmentsSkipped++;
        this.#closeOpen();
        this.#pendingDiscontinuity = this.#segments.length > 0;
      } else if (!this.#ended) {
        this.#closeOpen();
        this.#ended = true;
        this.#changed();
      }
    }
  }

  /** The media playlist, or null before the first part. */
  playlist(): string | null {
    const segs = this.#segments;
    if (segs.length === 0 || this.#partTargetS === null) return null;
    const pt = this.#partTargetS;
    const td = this.#targetDurationS;
    const p = this.config.resourcePrefix;
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      `#EXT-X-TARGETDURATION:${td}`,
      `#EXT-X-PART-INF:PART-TARGET=${fmt(pt)}`,
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${fmt(3 * pt)}`,
      `#EXT-X-MEDIA-SEQUENCE:${segs[0].msn}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${this.#discontinuitySeq}`,
    ];
    // Parts are listed for the segments that end within the last few target durations.
    let fromEnd = 0;
    const listParts = new Set<Segment>();
    for (let i = segs.length - 1; i >= 0; i--) {
      if (fromEnd > this.config.partListTargetDurations * td) break;
      listParts.add(segs[i]);
      fromEnd += segs[i].durationS;
    }
    let initId = -1;
    for (const s of segs) {
      if (s.discontinuity && s !== segs[0]) lines.push('#EXT-X-DISCONTINUITY');
      if (s.initId !== initId) {
        initId = s.initId;
        lines.push(`#EXT-X-MAP:URI="${p}init-${initId}.mp4"`);
      }
      if (s.programDateMs !== null) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateMs).toISOString()}`);
      if (listParts.has(s) && !s.noParts) {
        s.parts.forEach((part, i) => {
          lines.push(`#EXT-X-PART:DURATION=${fmt(part.durationS)},URI="${p}part-${s.msn}-${i}.m4s"${part.independent ? ',INDEPENDENT=YES' : ''}`);
        });
      }
      if (s.closed) lines.push(`#EXTINF:${fmt(s.durationS)},`, `${p}seg-${s.msn}.m4s`);
    }
    if (this.#ended) lines.push('#EXT-X-ENDLIST');
    else {
      const hint = this.#nextPartName();
      lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${p}part-${hint[0]}-${hint[1]}.m4s"`);
    }
    return lines.join('\n') + '\n';
  }

  /**
   * Whether a blocking playlist request (`_HLS_msn`, optional `_HLS_part`) can be answered now, must
   * wait, or is beyond what the server will wait for: more than two segments ahead, or more parts
   * ahead than the Advance Part Limit (3 / PART-TARGET when PART-TARGET < 1 s, else 3).
   */
  blockingState(msn: number, part: number | null): BlockingAnswer {
    if (this.#ended) return 'ready';
    const [openMsn, openParts] = this.#nextPartName();
    if (msn > openMsn + 2) return 'bad-request';
    if (part !== null && this.#partTargetS !== null) {
      const limit = this.#partTargetS < 1 ? Math.floor(3 / this.#partTargetS) : 3;
      if (msn === openMsn && part > openParts - 1 + limit) return 'bad-request';
    }
    if (part === null) return this.#segments.some((s) => s.closed && s.msn >= msn) ? 'ready' : 'wait';
    for (const s of this.#segments) {
      // Part P of segment M, or any later part (a segment may close with fewer parts than asked).
      if (s.msn > msn && s.parts.length > 0) return 'ready';
      if (s.msn === msn && s.parts.length > part) return 'ready';
    }
    return 'wait';
  }

  /** A named resource (`init-<k>.mp4`, `seg-<msn>.m4s`, `part-<msn>-<i>.m4s`), or null. */
  resource(name: string): HlsResource | null {
    const p = this.config.resourcePrefix;
    if (!name.startsWith(p)) return null;
    const rest = name.slice(p.length);
    let m = /^init-(\d{1,9})\.mp4$/.exec(rest);
    if (m) {
      const init = this.#inits.find((i) => i.id === Number(m![1]));
      return init ? { kind: 'init', bytes: init.bytes, contentType: 'video/mp4' } : null;
    }
    m = /^seg-(\d{1,12})\.m4s$/.exec(rest);
    if (m) {
      const s = this.#segment(Number(m[1]));
      return s && s.closed ? { kind: 'segment', bytes: concatBytes(s.parts.map((x) => x.bytes)), contentType: 'video/iso.segment' } : null;
    }
    m = /^part-(\d{1,12})-(\d{1,4})\.m4s$/.exec(rest);
    if (m) {
      const s = this.#segment(Number(m[1]));
      const part = s && !s.noParts ? s.parts[Number(m[2])] : undefined;
      return part ? { kind: 'part', bytes: part.bytes, contentType: 'video/iso.segment' } : null;
    }
    return null;
  }

  /**
   * Whether a part resource that is not there yet may still come: the hinted next part or at most a
   * few parts beyond it (the I/O side holds such a request instead of answering 404).
   */
  partMayCome(name: string): boolean {
    const p = this.config.resourcePrefix;
    const m = name.startsWith(p) ? /^part-(\d{1,12})-(\d{1,4})\.m4s$/.exec(name.slice(p.length)) : null;
    if (!m || this.#ended) return false;
    const [msn, index] = [Number(m[1]), Number(m[2])];
    const [openMsn, openIndex] = this.#nextPartName();
    if (msn === openMsn) return index >= openIndex && index < openIndex + 8;
    return msn === openMsn + 1 && index < 8;
  }

  #segment(msn: number): Segment | undefined {
    const first = this.#segments[0];
    return first ? this.#segments[msn - first.msn] : undefined;
  }

  /** [msn, part index] of the next part to come. */
  #nextPartName(): [number, number] {
    const last = this.#segments[this.#segments.length - 1];
    if (!last) return [this.#nextMsn, 0];
    return last.closed ? [last.msn + 1, 0] : [last.msn, last.parts.length];
  }

  #onInit(bytes: Uint8Array): void {
    const current = this.#inits[this.#inits.length - 1];
    if (current && sameBytes(current.bytes, bytes)) return;
    let tracks: Map<number, TrackTiming>;
    try {
      tracks = readTrackTimings(bytes);
    } catch {
      this.counters.badFragments++;
      return;
    }
    const id = current ? current.id + 1 : 0;
    this.#inits.push({ id, bytes: bytes.slice(), tracks });
    this.#epochMs = null;
    if (current) {
      // A new init segment: the broadcaster started over or changed its encoding.
      this.#closeOpen();
      this.#pendingDiscontinuity = this.#segments.length > 0;
    }
  }

  #onFragment(bytes: Uint8Array, keyFrame: boolean, mediaTimeMs: number, captureTimeMs: number | null): void {
    const init = this.#inits[this.#inits.length - 1];
    if (!init) return;
    this.counters.fragmentsIn++;
    let durationS: number;
    try {
      durationS = readFragmentTiming(bytes, init.tracks).durationS;
    } catch {
      this.counters.badFragments++;
      this.#closeOpen();
      this.#pendingDiscontinuity = this.#segments.length > 0;
      return;
    }
    if (captureTimeMs !== null) this.#epochMs = captureTimeMs - mediaTimeMs;
    const programDateMs = this.#epochMs === null ? null : this.#epochMs + mediaTimeMs;
    if (this.#partTargetS === null) {
      this.#partTargetS = Math.max(this.config.minPartTargetS, Math.ceil(durationS * 1.1 * 1000) / 1000);
      this.#targetDurationS = Math.max(this.#targetDurationS, Math.ceil(this.#partTargetS));
    }
    const part: Part = { bytes, durationS, independent: keyFrame };
    const long = durationS > this.#partTargetS;
    if (long) this.counters.longFragments++;
    let open = this.#open();
    // A segment must round to at most TARGETDURATION; a long fragment stands in a segment of its own.
    if (open && (long || open.noParts || Math.round(open.durationS + durationS) > this.#targetDurationS || open.initId !== init.id)) {
      this.#closeOpen();
      open = null;
    }
    if (!open) {
      open = {
        msn: this.#nextMsn++, parts: [], durationS: 0, programDateMs, initId: init.id,
        discontinuity: this.#pendingDiscontinuity, closed: false, noParts: long,
      };
      if (open.discontinuity) this.counters.discontinuities++;
      this.#pendingDiscontinuity = false;
      this.#segments.push(open);
    }
    open.parts.push(part);
    open.durationS += durationS;
    if (open.noParts || open.durationS >= this.config.segmentTargetS - durationS / 2) this.#closeOpen();
    this.#trim();
    this.#changed();
  }

  #open(): Segment | null {
    const last = this.#segments[this.#segments.length - 1];
    return last && !last.closed ? last : null;
  }

  #closeOpen(): void {
    const open = this.#open();
    if (!open) return;
    if (open.parts.length === 0) {
      this.#segments.pop();
      this.#nextMsn--;
      return;
    }
    open.closed = true;
    this.counters.segmentsClosed++;
    this.#changed();
  }

  /** Drops segments that end more than the DVR window behind the live edge. */
  #trim(): void {
    let total = this.#segments.reduce((n, s) => n + s.durationS, 0);
    while (this.#segments.length > 1 && total - this.#segments[0].durationS >= this.config.dvrWindowS) {
      const gone = this.#segments.shift()!;
      total -= gone.durationS;
      this.counters.segmentsDropped++;
      const next = this.#segments[0];
      if (next.discontinuity) {
        // RFC 8216bis 6.2.1: removing a discontinuity moves EXT-X-DISCONTINUITY-SEQUENCE on.
        this.#discontinuitySeq++;
        next.discontinuity = false;
      }
    }
    const used = new Set(this.#segments.map((s) => s.initId));
    const newest = this.#inits[this.#inits.length - 1];
    this.#inits = this.#inits.filter((i) => used.has(i.id) || i === newest);
  }

  #changed(): void {
    this.#version++;
  }
}

function fmt(s: number): string {
  return s.toFixed(3);
}


function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
