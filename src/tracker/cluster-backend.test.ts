// One contract for both cluster backends (memory-backend.ts, redis-backend.ts): leases with a time
// to live, compare-and-set, fenced hash snapshots, pub/sub, and what an unreachable engine does.
// The Redis run uses a real redis-server on a free loopback port (redis-test-server.ts); it fails
// with a clear message when redis-server cannot start.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterBackend } from './cluster-backend.ts';
import { MemorySpace, memoryBackend } from './memory-backend.ts';
import { redisBackend } from './redis-backend.ts';
import { startRedisServer, useRedisServer } from './redis-test-server.ts';
import { expectRejectCode } from '../expect-code.ts';
import { until } from './test-kit.ts';

interface Fixture {
  /** Two backends over the same engine (two nodes). */
  make(): Promise<[ClusterBackend, ClusterBackend]>;
  /** Lets `ms` of lease time pass. */
  pass(ms: number): Promise<void>;
  /** Makes the engine unreachable, then reachable again (empty). */
  down(): Promise<void>;
  up(): Promise<void>;
}

function contract(name: string, fixture: () => Fixture) {
  describe(`${name} backend contract`, () => {
    let f: Fixture;
    let a: ClusterBackend;
    let b: ClusterBackend;
    let n = 0;
    const key = (k: string) => `t${n}:${k}`;
    beforeAll(async () => {
      f = fixture();
      [a, b] = await f.make();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('a lease goes to one holder; only it renews or releases it', async () => {
      n++;
      expect(await a.store.acquireLease(key('L'), 'A', 60_000)).toBe(true);
      expect(await b.store.acquireLease(key('L'), 'B', 60_000)).toBe(false);
      expect(await b.store.get(key('L'))).toBe('A');
      expect(await b.store.renewLease(key('L'), 'B', 60_000)).toBe(false);
      expect(await a.store.renewLease(key('L'), 'A', 60_000)).toBe(true);
      expect(await b.store.releaseLease(key('L'), 'B')).toBe(false);
      expect(await a.store.releaseLease(key('L'), 'A')).toBe(true);
      expect(await b.store.acquireLease(key('L'), 'B', 60_000)).toBe(true);
    });

    it('a lease nobody renews expires and another holder takes it', async () => {
      n++;
      expect(await a.store.acquireLease(key('L'), 'A', 200)).toBe(true);
      expect(await b.store.acquireLease(key('L'), 'B', 200)).toBe(false);
      await f.pass(250);
      let got = false;
      for (let i = 0; i < 100 && !(got = await b.store.acquireLease(key('L'), 'B', 60_000)); i++) await f.pass(50);
      expect(got).toBe(true);
      expect(await a.store.renewLease(key('L'), 'A', 60_000)).toBe(false);
      expect(await a.store.get(key('L'))).toBe('B');
    });

    it('compare-and-set changes a value only from the expected one', async () => {
      n++;
      expect(await a.store.compareAndSet(key('E'), 'x', '1')).toBe(false);
      expect(await a.store.compareAndSet(key('E'), null, '1')).toBe(true);
      expect(await b.store.compareAndSet(key('E'), null, '2')).toBe(false);
      expect(await b.store.compareAndSet(key('E'), '1', '2')).toBe(true);
      expect(await a.store.compareAndSet(key('E'), '1', '3')).toBe(false);
      expect(await a.store.get(key('E'))).toBe('2');
    });

    it('hash snapshots are written and deleted only while the fence lease is held', async () => {
      n++;
      await a.store.acquireLease(key('owner'), 'A', 60_000);
      const fence = { key: key('owner'), value: 'A' };
      expect(await a.store.writeHash(key('H'), { x: '1', y: '2', z: '3' }, [], fence)).toBe(true);
      expect(await a.store.writeHash(key('H'), { x: '10' }, ['z'], fence)).toBe(true);
      expect(await b.store.readHash(key('H'))).toEqual({ x: '10', y: '2' });
      // A stale holder's writes are refused once the lease is someone else's.
      expect(await b.store.writeHash(key('H'), { x: 'stale' }, ['y'], { key: key('owner'), value: 'B' })).toBe(false);
      expect(await b.store.delete([key('H')], { key: key('owner'), value: 'B' })).toBe(false);
      expect(await b.store.readHash(key('H'))).toEqual({ x: '10', y: '2' });
      expect(await a.store.delete([key('H')], fence)).toBe(true);
      expect(await b.store.readHash(key('H'))).toEqual({});
      expect(await b.store.writeHash(key('U'), { a: '1' }, [])).toBe(true);
      expect(await a.store.readHash(key('U'))).toEqual({ a: '1' });
    });

    it('messages reach the subscribers of their channel, in order, and publish counts them', async () => {
      n++;
      const got: string[] = [];
      await b.broker.subscribe(key('ch'), (m) => got.push(m));
      expect(await a.broker.publish(key('other'), 'x')).toBe(0);
      for (let i = 0; i < 50; i++) expect(await a.broker.publish(key('ch'), `m${i}`)).toBe(1);
      await until(() => got.length === 50, 5000, 'messages');
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      await b.broker.unsubscribe(key('ch'));
      expect(await a.broker.publish(key('ch'), 'late')).toBe(0);
    });

    it('an unreachable engine rejects with CLUSTER_UNAVAILABLE and reports down, then up again with its subscriptions', async () => {
      n++;
      const states: string[] = [];
      a.onState((s) => states.push(s));
      const got: string[] = [];
      await b.broker.subscribe(key('ch'), (m) => got.push(m));
      await f.down();
      await until(() => a.state === 'down', 5000, 'state down');
      await expectRejectCode(a.store.get(key('x')), 'CLUSTER_UNAVAILABLE');
      await expectRejectCode(a.broker.publish(key('ch'), 'lost'), 'CLUSTER_UNAVAILABLE');
      await f.up();
      await until(() => a.state === 'up' && b.state === 'up', 10_000, 'state up');
      expect(states).toEqual(['down', 'up']);
      // The subscription is back: a message after the restart arrives.
      let delivered = 0;
      for (let i = 0; i < 100 && delivered === 0; i++) {
        delivered = await a.broker.publish(key('ch'), 'after').catch(() => 0);
        if (!delivered) await new Promise((r) => setTimeout(r, 50));
      }
      await until(() => got.includes('after'), 5000, 'message after restart');
      expect(got).not.toContain('lost');
    });
  });
}

contract('memory', () => {
  let t = 0;
  const space = new MemorySpace(() => t);
  return {
    make: async () => [memoryBackend(space), memoryBackend(space)],
    pass: async (ms) => {
      t += ms;
    },
    down: async () => space.setState('down', true),
    up: async () => space.setState('up'),
  };
});

const redisServer = useRedisServer();

contract('redis', () => ({
  async make() {
    const { url } = redisServer();
    return [await redisBackend({ url }), await redisBackend({ url })];
  },
  pass: (ms) => new Promise((r) => setTimeout(r, ms)),
  down: async () => redisServer().kill(),
  up: async () => redisServer().start(),
}));

describe('redis backend configuration', () => {
  it('refuses an address that is not a redis:// URL with BAD_CONFIG', async () => {
    await expectRejectCode(redisBackend({ url: 'http://127.0.0.1:6379' }), 'BAD_CONFIG');
    await expectRejectCode(redisBackend({ url: 'not a url' }), 'BAD_CONFIG');
  });

  it('rejects with CLUSTER_UNAVAILABLE when nothing answers at the address', async () => {
    redisServer();
    // A port that was free a moment ago: nothing listens there.
    const closed = (await startRedisServer());
    await closed.stop();
    await expectRejectCode(redisBackend({ url: closed.url, connectTimeoutMs: 1000 }), 'CLUSTER_UNAVAILABLE');
  });
});
