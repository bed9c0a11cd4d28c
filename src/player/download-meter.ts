// The viewer's download rate, measured from the swarm's own deliveries, packet by packet.
//
// What it measures. While a frame is pending at this viewer (its first media packet has come and
// the frame is not delivered yet) the viewer is waiting for bytes, and the media packets that
// arrive meanwhile show how fast its path brings them. Such time is cut into *busy periods*: a
// period starts with a packet that arrives while no period runs, takes every packet (of any frame,
// of any swarm the viewer is in) that arrives while one does, and ends when no frame is pending any
// more or when no packet came for `idleMs` (a frame waiting on a lost piece is not the path at
// work); one longer than `maxPeriodMs` is cut in two at a packet. The first packet of a period is
// left out (its bytes travelled before the period began), except after a cut. The figure is the
// counted bytes over the summed busy time of the periods that ended in the last `windowMs`.
//
// What that figure is, honestly:
// - Never above the path's capacity (as far as arrival times are wire times): the packets of a
//   period after the first crossed the bottleneck one after another within the period.
// - Never below the rate the stream arrives at: busy time is at most wall time.
// - Where the bottleneck is this viewer's own link (packets queue before it), arrivals are spaced by
//   the link's serialisation and the figure is the link's rate (packet-train dispersion), whether
//   the stream fills the link (frames pending all the time: the figure is about the stream's rate,
//   and it is the link's) or comes in bursts.
// - Where the senders are the bottleneck (a broadcaster's upload, a relay's pacing, a frame's
//   pieces trickling in from several peers), the figure is what the senders gave: a lower bound on
//   what this viewer could download. A stream sent at exactly its own rate, a frame's pieces spread
//   evenly over the frame's duration, shows only that rate: the headroom above it stays unknown.
//   This project's broadcaster and relays send a fragment's pieces as soon as they have them, so a
//   0.5 s fragment arrives in a burst and the burst's rate says much more than the stream's.
// - Arrival times are when the page handled each datachannel message, not when it came off the
//   wire: a main thread that was busy delivers held messages together (a period too short, the
//   figure too high) or late (too long, too low). A period shorter than `minBusyMs` counts as
//   `minBusyMs` (the clock's resolution), which caps the figure at bytes / `minBusyMs`.
// Pure and clock-free: the caller passes arrival times. Fed by the rendition switcher from each
// session's media packets (ViewerSessionOptions.onMediaPacket) and delivered frames; read through
// MediaPlayer.downloadBps by the quality choice (docs/media.md, Renditions).

export interface DownloadMeterConfig {
  /** Busy periods that ended within this long count, ms. Default 2000. */
  windowMs: number;
  /** No packet for this long ends a busy period, ms. Default 200. */
  idleMs: number;
  /** A busy period this long is cut (the next starts at the packet that cut it), so the window holds, ms. Default 500. */
  maxPeriodMs: number;
  /** A busy period shorter than this counts as this long (clock resolution, one dispatch burst), ms. Default 1. */
  minBusyMs: number;
  /** Fewer counted bytes than this in the window give no figure. Default 4096. */
  minBytes: number;
  /** A pending frame without a packet for this long is given up (no longer pending), ms. Default 2000. */
  staleMs: number;
  /** Frames followed at once, pending and delivered (older ones forgotten). Default 256. */
  maxFrames: number;
}

export const DEFAULT_DOWNLOAD_METER: DownloadMeterConfig = { windowMs: 2000, idleMs: 200, maxPeriodMs: 500, minBusyMs: 1, minBytes: 4096, staleMs: 2000, maxFrames: 256 };

/** What the meter saw over its window. */
export interface DownloadReport {
  /** Counted bytes × 8 / busy time, bits per second; null with fewer than `minBytes` counted bytes. */
  bps: number | null;
  /** Bytes counted (packets after each period's first) in the window. */
  bytes: number;
  /** Busy time summed over the window's periods, ms. */
  busyMs: number;
  /** Busy periods in the window that counted bytes. */
  periods: number;
  /** busyMs / windowMs: near 1, the stream fills what the path gives (the figure is the path's rate); small, the stream came in bursts. */
  busyShare: number;
}

/** Periods kept at most (a period needs two packets; far more than a window holds at any real rate). */
const MAX_PERIODS = 4096;

