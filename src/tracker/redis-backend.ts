// Broker and StateStore (cluster-backend.ts) over Redis 7 with ioredis: leases are SET NX PX and
// small Lua scripts (renew, release, compare-and-set, fenced hash writes run atomically on the
// server); messages use sharded pub/sub (SPUBLISH/SSUBSCRIBE). Two connections: one for commands,
// one subscribed. Commands fail at once while Redis is unreachable (no offline queue), so a caller
// never stalls on it; ioredis reconnects and subscribes again on its own.

import { Redis } from 'ioredis';
import { P2PError } from '../errors.ts';
import type { BackendState, Broker, ClusterBackend, Fence, StateStore } from './cluster-backend.ts';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
// ARGV[1] = '1' when a value is expected (ARGV[2]), '0' when the key must be absent; ARGV[3] = next.
const CAS = `local v = redis.call('GET', KEYS[1])
if (ARGV[1] == '0' and v == false) or (ARGV[1] == '1' and v == ARGV[2]) then redis.call('SET', KEYS[1], ARGV[3]) return 1 end
return 0`;
// KEYS[1] = hash, KEYS[2] = fence key ('' for none); ARGV[1] = fence value, ARGV[2] = number of
// fields to set, then field/value pairs, then fields to delete.
const WRITE_HASH = `if KEYS[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n)) end
if #ARGV > 2 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + 2 * n)) end
return 1`;
// KEYS[1] = fence key ('' for none), KEYS[2..] = keys to delete; ARGV[1] = fence value.
const DELETE = `if KEYS[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if #KEYS > 1 then redis.call('DEL', unpack(KEYS, 2)) end
return 1`;

export interface RedisBackendOptions {
  /** redis://[user:password@]host:port[/db] or rediss://… */
  url: string;
  /** Milliseconds to wait for the first connection (default 5000). */
  connectTimeoutMs?: number;
  log?: (line: string) => void;
}

/** Connects to Redis; rejects with CLUSTER_UNAVAILABLE when it cannot be reached within connectTimeoutMs. */
export async function redisBackend(options: RedisBackendOptions): Promise<ClusterBackend> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new P2PError('BAD_CONFIG', `the Redis address must be a redis:// or rediss:// URL, got ${options.url.slice(0, 200)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new P2PError('BAD_CONFIG', `the Redis address must be a redis:// or rediss:// URL, got ${url.protocol}`);
  const log = options.log ?? (() => {});
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const common = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    // Reconnects forever, at most every 2 s: the tracker keeps serving its local peers meanwhile.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
  const cmd = new Redis(options.url, common);
  const sub = new Redis(options.url, { ...common, autoResubscribe: true });
  let lastErrorLog = 0;
  const onError = (e: Error) => {
    const t = Date.now();
    if (t - lastErrorLog > 5000) {
      lastErrorLog = t;
      log(`tracker: redis: ${e.message}`);
    }
  };
  cmd.on('error', onError);
  sub.on('error', onError);

  const stateListeners = new Set<(s: BackendState) => void>();
  const rtt = new Set<(s: number) => void>();
  let state: BackendState = 'down';
  let closed = false;
  const update = () => {
    const s: BackendState = !closed && cmd.status === 'ready' && sub.status === 'ready' ? 'up' : 'down';
    if (s === state) return;
    state = s;
    log(`tracker: redis ${s}`);
    for (const l of stateListeners) l(s);
  };
  for (const c of [cmd, sub]) for (const ev of ['ready', 'close', 'end', 'reconnecting']) c.on(ev, update);

  try {
    await Promise.race([
      Promise.all([cmd.connect(), sub.connect()]),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${connectTimeoutMs} ms`)), connectTimeoutMs).unref()),
    ]);
  } catch (e) {
    cmd.disconnect();
    sub.disconnect();
    throw new P2PError('CLUSTER_UNAVAILABLE', `cannot reach Redis at ${url.host}: ${(e as Error).message}`);
  }
  update();

  /** Runs one command, reports its round trip, turns failures into CLUSTER_UNAVAILABLE. */
  const op = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new P2PError('CLUSTER_UNAVAILABLE', 'the Redis backend is closed');
    const t0 = performance.now();
    try {
      const r = await fn();
      for (const l of rtt) l((performance.now() - t0) / 1000);
      return r;
    } catch (e) {
      throw new P2PError('CLUSTER_UNAVAILABLE', `redis: ${(e as Error).message}`);
    }
  };

  const handlers = new Map<string, (m: string) => void>();
  sub.on('smessage', (channel: string, message: string) => handlers.get(channel)?.(message));

  const broker: Broker = {
    publish: (channel, message) => op(async () => Number(await cmd.spublish(channel, message))),
    async subscribe(channel, onMessage) {
      handlers.set(channel, onMessage);
      await op(() => sub.ssubscribe(channel));
    },
    async unsubscribe(channel) {
      handlers.delete(channel);
      await op(() => sub.sunsubscribe(channel));
    },
  };

  const fenceArgs = (f?: Fence): [string, string] => (f ? [f.key, f.value] : ['', '']);
  const store: StateStore = {
    acquireLease: (key, holder, ttlMs) => op(async () => (await cmd.set(key, holder, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK'),
    renewLease: (key, holder, ttlMs) => op(async () => Number(await cmd.eval(RENEW, 1, key, holder, Math.max(1, Math.round(ttlMs)))) === 1),
    releaseLease: (key, holder) => op(async () => Number(await cmd.eval(RELEASE, 1, key, holder)) === 1),
    get: (key) => op(() => cmd.get(key)),
    compareAndSet: (key, expected, next) => op(async () => Number(await cmd.eval(CAS, 1, key, expected === null ? '0' : '1', expected ?? '', next)) === 1),
    writeHash: (key, set, del, fence) => {
      const [fk, fv] = fenceArgs(fence);
      const pairs = Object.entries(set).flat();
      return op(async () => Number(await cmd.eval(WRITE_HASH, 2, key, fk, fv, pairs.length / 2, ...pairs, ...del)) === 1);
    },
    readHash: (key) => op(() => cmd.hgetall(key)),
    delete: (keys, fence) => {
      const [fk, fv] = fenceArgs(fence);
      return op(async () => Number(await cmd.eval(DELETE, 1 + keys.length, fk, ...keys, fv)) === 1);
    },
  };

  return {
    kind: 'redis',
    broker,
    store,
    get state() {
      return state;
    },
    onState(l) {
      stateListeners.add(l);
    },
    onRoundTrip(l) {
      rtt.add(l);
    },
    async close() {
      closed = true;
      update();
      handlers.clear();
      cmd.disconnect();
      sub.disconnect();
    },
  };
}
