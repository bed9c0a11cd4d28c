// The viewer's measured download rate, from the swarm's own deliveries. The broadcaster frames a
// fragment the moment the muxer hands it over, so all frames of a fragment leave at once; the spread
// of their arrivals at this viewer is the time its path took to bring the frames after the first,
// which gives a rate: (bytes after the first frame) / (last arrival − first arrival). Fragments of
// one frame, or whose frames arrived within `minSpreadMs`, say nothing. The figure is the median of
// the last `samples` rates within `maxAgeMs`. Pure: the caller passes arrival times.
// Used by MediaPlayer (pushFrame) and read by the rendition switcher (docs/media.md, Renditions).

export interface DownloadMeterConfig {
  /** Rates kept. Default 8. */
  samples: number;
  /** Spread below which a fragment's arrivals say nothing (timer resolution, one burst), ms. Default 15. */
  minSpreadMs: number;
  /** A rate older than this no longer counts, ms. Default 30 000. */
  maxAgeMs: number;
  /** Fragments followed at once (older ones dropped). Default 16. */
  maxOpen: number;
}

export const DEFAULT_DOWNLOAD_METER: DownloadMeterConfig = { samples: 8, minSpreadMs: 15, maxAgeMs: 30_000, maxOpen: 16 };

export class DownloadMeter {
  readonly config: DownloadMeterConfig;
  /** Per fragment: first arrival, last arrival, bytes after the first frame, frames. */
  #open = new Map<number, { firstMs: number; lastMs: number; laterBytes: number; frames: number }>();
  #rates: Array<{ atMs: number; bps: number }> = [];

  constructor(config: Partial<DownloadMeterConfig> = {}) {
    this.config = { ...DEFAULT_DOWNLOAD_METER, ...config };
  }

  /** A frame arrived at `nowMs` carrying `bytes` bytes of fragment `fragmentIndex` (first record's fragment). */
  frame(fragmentIndex: number, bytes: number, nowMs: number): void {
    const o = this.#open.get(fragmentIndex);
    if (!o) {
      this.#open.set(fragmentIndex, { firstMs: nowMs, lastMs: nowMs, laterBytes: 0, frames: 1 });
      while (this.#open.size > this.config.maxOpen) this.#open.delete(this.#open.keys().next().value as number);
      return;
    }
    o.lastMs = Math.max(o.lastMs, nowMs);
    o.laterBytes += bytes;
    o.frames++;
  }

  /** The fragment is complete (or given up): its spread becomes a rate, if it says anything. */
  done(fragmentIndex: number, nowMs: number): void {
    const o = this.#open.get(fragmentIndex);
    this.#open.delete(fragmentIndex);
    if (!o || o.frames < 2) return;
    const spread = o.lastMs - o.firstMs;
    if (spread < this.config.minSpreadMs) return;
    this.#rates.push({ atMs: nowMs, bps: (o.laterBytes * 8 * 1000) / spread });
    if (this.#rates.length > this.config.samples) this.#rates.shift();
  }

  /** Median of the recent rates, bits per second; null when none is recent. */
  rateBps(nowMs: number): number | null {
    const recent = this.#rates.filter((r) => nowMs - r.atMs <= this.config.maxAgeMs).map((r) => r.bps).sort((a, b) => a - b);
    if (recent.length === 0) return null;
    const mid = recent.length >> 1;
    return recent.length % 2 ? recent[mid] : (recent[mid - 1] + recent[mid]) / 2;
  }
}
