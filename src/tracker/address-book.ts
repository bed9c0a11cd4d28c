// Per-address state of the tracker server: open sockets, the message budget shared by an
// address's sockets and its join budget, keyed by host key (IPv4 address, IPv6 /64; see
// address-keys.ts). Entries outlive their sockets until their budgets are full again, so closing
// and reopening sockets does not reset a budget. Pure bookkeeping with times passed in.

import { take, type Bucket, type TrackerLimits } from './server-config.ts';

export interface AddressState {
  sockets: number;
  /** Messages of all the address's sockets. */
  bucket: Bucket;
  /** Joins and publishes of all the address's sockets. */
  joins: Bucket;
}

export class AddressBook {
  private readonly byKey = new Map<string, AddressState>();

  constructor(private readonly limits: TrackerLimits) {}

  get size(): number {
    return this.byKey.size;
  }

  sockets(key: string): number {
    return this.byKey.get(key)?.sockets ?? 0;
  }

  /** Counts a new socket of `key`. */
  open(key: string, nowMs: number): AddressState {
    let a = this.byKey.get(key);
    if (!a) this.byKey.set(key, (a = { sockets: 0, bucket: { tokens: this.limits.addressBurst, lastMs: nowMs }, joins: { tokens: this.limits.addressJoinBurst, lastMs: nowMs } }));
    a.sockets++;
    return a;
  }

  close(key: string): void {
    const a = this.byKey.get(key);
    if (a) a.sockets = Math.max(0, a.sockets - 1);
  }

  /** Takes one message from the address's budget. */
  takeMessage(a: AddressState, nowMs: number): boolean {
    return take(a.bucket, this.limits.addressRatePerSec, this.limits.addressBurst, nowMs);
  }

  /** Takes one join from the address's budget. */
  takeJoin(a: AddressState, nowMs: number): boolean {
    return take(a.joins, this.limits.addressJoinRatePerSec, this.limits.addressJoinBurst, nowMs);
  }

  /** Forgets addresses with no socket whose budgets have refilled (nothing left to remember). */
  prune(nowMs: number): void {
    const l = this.limits;
    for (const [k, a] of this.byKey) {
      if (a.sockets > 0) continue;
      const joins = Math.min(l.addressJoinBurst, a.joins.tokens + ((nowMs - a.joins.lastMs) * l.addressJoinRatePerSec) / 1000);
      const msgs = Math.min(l.addressBurst, a.bucket.tokens + ((nowMs - a.bucket.lastMs) * l.addressRatePerSec) / 1000);
      if (joins >= l.addressJoinBurst && msgs >= l.addressBurst) this.byKey.delete(k);
    }
  }
}
