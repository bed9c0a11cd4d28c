// Cuts the broadcaster's fragmented-MP4 output (an init segment and whole media fragments) into
// frames of at most 64 KiB, closed by time at a multiple of 8 KiB where the stream allows, the rest
// carried to the next frame. Pure: no clock, no timer (the caller passes nowMs and calls tick()).
// Called by the broadcaster media pipeline; unit-tested with the fragment assembler.

import { P2PError } from '../errors.ts';
import {
  FRAME_ALIGN_BYTES,
  FRAME_END_OF_STREAM,
  FRAME_FRAGMENT_END,
  FRAME_FRAGMENT_START,
  FRAME_INIT,
  FRAME_KEY,
  MAX_FRAGMENT_BYTES,
  MAX_FRAME_BYTES,
  RECORD_HEADER_BYTES,
  encodeEndOfStream,
  writeRecord,
  type MediaFrame,
} from './frame-format.ts';

export interface FrameCutterConfig {
  /** How often the caller closes frames (calls tick), ms. Default 100. */
  frameIntervalMs: number;
  /** Ticks a byte may be carried over to reach an 8 KiB multiple; 0 sends everything at each tick. Default 1. */
  maxCarryTicks: number;
  /** How often the init segment is sent again for late joiners, ms. Default 2000. */
  initRepeatMs: number;
  /** Sequence number of the first frame. Default 0; a session may continue numbering across restarts. */
  firstSeq: number;
}

export const DEFAULT_FRAME_CUTTER_CONFIG: FrameCutterConfig = {
  frameIntervalMs: 100,
  maxCarryTicks: 1,
  initRepeatMs: 2000,
  firstSeq: 0,
};

/** Checks a partial config and fills defaults; throws P2PError('BAD_CONFIG') on nonsense. */
export function resolveFrameCutterConfig(partial: Partial<FrameCutterConfig> = {}): FrameCutterConfig {
  const c = { ...DEFAULT_FRAME_CUTTER_CONFIG, ...partial };
  if (!(c.frameIntervalMs >= 10 && c.frameIntervalMs <= 5000)) throw new P2PError('BAD_CONFIG', `frameIntervalMs ${c.frameIntervalMs} is outside 10 … 5000`);
  if (!(Number.isInteger(c.maxCarryTicks) && c.maxCarryTicks >= 0 && c.maxCarryTicks <= 10)) throw new P2PError('BAD_CONFIG', `maxCarryTicks ${c.maxCarryTicks} is not an integer in 0 … 10`);
  if (!(c.initRepeatMs >= 100)) throw new P2PError('BAD_CONFIG', `initRepeatMs ${c.initRepeatMs} is below 100`);
  if (!(Number.isSafeInteger(c.firstSeq) && c.firstSeq >= 0)) throw new P2PError('BAD_CONFIG', `firstSeq ${c.firstSeq} is not a non-negative integer`);
  return c;
}

/** A whole media fragment (moof + mdat) as the muxer wrote it. */
export interface FragmentInput {
  bytes: Uint8Array;
  /** The fragment begins with a key frame (every video track starts on one). */
  keyFrame: boolean;
  /** Media time of its first sample, ms. */
  mediaTimeMs: number;
  /** Wall-clock capture time of its first sample, ms since the Unix epoch. */
  captureTimeMs: number;
}

interface Pending extends FragmentInput {
  index: number;
  sent: number;
  ticksWaited: number;
}

export class FrameCutter {
  readonly config: FrameCutterConfig;
  private seq: number;
  private fragmentCount = 0;
  private pending: Pending[] = [];
  private init: Uint8Array | null = null;
  private lastInitMs = -Infinity;
  private ended = false;

  constructor(config: Partial<FrameCutterConfig> = {}) {
    this.config = resolveFrameCutterConfig(config);
    this.seq = this.config.firstSeq;
  }

  /** The next frame's seq. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Payload bytes waiting to be framed. */
  get pendingBytes(): number {
    return this.pending.reduce((n, p) => n + p.bytes.length - p.sent, 0);
  }

  /** Sets (or replaces) the init segment and returns its frame at once. */
  setInit(bytes: Uint8Array, nowMs: number): MediaFrame {
    if (this.ended) throw new P2PError('STREAM_ENDED', 'the stream has ended');
    if (bytes.length === 0 || bytes.length > MAX_FRAME_BYTES) throw new P2PError('BAD_INIT_SEGMENT', `init segment of ${bytes.length} bytes`);
    this.init = bytes.slice();
    return this.initFrame(nowMs);
  }

