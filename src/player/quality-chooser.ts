// The quality chooser: which rendition a viewer should play, from what it measured (download rate,
// decode / append time, dropped frames, stalls and skipped fragments). Pure and clock-free: the
// caller passes the time. Used by the rendition controller of <p2p-player> (quality = 'auto').
//
// Start: the highest rendition whose bitrate fits the download rate with a margin and whose decode
// load (scaled from what was measured by picture area) stays light. Then one step at a time, with
// hysteresis: down at once (after a short settle) when the viewer falls behind — a stall or a
// skipped fragment, a download rate below 1.1 × the rendition's bitrate, a decode load above 0.8,
// more than 15 % of frames dropped or the picture frozen more than 10 % of the time; up only after
// `upAfterMs` without any trouble and when the next
// rendition fits with room to spare (download ≥ 1.5 × its bitrate, decode load ≤ 0.5).

import { P2PError } from '../errors.ts';

/** 'auto' or a rendition-name-shaped text (1 … 16 of a-z 0-9 _ -); else P2PError('UNKNOWN_QUALITY'). */
export function checkQualityText(q: unknown): string {
  if (typeof q !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,15}$/.test(q)) {
    throw new P2PError('UNKNOWN_QUALITY', `quality must be 'auto' or a rendition name (1 … 16 of a-z 0-9 _ -), got ${JSON.stringify(String(q).slice(0, 40))}`);
  }
  return q;
}

/** What the chooser needs of a rendition. */
export interface QualityLevel {
  height: number;
  bitrateBps: number;
}

export interface QualityMeasures {
  nowMs: number;
  /** Download rate the viewer measured, bits per second; null when unknown. */
  downloadBps: number | null;
  /** Share of wall time spent decoding / appending per second of media of the playing rendition (0 … ); null when unknown. */
  decodeLoad: number | null;
  /** Share of video frames dropped lately (0 … 1); null when unknown. */
  droppedShare: number | null;
  /**
   * Share of the recent playing time the picture stood still (0 … 1): the browser fell behind
   * decoding or the stream came late; null (or absent) when unknown.
   */
  frozenShare?: number | null;
  /** Stalls and skipped fragments since the last call. */
  troubles: number;
}

export interface QualityChooserConfig {
  /** Download must reach this × bitrate to start on, or move up to, a rendition. Default 1.5. */
  upMargin: number;
  /** Below this × the playing rendition's bitrate the viewer moves down. Default 1.1. */
  downMargin: number;
  /** Decode load allowed to start on or move up to a rendition / that moves down. Defaults 0.5 / 0.8. */
  upLoad: number;
  downLoad: number;
  /** Dropped-frame share that moves down. Default 0.15. */
  downDropped: number;
  /** Frozen-picture share that moves down. Default 0.1. */
  downFrozen: number;
  /** Calm time (no trouble, no switch) before moving up, ms. Default 10 000. */
  upAfterMs: number;
  /** Least time between two switches down, ms (a switch takes a key frame to land). Default 3000. */
  downSettleMs: number;
}

export const DEFAULT_QUALITY_CHOOSER: QualityChooserConfig = {
  upMargin: 1.5,
  downMargin: 1.1,
  upLoad: 0.5,
  downLoad: 0.8,
  downDropped: 0.15,
  downFrozen: 0.1,
  upAfterMs: 10_000,
  downSettleMs: 3000,
};

/**
 * The renditions' bitrates as they run: an encoder's bitrate is a ceiling, and a still or plain
 * picture uses far less. With the playing rendition measured at `measuredBps`, each rendition's
 * figure is its configured one scaled by the same share (never above the configured one, and the
 * share at least 0.05); unchanged while nothing is measured.
 */
export function effectiveLevels<T extends QualityLevel>(levels: readonly T[], playing: number, measuredBps: number | null): T[] {
  const cur = levels[playing];
  if (!cur || measuredBps === null || !(measuredBps > 0) || !(cur.bitrateBps > 0)) return levels.slice();
  const share = Math.min(1, Math.max(0.05, measuredBps / cur.bitrateBps));
  return levels.map((l) => ({ ...l, bitrateBps: l.bitrateBps * share }));
}

/** Estimated decode load of `to` from the load measured while playing `from`, by picture area. */
export function scaledLoad(load: number, from: QualityLevel, to: QualityLevel): number {
  if (from.height <= 0 || to.height <= 0) return load;
  return load * (to.height / from.height) ** 2;
}

function fits(level: QualityLevel, playing: QualityLevel, m: QualityMeasures, c: QualityChooserConfig): boolean {
  if (m.downloadBps !== null && m.downloadBps < c.upMargin * level.bitrateBps) return false;
  if (m.decodeLoad !== null && scaledLoad(m.decodeLoad, playing, level) > c.upLoad) return false;
  return true;
}

/** The start rendition: index into `levels` (top first) of the highest one the measures allow; the lowest if none. */
export function startQuality(levels: readonly QualityLevel[], playing: number, m: QualityMeasures, c: QualityChooserConfig = DEFAULT_QUALITY_CHOOSER): number {
  if (levels.length === 0) return 0;
  const from = levels[Math.min(Math.max(0, playing), levels.length - 1)];
  for (let i = 0; i < levels.length; i++) if (fits(levels[i], from, m, c)) return i;
  return levels.length - 1;
}

/**
 * Chooses step by step; keep one per viewer. `choose` returns the index (top first) to play, never
 * more than one step from the playing one.
 */
export class QualityChooser {
  readonly config: QualityChooserConfig;
  #calmSinceMs: number | null = null;
  #lastSwitchMs = -Infinity;

  constructor(config: Partial<QualityChooserConfig> = {}) {
    this.config = { ...DEFAULT_QUALITY_CHOOSER, ...config };
  }

  /** Tells the chooser a switch happened (its own or the viewer's), at `nowMs`. */
  switched(nowMs: number): void {
    this.#lastSwitchMs = nowMs;
    this.#calmSinceMs = nowMs;
  }

  choose(levels: readonly QualityLevel[], playing: number, m: QualityMeasures): number {
    const c = this.config;
    if (levels.length <= 1) return 0;
    const cur = Math.min(Math.max(0, playing), levels.length - 1);
    const level = levels[cur];
    const behind = m.troubles > 0
      || (m.downloadBps !== null && m.downloadBps < c.downMargin * level.bitrateBps)
      || (m.decodeLoad !== null && m.decodeLoad > c.downLoad)
      || (m.droppedShare !== null && m.droppedShare > c.downDropped)
      || (m.frozenShare != null && m.frozenShare > c.downFrozen);
    if (behind) {
      this.#calmSinceMs = m.nowMs;
      if (cur < levels.length - 1 && m.nowMs - this.#lastSwitchMs >= c.downSettleMs) {
        this.switched(m.nowMs);
        return cur + 1;
      }
      return cur;
    }
    this.#calmSinceMs ??= m.nowMs;
    if (cur > 0 && m.nowMs - this.#calmSinceMs >= c.upAfterMs && fits(levels[cur - 1], level, m, c)) {
      this.switched(m.nowMs);
      return cur - 1;
    }
    return cur;
  }
}
