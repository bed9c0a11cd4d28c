// The seam between the tracker and what its nodes share: a Broker (publish/subscribe on named
// channels) and a StateStore (leases with a time to live, compare-and-set, hash snapshots). Two
// implementations: memory-backend.ts (one process, today's single node, the default) and
// redis-backend.ts (several tracker processes sharing one Redis). Interfaces only, no I/O here.

/** Publish/subscribe on named channels. Messages on one channel from one publisher keep their order. */
export interface Broker {
  /** Sends `message` to the channel's current subscribers; resolves with how many there were. */
  publish(channel: string, message: string): Promise<number>;
  /** Calls `onMessage` for every later message on `channel` (one handler per channel). */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
}

/** A write that applies only while `key` holds `value` (a lease still held: the fence). */
export interface Fence {
  key: string;
  value: string;
}

/** Shared state with expiry. Every operation is atomic on its own. */
export interface StateStore {
  /** Takes `key` for `holder` for ttlMs unless someone holds it (SET NX PX). */
  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease by ttlMs from now, only while `holder` still holds it. */
  renewLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease, only while `holder` holds it. */
  releaseLease(key: string, holder: string): Promise<boolean>;
  get(key: string): Promise<string | null>;
  /** Sets `key` to `next` (no expiry) only while it holds `expected` (null: absent). */
  compareAndSet(key: string, expected: string | null, next: string): Promise<boolean>;
  /** Sets and deletes fields of a hash in one step, only while the fence holds; false when it does not. */
  writeHash(key: string, set: Record<string, string>, del: string[], fence?: Fence): Promise<boolean>;
  readHash(key: string): Promise<Record<string, string>>;
  /** Deletes keys, only while the fence holds. */
  delete(keys: string[], fence?: Fence): Promise<boolean>;
}

export type BackendState = 'up' | 'down';

/** A broker and a store over one engine, with its connection state. */
export interface ClusterBackend {
  readonly kind: 'memory' | 'redis';
  readonly broker: Broker;
  readonly store: StateStore;
  /** 'down' while the engine cannot be reached (operations then reject). */
  readonly state: BackendState;
  /** Called on every change of `state`. */
  onState(listener: (s: BackendState) => void): void;
  /** Called with the duration of each completed operation, seconds (round-trip metrics). */
  onRoundTrip(listener: (seconds: number) => void): void;
  close(): Promise<void>;
}