interface Period {
  startMs: number;
  lastMs: number;
  bytes: number;
}

export class DownloadMeter {
  readonly config: DownloadMeterConfig;
  /** Pending frames: key → arrival of their last packet. */
  #pending = new Map<number, number>();
  /** Delivered (or given-up) frames, oldest first: their later packets open nothing. */
  #done = new Set<number>();
  #period: Period | null = null;
  #closed: Array<{ endMs: number; busyMs: number; bytes: number }> = [];

  constructor(config: Partial<DownloadMeterConfig> = {}) {
    this.config = { ...DEFAULT_DOWNLOAD_METER, ...config };
  }

  /** A media packet of `bytes` bytes of frame `key` arrived at `nowMs` (times never go back). */
  packet(key: number, bytes: number, nowMs: number): void {
    this.#expire(nowMs);
    const done = this.#done.has(key);
    const p = this.#period;
    if (!p) {
      // A late piece of a delivered frame while nothing is pending: it says nothing of a wait.
      if (done) return;
      this.#period = { startMs: nowMs, lastMs: nowMs, bytes: 0 };
    } else {
      p.bytes += bytes;
      p.lastMs = Math.max(p.lastMs, nowMs);
      if (p.lastMs - p.startMs >= this.config.maxPeriodMs) {
        // A long busy time (a stream that keeps some frame pending): cut it here, losing nothing.
        this.#close();
        this.#period = { startMs: p.lastMs, lastMs: p.lastMs, bytes: 0 };
      }
    }
    if (done) return;
    this.#pending.delete(key);
    this.#pending.set(key, nowMs);
    if (this.#pending.size > this.config.maxFrames) this.#forget(this.#pending.keys().next().value as number);
  }

  /** Frame `key` was delivered (or given up) at `nowMs`: no longer pending. */
  frameDone(key: number, nowMs: number): void {
    this.#forget(key);
    if (this.#pending.size === 0 && this.#period) this.#close();
    this.#expire(nowMs);
  }

  /** The window's figure, bits per second; null when too little was counted. */
  rateBps(nowMs: number): number | null {
    return this.report(nowMs).bps;
  }

  report(nowMs: number): DownloadReport {
    this.#expire(nowMs);
    let bytes = 0;
    let busyMs = 0;
    let periods = 0;
    const add = (b: number, ms: number) => {
      bytes += b;
      busyMs += ms;
      periods++;
    };
    for (const c of this.#closed) add(c.bytes, c.busyMs);
    const p = this.#period;
    if (p && p.bytes > 0) add(p.bytes, Math.max(this.config.minBusyMs, p.lastMs - p.startMs));
    return {
      bps: bytes >= this.config.minBytes && busyMs > 0 ? (bytes * 8 * 1000) / busyMs : null,
      bytes,
      busyMs,
      periods,
      busyShare: Math.min(1, busyMs / this.config.windowMs),
    };
  }

  /** Frames followed now (pending, delivered): bounded by 2 × maxFrames. */
  get tracked(): number {
    return this.#pending.size + this.#done.size;
  }

  #forget(key: number): void {
    this.#pending.delete(key);
    this.#done.delete(key);
    this.#done.add(key);
    if (this.#done.size > this.config.maxFrames) this.#done.delete(this.#done.keys().next().value as number);
  }

  /** Ends the period at its last packet; one that counted no bytes says nothing. */
  #close(): void {
    const p = this.#period;
    this.#period = null;
    if (!p || p.bytes <= 0) return;
    this.#closed.push({ endMs: p.lastMs, busyMs: Math.max(this.config.minBusyMs, p.lastMs - p.startMs), bytes: p.bytes });
    if (this.#closed.length > MAX_PERIODS) this.#closed.shift();
  }

  #expire(nowMs: number): void {
    const c = this.config;
    // Pending frames silent for `staleMs` are given up (Map order is by last packet).
    for (const [key, lastMs] of this.#pending) {
      if (nowMs - lastMs < c.staleMs) break;
      this.#forget(key);
    }
    if (this.#period && (nowMs - this.#period.lastMs > c.idleMs || this.#pending.size === 0 && nowMs > this.#period.lastMs)) this.#close();
    while (this.#closed.length > 0 && nowMs - this.#closed[0].endMs > c.windowMs) this.#closed.shift();
  }
}
