// A peer's measure of its own upload capacity and headroom, from what it actually does: bytes it
// hands to its channels, how much of them is still buffered (sum of bufferedAmount), media it had
// to drop, and how late its event loop runs. Produces the figure a peer reports to the tracker
// (`uploadBps`). Pure: no clock, no timer (callers pass nowMs). Used by the session and the
// swarm simulator, which feed it the same kinds of observations.
//
// Delivery-rate samples: over at least `sampleMs`, the bytes that left the buffer (handed minus
// buffer growth) divided by the time. Each sample is at most the capacity; when the buffer stood
// non-empty at both ends the link was busy, and the sample is the capacity. The estimate is the
// largest sample of the last `windowMs` (the windowed-max filter of BBR's bottleneck bandwidth):
// a peer that never filled its buffer reports what it demonstrated, a lower bound.

export interface CapacityMeterConfig {
  /** Shortest span of one delivery-rate sample, ms. Default 250. */
  sampleMs: number;
  /** The estimate is the largest sample this recent, ms. Default 10 000. */
  windowMs: number;
  /** Event-loop lag up to this costs nothing, ms. Default 50. */
  lagOkMs: number;
  /** At this lag (smoothed) the peer reports no capacity at all, ms. Default 500. */
  lagBadMs: number;
  /** Weight of a new lag sample in the smoothed lag. Default 0.1. */
  lagGain: number;
  /** Weight of a new sample in the smoothed drop share. Default 0.2. */
  dropGain: number;
}

export const DEFAULT_CAPACITY_METER_CONFIG: Readonly<CapacityMeterConfig> = Object.freeze({
  sampleMs: 250,
  windowMs: 10_000,
  lagOkMs: 50,
  lagBadMs: 500,
  lagGain: 0.1,
  dropGain: 0.2,
});

export interface CapacityReport {
  /** What to report to the tracker, bits per second: the estimate scaled by headroom; undefined before any sample. */
  uploadBps: number | undefined;
  /** Windowed-max delivery rate, bits per second (undefined before any sample). */
  capacityBps: number | undefined;
  /** Bits per second that left the buffer over the last sample. */
  deliveredBps: number;
  /** Share of the window's samples taken with the buffer backed up (the peer sends all it can). */
  busyShare: number;
  /**
   * How far the figure is what the peer can do rather than a lower bound: the busy share, or the
   * headroom lost to event-loop lag (1 − headroom), whichever is more. Near 0: an idle uplink and
   * a prompt event loop, so the peer could send more than it showed.
   */
  limitedShare: number;
  /** Buffered bytes now, as time at the estimated rate, ms. */
  queueMs: number;
  /** Smoothed share of media bytes dropped before sending (buffer full or stale). */
  dropShare: number;
  /** Smoothed event-loop lag, ms. */
  lagMs: number;
  /** 1 with a prompt event loop, falling to 0 at lagBadMs. */
  headroom: number;
}

interface Sample {
  atMs: number;
  bps: number;
  busy: boolean;
}

export class CapacityMeter {
  readonly config: CapacityMeterConfig;
  private t0 = NaN;
  private q0 = 0;
  private handed = 0;
  private dropped = 0;
  private queue = 0;
  private samples: Sample[] = [];
  private last = 0;
  private lag = 0;
  private drop = 0;

  constructor(config: Partial<CapacityMeterConfig> = {}) {
    this.config = { ...DEFAULT_CAPACITY_METER_CONFIG, ...config };
  }

  /** `bytes` were handed to a channel at nowMs. */
  sent(bytes: number, nowMs: number): void {
    if (!(bytes > 0)) return;
    if (Number.isNaN(this.t0)) this.start(nowMs);
    this.handed += bytes;
  }

  /** Media of `bytes` had to be dropped before sending (buffer full, too late). */
  droppedBytes(bytes: number, nowMs: number): void {
    if (!(bytes > 0)) return;
    if (Number.isNaN(this.t0)) this.start(nowMs);
    this.dropped += bytes;
  }

  /** Bytes still buffered in all its channels at nowMs (sum of bufferedAmount); closes a sample when due. */
  buffered(bytes: number, nowMs: number): void {
    const q = Math.max(0, bytes);
    this.queue = q;
    if (Number.isNaN(this.t0)) {
      this.start(nowMs);
      return;
    }
    const span = nowMs - this.t0;
    if (span < this.config.sampleMs) return;
    const left = Math.max(0, this.handed + this.q0 - q);
    const bps = (left * 8000) / span;
    const busy = this.q0 > 0 && q > 0;
    const total = this.handed + this.dropped;
    if (total > 0) this.drop += this.config.dropGain * (this.dropped / total - this.drop);
    this.last = bps;
    this.push({ atMs: nowMs, bps, busy });
    this.t0 = nowMs;
    this.q0 = q;
    this.handed = 0;
    this.dropped = 0;
  }

  /** How late the event loop ran a task that was due at a known time, ms. */
  lagged(ms: number): void {
    if (!(ms >= 0)) return;
    this.lag += this.config.lagGain * (ms - this.lag);
  }

  report(nowMs: number): CapacityReport {
    this.prune(nowMs);
    const c = this.config;
    let capacity: number | undefined;
    for (const s of this.samples) capacity = Math.max(capacity ?? 0, s.bps);
    const headroom = Math.max(0, Math.min(1, 1 - (this.lag - c.lagOkMs) / (c.lagBadMs - c.lagOkMs)));
    let busy = 0;
    for (const s of this.samples) if (s.busy) busy++;
    const busyShare = this.samples.length ? busy / this.samples.length : 0;
    return {
      uploadBps: capacity === undefined ? undefined : Math.round(capacity * headroom),
      capacityBps: capacity,
      deliveredBps: this.last,
      busyShare,
      limitedShare: Math.max(busyShare, 1 - headroom),
      queueMs: capacity ? (this.queue * 8000) / capacity : this.queue > 0 ? Infinity : 0,
      dropShare: this.drop,
      lagMs: this.lag,
      headroom,
    };
  }

  private start(nowMs: number): void {
    this.t0 = nowMs;
    this.q0 = this.queue;
  }

  private push(s: Sample): void {
    this.samples.push(s);
    this.prune(s.atMs);
  }

  private prune(nowMs: number): void {
    const q = this.samples;
    while (q.length && nowMs - q[0].atMs > this.config.windowMs) q.shift();
  }
}
