// The harsh world of `--preset real`: what each peer is (uplink class, download, drop-tail queue,
// CPU speed, whether it will crash), what each pair is (blocked, relayed through TURN), bursty
// Gilbert–Elliott loss per link direction, loss growing with queue fill, and what the CPU costs.
// Numbers live in REAL_WORLD, written beside each. Pure: draws come from the caller's seeded
// generators; used by simulator.ts and sim-options.ts.

import type { SeededRng } from '../rng.ts';

export interface UplinkClass {
  /** Share of viewers in this class. */
  share: number;
  /** Upload drawn uniformly in [min, max] × the stream bitrate. */
  minRatio: number;
  maxRatio: number;
  /** Download limit, bits per second. */
  downBps: number;
}

export interface CpuClass {
  share: number;
  /** Time every cost below takes on this device, × a desktop's. */
  factor: number;
}

export interface WorldModel {
  uplinks: UplinkClass[];
  /** Drop-tail bound of a peer's uplink queue, drawn in [min, max] ms of its own uplink. */
  queueMs: [number, number];
  /** Extra loss at a full queue; it rises linearly from a half-full queue. */
  queueLoss: number;
  /** Gilbert–Elliott loss per link direction: mean stay in the bad state, loss in each state (the mean is `loss`). */
  burstBadMs: number;
  lossInBad: number;
  lossInGood: number;
  /** Reliable-channel retransmission timeout: max(rtoMinMs, 2 × RTT), doubling per retry. */
  rtoMinMs: number;
  /** Share of leaves that are crashes: no goodbye, found by timeouts. */
  crashShare: number;
  /** A neighbour finds a crashed peer's link down after [min, max] ms (ICE consent + the transport's stall timeout). */
  linkDeadMs: [number, number];
  /** A link not up after this long is reported to the tracker as failed (the transport's connect timeout). */
  connectTimeoutMs: number;
  /** Share of pairs that never connect (both behind symmetric NATs, no TURN). */
  blockedPairs: number;
  /** Share of pairs relayed through TURN: extra RTT in [min, max] ms and a rate cap. */
  relayedPairs: number;
  relayExtraRttMs: [number, number];
  relayCapBps: number;
  cpu: CpuClass[];
  /** Desktop costs, ms: per message received, per message sent, per KiB moved, per timer, per frame decoded, verified and appended. */
  receiveMs: number;
  sendMs: number;
  perKiBMs: number;
  timerMs: number;
  frameMs: number;
}

/** The harsh preset's world (its link numbers are in LINK_PRESETS.real). */
export const REAL_WORLD: Readonly<WorldModel> = Object.freeze<WorldModel>({
  uplinks: [
    { share: 0.2, minRatio: 0.3, maxRatio: 1, downBps: 15e6 }, // mobile and weak DSL, below the stream
    { share: 0.3, minRatio: 1, maxRatio: 3, downBps: 30e6 }, // ADSL / 4G
    { share: 0.35, minRatio: 3, maxRatio: 8, downBps: 100e6 }, // cable
    { share: 0.15, minRatio: 8, maxRatio: 40, downBps: 300e6 }, // fibre
  ],
  queueMs: [100, 600], // modem buffers, bufferbloat included
  queueLoss: 0.1,
  burstBadMs: 80,
  lossInBad: 0.5,
  lossInGood: 0.005,
  rtoMinMs: 250,
  crashShare: 0.5,
  linkDeadMs: [5000, 13000], // consent checks lost after ~5 s, the transport's 8 s stall timeout on top
  connectTimeoutMs: 10_000, // the transport's connectTimeoutMs
  blockedPairs: 0.05,
  relayedPairs: 0.1,
  relayExtraRttMs: [30, 120],
  relayCapBps: 3e6,
  cpu: [
    { share: 0.6, factor: 1 }, // desktop / laptop
    { share: 0.3, factor: 3 }, // mid-range phone
    { share: 0.1, factor: 8 }, // old phone, busy tab
  ],
  receiveMs: 0.03,
  sendMs: 0.02,
  perKiBMs: 0.004,
  timerMs: 0.03,
  frameMs: 1.5,
});

export interface PeerProfile {
  upBps: number;
  downBps: number;
  queueBytes: number;
  cpuFactor: number;
  crashes: boolean;
}

function pick<T extends { share: number }>(classes: readonly T[], u: number): T {
  let acc = 0;
  for (const c of classes) {
    acc += c.share;
    if (u < acc) return c;
  }
  return classes[classes.length - 1];
}

/** Draws one viewer's profile (always five draws, so every part of a parallel run stays in step). */
export function drawProfile(w: WorldModel, bitrateBps: number, rng: SeededRng): PeerProfile {
  const up = pick(w.uplinks, rng.next());
  const upBps = bitrateBps * rng.uniform(up.minRatio, up.maxRatio);
  const queueS = rng.uniform(w.queueMs[0], w.queueMs[1]) / 1000;
  const cpu = pick(w.cpu, rng.next());
  const crashes = rng.next() < w.crashShare;
  return { upBps, downBps: up.downBps, queueBytes: Math.max(16_384, (upBps / 8) * queueS), cpuFactor: cpu.factor, crashes };
}

/** Pair kinds from a fixed per-pair value u in [0, 1). */
export function pairKind(w: WorldModel | undefined, u: number): 'blocked' | 'relayed' | 'direct' {
  if (!w) return 'direct';
  if (u < w.blockedPairs) return 'blocked';
  if (u < w.blockedPairs + w.relayedPairs) return 'relayed';
  return 'direct';
}

/** Gilbert–Elliott state of one link direction. */
export interface BurstState {
  bad: boolean;
  /** When the state next flips, ms. */
  nextMs: number;
}

/**
 * The loss probability of a message leaving at `t`: the link's state then (advanced with the
 * sender's generator) mixed so that the long-run mean is `meanLoss`.
 */
export function burstLoss(w: WorldModel, meanLoss: number, s: BurstState, t: number, rng: SeededRng): number {
  if (meanLoss <= 0) return 0;
  const piBad = Math.min(0.9, Math.max(0, (meanLoss - w.lossInGood) / (w.lossInBad - w.lossInGood)));
  const goodMs = piBad > 0 ? (w.burstBadMs * (1 - piBad)) / piBad : Infinity;
  while (s.nextMs <= t) {
    s.bad = !s.bad;
    s.nextMs += rng.exp(s.bad ? w.burstBadMs : goodMs);
  }
  return s.bad ? w.lossInBad : piBad > 0 ? w.lossInGood : meanLoss;
}

/** Extra loss from a queue `fill` (0…1) full. */
export function queueLoss(w: WorldModel, fill: number): number {
  return fill <= 0.5 ? 0 : w.queueLoss * Math.min(1, (fill - 0.5) / 0.5);
}
