// Timing for the codec benchmark: every contender of a workload runs in the same process, in
// alternating rounds, after its output was checked; figures are medians with the spread.
// Prints nothing itself and asserts nothing about speed. Used by bench/codec.bench.ts.

/** One contender on one workload. `run` does one operation; `check` says its output is right. */
export interface Cell {
  name: string;
  run: () => void;
  check: () => boolean;
}

export interface Figure {
  name: string;
  /** Operations per second, median over rounds; NaN when the check failed. */
  opsPerSec: number;
  /** Interquartile range / median. */
  spread: number;
  ok: boolean;
  /** Operations per second of each round, in round order (for paired ratios between cells). */
  rates: number[];
}

const now = (): number => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs the cells in alternating rounds of about `batchMs` each and returns one figure per cell.
 * `rates[r]` of every figure comes from the same round r, so paired ratios between cells hold. */
export function measure(cells: Cell[], rounds: number, batchMs: number): Figure[] {
  const live = cells.map((c) => {
    let ok = false;
    try {
      c.run();
      ok = c.check();
    } catch {
      ok = false;
    }
    let n = 1;
    if (ok) {
      const t0 = now();
      c.run();
      const one = Math.max(now() - t0, 1e-4);
      n = Math.max(1, Math.round(batchMs / one));
    }
    return { cell: c, ok, n, rates: [] as number[] };
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no cell always follows the same neighbour (and its garbage),
    // and collect garbage outside the timed part when the process runs with --expose-gc.
    for (let i = 0; i < live.length; i++) {
      const l = live[(i + r) % live.length];
      if (!l.ok) continue;
      gc?.();
      const t0 = now();
      for (let k = 0; k < l.n; k++) l.cell.run();
      const dt = now() - t0;
      l.rates.push((l.n * 1000) / Math.max(dt, 1e-6));
      if (r === 0 && dt > batchMs * 3 && l.n > 1) l.n = Math.max(1, Math.round((l.n * batchMs) / dt));
    }
  }
  return live.map((l) => {
    const ok = l.ok && (() => { try { return l.cell.check(); } catch { return false; } })();
    if (!ok) return { name: l.cell.name, opsPerSec: Number.NaN, spread: 0, ok: false, rates: [] };
    const s = [...l.rates].sort((a, b) => a - b);
    const med = median(s);
    const q1 = s[Math.floor((s.length - 1) / 4)];
    const q3 = s[Math.ceil(((s.length - 1) * 3) / 4)];
    return { name: l.cell.name, opsPerSec: med, spread: (q3 - q1) / med, ok: true, rates: l.rates };
  });
}

/** Glue of `glued` over `base` (both checked before and after): per round, ratios of time per op. */
export interface PairFigure {
  ok: boolean;
  /** glued / base time per operation, one per round. */
  ratios: number[];
  /** Fastest round of each, operations per second. */
  bestBase: number;
  bestGlued: number;
}

/**
 * Times two cells against each other in rounds of base, glued, glued, base (about `batchMs` each),
 * so a load change of a shared machine during a round hits both alike; garbage is collected
 * before each round (outside the timing) when the process runs with --expose-gc.
 */
export function measurePair(base: Cell, glued: Cell, rounds: number, batchMs: number): PairFigure {
  const fail: PairFigure = { ok: false, ratios: [], bestBase: Number.NaN, bestGlued: Number.NaN };
  const calibrate = (c: Cell): number => {
    c.run();
    if (!c.check()) return 0;
    const t0 = now();
    c.run();
    return Math.max(1, Math.round(batchMs / Math.max(now() - t0, 1e-4)));
  };
  let nb = 0;
  let ng = 0;
  try {
    nb = calibrate(base);
    ng = calibrate(glued);
  } catch {
    return fail;
  }
  if (nb === 0 || ng === 0) return fail;
  const time = (c: Cell, n: number): number => {
    const t0 = now();
    for (let k = 0; k < n; k++) c.run();
    return Math.max(now() - t0, 1e-6) / n;
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  const ratios: number[] = [];
  let bestBase = Infinity;
  let bestGlued = Infinity;
  for (let r = 0; r < rounds; r++) {
    gc?.();
    const b1 = time(base, nb);
    const g1 = time(glued, ng);
    const g2 = time(glued, ng);
    const b2 = time(base, nb);
    ratios.push((g1 + g2) / (b1 + b2));
    bestBase = Math.min(bestBase, b1, b2);
    bestGlued = Math.min(bestGlued, g1, g2);
  }
  try {
    if (!base.check() || !glued.check()) return fail;
  } catch {
    return fail;
  }
  return { ok: true, ratios, bestBase: 1000 / bestBase, bestGlued: 1000 / bestGlued };
}
