// A session's measure of its own upload: every `sampleMs` on the session's clock it reads what the
// session handed to its channels, what they still hold (sum of bufferedAmount), the media sends
// the transport refused, and how late its own timer ran (event-loop lag), and feeds the pure
// CapacityMeter (src/protocol/capacity-meter.ts) the swarm simulator runs too. Every `reportMs`
// it hands the meter's figure to `report` (the session passes it to the tracker client as
// measuredUploadBps). Used by ViewerSession and BroadcastSession.

import { CapacityMeter, type CapacityMeterConfig, type CapacityReport } from '../protocol/capacity-meter.ts';
import { realClock, type TransportClock } from '../transport/transport-clock.ts';

/** What the meter reads at each sample; counters only grow. */
export interface UploadSource {
  /** Bytes handed to the channels so far (application layer). */
  bytesUp(): number;
  /** Media bytes the transport refused so far (its buffer was full). */
  bytesRefused(): number;
  /** Bytes queued in every channel now and not yet sent (sum of bufferedAmount). */
  bufferedBytes(): number;
}

export interface UploadMeterConfig {
  /** How often the source is read, ms. Default: the meter's sampleMs (250). */
  sampleMs: number;
  /** How often the figure is reported, ms. Default 1000. */
  reportMs: number;
  /** The capacity meter's own settings. */
  meter: Partial<CapacityMeterConfig>;
  /** Timers and time. Default: the real clock (performance.now, setTimeout). */
  clock: TransportClock;
}

export class UploadMeter {
  readonly meter: CapacityMeter;
  readonly #source: UploadSource;
  readonly #report: (uploadBps: number, report: CapacityReport) => void;
  readonly #cfg: UploadMeterConfig;
  #timer: unknown = null;
  #dueMs = NaN;
  #lastReportMs = NaN;
  #bytesUp = 0;
  #refused = 0;
  #last: CapacityReport | null = null;

  constructor(source: UploadSource, report: (uploadBps: number, report: CapacityReport) => void, config: Partial<UploadMeterConfig> = {}) {
    this.meter = new CapacityMeter(config.meter);
    this.#cfg = { sampleMs: this.meter.config.sampleMs, reportMs: 1000, meter: {}, clock: realClock, ...config };
    this.#source = source;
    this.#report = report;
  }

  /** The meter's latest report (null before the first report). */
  get last(): CapacityReport | null {
    return this.#last;
  }

  start(): void {
    if (this.#timer !== null) return;
    const now = this.#cfg.clock.now();
    this.#bytesUp = this.#source.bytesUp();
    this.#refused = this.#source.bytesRefused();
    this.meter.buffered(this.#source.bufferedBytes(), now);
    this.#lastReportMs = now;
    this.#arm(now);
  }

  stop(): void {
    if (this.#timer !== null) this.#cfg.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(now: number): void {
    this.#dueMs = now + this.#cfg.sampleMs;
    this.#timer = this.#cfg.clock.setTimeout(() => this.#sample(), this.#cfg.sampleMs);
  }

  #sample(): void {
    const c = this.#cfg;
    const now = c.clock.now();
    this.meter.lagged(Math.max(0, now - this.#dueMs));
    const up = this.#source.bytesUp();
    const refused = this.#source.bytesRefused();
    this.meter.sent(up - this.#bytesUp, now);
    this.meter.droppedBytes(refused - this.#refused, now);
    this.meter.buffered(this.#source.bufferedBytes(), now);
    this.#bytesUp = up;
    this.#refused = refused;
    if (now - this.#lastReportMs >= c.reportMs) {
      this.#lastReportMs = now;
      this.#last = this.meter.report(now);
      if (this.#last.uploadBps !== undefined) this.#report(this.#last.uploadBps, this.#last);
    }
    this.#arm(now);
  }
}

/** Largest figure the tracker accepts (its message schema's bound), bits per second. */
const MAX_REPORTED_BPS = 1e10;

/**
 * Starts a meter on a session's driver that reports to its tracker client: the figure goes out
 * as `measuredUploadBps` with how limited it was (`uploadLimitedShare`: the share of samples with
 * its buffers backed up, or the headroom lost to event-loop lag; near 1 the figure is what it can
 * do, near 0 a lower bound) with the next heartbeat (at once when it changed much).
 */
export function meterUpload(
  driver: { readonly traffic: { bytesUp: number; mediaBytesRefused: number }; bufferedBytes(): number },
  tracker: { setStats(stats: { measuredUploadBps?: number; uploadLimitedShare?: number }): void },
  reportMs: number,
): UploadMeter {
  const m = new UploadMeter(
    { bytesUp: () => driver.traffic.bytesUp, bytesRefused: () => driver.traffic.mediaBytesRefused, bufferedBytes: () => driver.bufferedBytes() },
    (bps, r) => tracker.setStats({ measuredUploadBps: Math.min(MAX_REPORTED_BPS, bps), uploadLimitedShare: Math.round(r.limitedShare * 1000) / 1000 }),
    { reportMs },
  );
  m.start();
  return m;
}