  /** Queues one whole fragment; it goes out in the frames of the next ticks. */
  pushFragment(fragment: FragmentInput): void {
    if (this.ended) throw new P2PError('STREAM_ENDED', 'the stream has ended');
    const n = fragment.bytes.length;
    if (n === 0 || n > MAX_FRAGMENT_BYTES) throw new P2PError('BAD_FRAGMENT', `fragment of ${n} bytes`);
    this.pending.push({ ...fragment, bytes: fragment.bytes, index: this.fragmentCount++, sent: 0, ticksWaited: 0 });
  }

  /** Closes the frames due now: full 64 KiB frames, then an 8 KiB multiple, then whatever waited too long. */
  tick(nowMs: number): MediaFrame[] {
    const out: MediaFrame[] = [];
    if (this.init && nowMs - this.lastInitMs >= this.config.initRepeatMs) out.push(this.initFrame(nowMs));
    for (;;) {
      const all = this.wireBytes(this.pending.length);
      if (all === 0) break;
      if (all >= MAX_FRAME_BYTES) {
        out.push(this.fill(MAX_FRAME_BYTES));
        continue;
      }
      const mustCount = this.pending.filter((p) => p.ticksWaited >= this.config.maxCarryTicks).length;
      const must = this.wireBytes(mustCount);
      let target = Math.floor(all / FRAME_ALIGN_BYTES) * FRAME_ALIGN_BYTES;
      if (must > target) target = Math.min(all, Math.ceil(must / FRAME_ALIGN_BYTES) * FRAME_ALIGN_BYTES);
      if (target <= RECORD_HEADER_BYTES) break;
      const before = this.pendingBytes;
      out.push(this.fill(target));
      if (this.pendingBytes === before) break;
      if (must <= target && target === Math.floor(all / FRAME_ALIGN_BYTES) * FRAME_ALIGN_BYTES) break;
    }
    for (const p of this.pending) p.ticksWaited++;
    return out;
  }

  /** Flushes everything and closes the stream with an end-of-stream frame. */
  end(nowMs: number): MediaFrame[] {
    if (this.ended) return [];
    const out: MediaFrame[] = [];
    while (this.pending.length > 0) out.push(this.fill(MAX_FRAME_BYTES));
    out.push({ seq: this.seq++, bytes: encodeEndOfStream(this.fragmentCount), flags: FRAME_END_OF_STREAM, captureTimeMs: nowMs });
    this.ended = true;
    return out;
  }

  private initFrame(nowMs: number): MediaFrame {
    this.lastInitMs = nowMs;
    return { seq: this.seq++, bytes: this.init!.slice(), flags: FRAME_INIT, captureTimeMs: nowMs };
  }

  /** Wire bytes of the first `count` pending fragments if they all went in one frame. */
  private wireBytes(count: number): number {
    let n = 0;
    for (let i = 0; i < count; i++) n += RECORD_HEADER_BYTES + this.pending[i].bytes.length - this.pending[i].sent;
    return n;
  }

  /** Builds one frame of at most `size` bytes from the head of the queue. */
  private fill(size: number): MediaFrame {
    const buf = new Uint8Array(size);
    let at = 0;
    let flags = 0;
    let captureTimeMs = NaN;
    while (this.pending.length > 0 && size - at > RECORD_HEADER_BYTES) {
      const p = this.pending[0];
      const take = Math.min(p.bytes.length - p.sent, size - at - RECORD_HEADER_BYTES);
      if (Number.isNaN(captureTimeMs)) captureTimeMs = p.captureTimeMs;
      if (p.sent === 0) flags |= FRAME_FRAGMENT_START | (p.keyFrame ? FRAME_KEY : 0);
      at = writeRecord(buf, at, {
        fragmentIndex: p.index,
        fragmentLength: p.bytes.length,
        offset: p.sent,
        keyFrame: p.keyFrame,
        mediaTimeMs: p.mediaTimeMs,
        payload: p.bytes.subarray(p.sent, p.sent + take),
      });
      p.sent += take;
      if (p.sent === p.bytes.length) {
        flags |= FRAME_FRAGMENT_END;
        this.pending.shift();
      }
    }
    return { seq: this.seq++, bytes: at === size ? buf : buf.slice(0, at), flags, captureTimeMs };
  }
}
