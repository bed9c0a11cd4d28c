// In-memory Broker and StateStore (cluster-backend.ts): what one tracker process uses when no
// shared engine is configured, and what tests use to run several nodes in one process. Nodes made
// over the same MemorySpace see each other's channels and keys. Time comes from an injectable
// clock, so lease expiry follows virtual time in tests.

import { P2PError } from '../errors.ts';
import type { BackendState, Broker, ClusterBackend, Fence, StateStore } from './cluster-backend.ts';

interface Entry {
  value: string;
  /** Expiry time (clock ms), Infinity for none. */
  expiresMs: number;
}

/** The shared engine: keys, hashes and channels of every backend made over it. */
export class MemorySpace {
  readonly keys = new Map<string, Entry>();
  readonly hashes = new Map<string, Map<string, string>>();
  readonly channels = new Map<string, Set<(m: string) => void>>();
  private readonly stateListeners = new Set<(s: BackendState) => void>();
  state: BackendState = 'up';

  constructor(readonly now: () => number = () => performance.now()) {}

  /** Makes the engine unreachable (operations reject) or reachable again; 'down' also forgets all data when `wipe`. */
  setState(s: BackendState, wipe = false): void {
    if (wipe) {
      this.keys.clear();
      this.hashes.clear();
    }
    if (s === this.state) return;
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  listen(l: (s: BackendState) => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  live(key: string): Entry | undefined {
    const e = this.keys.get(key);
    if (e && e.expiresMs <= this.now()) {
      this.keys.delete(key);
      return undefined;
    }
    return e;
  }
}

/** Makes a backend over `space` (a fresh one by default: a single node). */
export function memoryBackend(space: MemorySpace = new MemorySpace()): ClusterBackend {
  const subs = new Map<string, (m: string) => void>();
  const rtt = new Set<(s: number) => void>();
  const unlisten: Array<() => void> = [];
  let closed = false;
  const check = (): void => {
    if (closed) throw new P2PError('CLUSTER_UNAVAILABLE', 'the in-memory backend is closed');
    if (space.state === 'down') throw new P2PError('CLUSTER_UNAVAILABLE', 'the in-memory backend is down');
  };
  // Every operation is async like a network one, and reports its (tiny) duration.
  const op = async <T>(fn: () => T): Promise<T> => {
    const t0 = performance.now();
    check();
    const r = fn();
    for (const l of rtt) l((performance.now() - t0) / 1000);
    return r;
  };
  const fenced = (f?: Fence): boolean => !f || space.live(f.key)?.value === f.value;

  const broker: Broker = {
    publish: (channel, message) =>
      op(() => {
        const set = space.channels.get(channel);
        if (!set) return 0;
        // Delivered later, in order, like a message that went over a socket.
        for (const h of set) queueMicrotask(() => h(message));
        return set.size;
      }),
    subscribe: (channel, onMessage) =>
      op(() => {
        const old = subs.get(channel);
        if (old) space.channels.get(channel)?.delete(old);
        subs.set(channel, onMessage);
        let set = space.channels.get(channel);
        if (!set) space.channels.set(channel, (set = new Set()));
        set.add(onMessage);
      }),
    unsubscribe: (channel) =>
      op(() => {
        const h = subs.get(channel);
        subs.delete(channel);
        if (h) space.channels.get(channel)?.delete(h);
      }),
  };

  const store: StateStore = {
    acquireLease: (key, holder, ttlMs) =>
      op(() => {
        if (space.live(key)) return false;
        space.keys.set(key, { value: holder, expiresMs: space.now() + ttlMs });
        return true;
      }),
    renewLease: (key, holder, ttlMs) =>
      op(() => {
        const e = space.live(key);
        if (!e || e.value !== holder) return false;
        e.expiresMs = space.now() + ttlMs;
        return true;
      }),
    releaseLease: (key, holder) =>
      op(() => {
        const e = space.live(key);
        if (!e || e.value !== holder) return false;
        space.keys.delete(key);
        return true;
      }),
    get: (key) => op(() => space.live(key)?.value ?? null),
    compareAndSet: (key, expected, next) =>
      op(() => {
        if ((space.live(key)?.value ?? null) !== expected) return false;
        space.keys.set(key, { value: next, expiresMs: Infinity });
        return true;
      }),
    writeHash: (key, set, del, fence) =>
      op(() => {
        if (!fenced(fence)) return false;
        let h = space.hashes.get(key);
        if (!h) space.hashes.set(key, (h = new Map()));
        for (const [k, v] of Object.entries(set)) h.set(k, v);
        for (const k of del) h.delete(k);
        if (h.size === 0) space.hashes.delete(key);
        return true;
      }),
    readHash: (key) => op(() => Object.fromEntries(space.hashes.get(key) ?? [])),
    delete: (keys, fence) =>
      op(() => {
        if (!fenced(fence)) return false;
        for (const k of keys) {
          space.keys.delete(k);
          space.hashes.delete(k);
        }
        return true;
      }),
  };

  return {
    kind: 'memory',
    broker,
    store,
    get state() {
      return closed ? 'down' : space.state;
    },
    onState(l) {
      unlisten.push(space.listen(l));
    },
    onRoundTrip(l) {
      rtt.add(l);
    },
    async close() {
      for (const [ch, h] of subs) space.channels.get(ch)?.delete(h);
      subs.clear();
      for (const u of unlisten) u();
      closed = true;
    },
  };
}
