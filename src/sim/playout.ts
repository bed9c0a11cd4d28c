// The player's playout for one simulated viewer, from the times its frames were delivered: whole
// fragments released in order as the fragment assembler releases them, and the playhead moved by
// the player's own pure rules (decideLatency, waitBudgetMs, LatencyAdapter from src/player). Media
// time is capture time, so wall time minus the playhead is glass to glass. Pure; used by sim-report.ts.

import { LatencyAdapter } from '../player/latency-adapter.ts';
import { decideLatency, waitBudgetMs, type Range } from '../player/latency-controller.ts';
import { DEFAULT_PLAYER_CONFIG, type PlayerConfig } from '../player/player-config.ts';

/** One media fragment: its media span (capture time, ms) and the frames that carry it. */
export interface PlayoutFragment {
  startMs: number;
  endMs: number;
  seqs: number[];
}

export interface PlayoutInput {
  /** In media order, contiguous or not. */
  fragments: readonly PlayoutFragment[];
  /** Sequence numbers of init-segment frames: nothing plays before one of them arrived. */
  initSeqs: readonly number[];
  /** seq → delivery time, ms. */
  delivered: ReadonlyMap<number, number>;
  joinMs: number;
  /** Leave time or the end of the run, whichever is first. */
  endMs: number;
  /** Glass-to-glass samples are taken from here (join plus warm-up) to endMs. */
  measureFromMs: number;
  config?: PlayerConfig;
}

export interface Playout {
  /** Join to the first picture, ms; Infinity when the viewer never started. */
  firstPictureMs: number;
  /** Join to the first fragment it holds whole (every frame of it delivered), ms; Infinity: none. */
  firstWholeMs: number;
  /** Wall time minus the playhead at every player tick in the measured span, ms (Infinity before the first picture). */
  glassToGlassMs: number[];
  /** Time the playhead stood still after the first picture, waiting for media, ms. */
  stallMs: number;
  /** Stall episodes (each time the playhead ran out of media). */
  stalls: number;
  /** First picture to endMs, ms (0 when it never started). */
  watchMs: number;
  /** Per fragment: played through, at the player's playout point, with no stall waiting for it. */
  onTime: Uint8Array;
  /** Fragments given up by the assembler. */
  skipped: number;
  /**
   * Per fragment: when the player needed it and did not have it, ms (NaN: never): the moment the
   * playhead stalled at its start, or the assembler gave it up, whichever came first.
   */
  neededMs: Float64Array;
  /** Per fragment: the playhead ran into it stalled (it was late), the assembler gave it up. */
  late: Uint8Array;
  skippedAt: Uint8Array;
  /** Per fragment: the assembler appended it. */
  appended: Uint8Array;
}

/** The playhead standing still this long with nothing ahead is a stall to the latency adapter (as in MediaPlayer). */
const STALL_MS = 300;

