// Signal budgets per (sender, receiver) pair. A WebRTC negotiation is an offer, an answer and a
// few dozen ICE candidates; beyond that a sender is flooding its neighbour. Each pair has a token
// bucket whose cost grows with the signal's size; the excess is dropped and charged to the sender,
// never to the receiver. Pure bookkeeping with times passed in; used by server.ts.

import type { Bucket } from './server-config.ts';

export interface SignalBudgetLimits {
  /** Budget units per second of one pair. */
  pairSignalRatePerSec: number;
  /** Budget units a pair may spend at once. */
  pairSignalBurst: number;
  /** Bytes of signal data one budget unit covers (a signal costs ⌈bytes / this⌉, at least 1). */
  pairSignalUnitBytes: number;
}

/** Pairs remembered per sender; the oldest is forgotten beyond this (senders reach only neighbours). */
const MAX_PAIRS = 160;

export class SignalBudget {
  private readonly pairs = new Map<string, Bucket>();

  constructor(private readonly limits: SignalBudgetLimits) {}

  /** The cost of one signal of `bytes` serialised bytes. */
  cost(bytes: number): number {
    return Math.max(1, Math.ceil(bytes / this.limits.pairSignalUnitBytes));
  }

  private bucket(to: string, nowMs: number): Bucket {
    let b = this.pairs.get(to);
    if (!b) {
      if (this.pairs.size >= MAX_PAIRS) this.pairs.delete(this.pairs.keys().next().value as string);
      this.pairs.set(to, (b = { tokens: this.limits.pairSignalBurst, lastMs: nowMs }));
    }
    const l = this.limits;
    b.tokens = Math.min(l.pairSignalBurst, b.tokens + ((nowMs - b.lastMs) * l.pairSignalRatePerSec) / 1000);
    b.lastMs = nowMs;
    return b;
  }

  /** Spends `cost` of the pair's budget; false (nothing spent) when it does not have that much. */
  spend(to: string, cost: number, nowMs: number): boolean {
    const b = this.bucket(to, nowMs);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /**
   * Charges a signal that was dropped for the receiver's sake (its backlog is full): the cost is
   * taken even below zero (down to minus one burst), so a sender that keeps pushing into a stuck
   * receiver runs out of budget and its further signals count as violations.
   */
  charge(to: string, cost: number, nowMs: number): void {
    const b = this.bucket(to, nowMs);
    b.tokens = Math.max(-this.limits.pairSignalBurst, b.tokens - cost);
  }

  forget(to: string): void {
    this.pairs.delete(to);
  }
}