export function simulatePlayout(input: PlayoutInput): Playout {
  const cfg = input.config ?? DEFAULT_PLAYER_CONFIG;
  const frags = input.fragments;
  const n = frags.length;
  // When each fragment is complete for this viewer (Infinity: never).
  const done = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (const s of frags[i].seqs) t = Math.max(t, input.delivered.get(s) ?? Infinity);
    done[i] = t;
  }
  let initAt = Infinity;
  for (const s of input.initSeqs) initAt = Math.min(initAt, input.delivered.get(s) ?? Infinity);
  const playedMs = new Float64Array(n);
  const late = new Uint8Array(n);
  const appended = new Uint8Array(n);
  const starts = Float64Array.from(frags, (f) => f.startMs);
  /** Index of the fragment whose span holds media time m (ms), or -1. */
  const at = (m: number) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const k = (lo + hi) >> 1;
      if (starts[k] <= m) lo = k + 1;
      else hi = k;
    }
    const i = lo - 1;
    return i >= 0 && m < frags[i].endMs ? i : -1;
  };

  // Moments the player acts: frame arrivals that complete a fragment (its pump) and its ticks.
  const arrivals = Array.from(done).filter((t) => t >= input.joinMs && t < input.endMs);
  arrivals.push(initAt);
  arrivals.sort((a, b) => a - b);
  const adapter = new LatencyAdapter(cfg);
  const ranges: Array<[number, number]> = [];
  const out: Playout = {
    firstPictureMs: Infinity, firstWholeMs: Infinity, glassToGlassMs: [], stallMs: 0, stalls: 0, watchMs: 0, onTime: new Uint8Array(n), skipped: 0,
    neededMs: new Float64Array(n).fill(NaN), late, skippedAt: new Uint8Array(n), appended,
  };
  for (const t of done) if (t >= input.joinMs) out.firstWholeMs = Math.min(out.firstWholeMs, t - input.joinMs);
  let next = -1;
  let blockedSince: number | null = null;
  let ct = 0;
  let started = false;
  let rate = 1;
  let now = input.joinMs;
  let inStall = false;
  let stillSince = 0;
  let lastAppend = -Infinity;
  let appendInterval = 500;
  let lag: Array<[number, number]> = [];

  const rangeOf = (t: number) => ranges.find(([s, e]) => t >= s - 0.05 && t < e);
  const addRange = (s: number, e: number) => {
    ranges.push([s, e]);
    ranges.sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < ranges.length; k++) {
      if (ranges[k][0] <= ranges[k - 1][1] + 1e-9) {
        ranges[k - 1][1] = Math.max(ranges[k - 1][1], ranges[k][1]);
        ranges.splice(k--, 1);
      }
    }
  };
  // The playhead from `now` to `t`: plays at `rate` inside buffered media, stands still at its end.
  const advance = (t: number) => {
    let dt = (t - now) / 1000;
    now = t;
    if (!started || dt <= 0) return;
    while (dt > 1e-12) {
      const r = rangeOf(ct);
      const room = r ? r[1] - ct : 0;
      if (room <= 1e-9) {
        if (!inStall) {
          inStall = true;
          out.stalls++;
          stillSince = t - dt * 1000;
          const waited = at(ct * 1000 + 1e-6);
          if (waited >= 0) {
            late[waited] = 1;
            if (Number.isNaN(out.neededMs[waited])) out.neededMs[waited] = stillSince;
          }
        }
        out.stallMs += dt * 1000;
        return;
      }
      inStall = false;
      const step = Math.min(room, dt * rate);
      credit(ct, ct + step);
      ct += step;
      dt -= step / rate;
    }
  };
  const credit = (a: number, b: number) => {
    for (let i = at(a * 1000 + 1e-6); i >= 0 && i < n && starts[i] < b * 1000; i++) {
      playedMs[i] += Math.min(b * 1000, frags[i].endMs) - Math.max(a * 1000, starts[i]);
    }
  };
  // The assembler's release rule: in order from the newest complete fragment at start; one still
  // incomplete holds up later complete ones for its wait budget, then is skipped.
  const pump = (): boolean => {
    if (now < initAt) return false;
    let any = false;
    if (next < 0) {
      for (let i = n - 1; i >= 0; i--) {
        if (done[i] <= now) {
          next = i;
          break;
        }
      }
      if (next < 0) return false;
    }
    const ahead = (() => {
      const r = rangeOf(ct);
      return started && r ? r[1] - ct : 0;
    })();
    const budget = waitBudgetMs(ahead, cfg.minWaitMs, cfg.maxWaitMs);
    while (next < n) {
      if (done[next] <= now) {
        addRange(frags[next].startMs / 1000, frags[next].endMs / 1000);
        appended[next] = 1;
        next++;
        blockedSince = null;
        any = true;
        continue;
      }
      let later = false;
      for (let k = next + 1; k < n && !later; k++) later = done[k] <= now;
      if (!later) {
        blockedSince = null;
        break;
      }
      blockedSince ??= now;
      if (now - blockedSince < budget) break;
      out.skipped++;
      out.skippedAt[next] = 1;
      if (Number.isNaN(out.neededMs[next])) out.neededMs[next] = now;
      adapter.trouble(now);
      next++;
    }
    if (any) {
      if (Number.isFinite(lastAppend)) appendInterval = 0.8 * appendInterval + 0.2 * Math.min(5000, now - lastAppend);
      lastAppend = now;
    }
    return any;
  };
  // The player's tick (MediaPlayer.#tick): stall trouble, latency decision, seek and rate.
  const tick = () => {
    if (ranges.length === 0) return;
    const windowMs = Math.min(5000, Math.max(300, 1.5 * appendInterval));
    lag = lag.filter(([a]) => now - a <= windowMs);
    lag.push([now, ranges[ranges.length - 1][1] - ct]);
    const peak = Math.max(...lag.map(([, l]) => l));
    if (started && inStall && now - stillSince > STALL_MS) adapter.trouble(now);
    const target = cfg.targetLatencyS + adapter.update(now);
    const d = decideLatency({ currentTime: ct, ranges: ranges as Range[], peakLatencyS: started ? peak : undefined }, { ...cfg, targetLatencyS: target });
    if (d.seekTo !== null) {
      ct = d.seekTo;
      lag = [];
      inStall = false;
    }
    if (!started && (d.seekTo !== null || rangeOf(ct))) {
      started = true;
      out.firstPictureMs = now - input.joinMs;
      adapter.start(now);
    }
    rate = d.playbackRate;
  };

  let ai = 0;
  for (let t = input.joinMs; t < input.endMs; t += cfg.tickMs) {
    // Arrivals before this tick: the player pumps at once and ticks after an append.
    for (; ai < arrivals.length && arrivals[ai] < t; ai++) {
      if (arrivals[ai] < now) continue;
      advance(arrivals[ai]);
      if (pump()) tick();
    }
    advance(t);
    pump();
    tick();
    if (t >= input.measureFromMs) out.glassToGlassMs.push(started ? t - ct * 1000 : Infinity);
  }
  advance(input.endMs);
  if (started) out.watchMs = input.endMs - input.joinMs - out.firstPictureMs;
  for (let i = 0; i < n; i++) {
    const span = frags[i].endMs - frags[i].startMs;
    out.onTime[i] = appended[i] && !late[i] && playedMs[i] >= span - 1 ? 1 : 0;
  }
  return out;
}
