import { describe, expect, it } from 'vitest';
import { simulateParallel } from './parallel.ts';
import { LINK_PRESETS } from './sim-options.ts';
import { Simulator } from './simulator.ts';

/** A small identity-mode swarm with churn and loss, in holder mode by its end. */
const options = { peers: 48, seconds: 9, warmupMs: 2500, joinSpreadMs: 1000, loss: 0.05, churnPerMin: 0.5, seed: 7 };

describe('Simulator (identity packets, lookahead windows)', () => {
  it('replays a seed exactly, and another seed gives another run', async () => {
    const strip = ({ wallSeconds: _w, ...r }: Awaited<ReturnType<Simulator['run']>>) => r;
    const a = strip(await new Simulator(options).run());
    const b = strip(await new Simulator(options).run());
    const c = strip(await new Simulator({ ...options, seed: 8 }).run());
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a.mode).toBe('holder');
    expect(a.framesDecodedInDeadlinePct).toBeGreaterThan(95);
  });

  it('delivers with 1 ms windows as with 25 ms ones', async () => {
    // The RTT floor sets the lookahead (half of it); delivery must not depend on the window length.
    const short = await new Simulator({ ...options, rttMinMs: 2, rttMaxMs: 150 }).run();
    const long = await new Simulator({ ...options, rttMinMs: 50, rttMaxMs: 150 }).run();
    for (const r of [short, long]) {
      expect(r.framesDecodedInDeadlinePct).toBeGreaterThan(95);
      expect(r.broadcasterUploadRatio).toBeLessThan(1.7);
    }
  });

  it('refuses an RTT floor that leaves no lookahead', () => {
    expect(() => new Simulator({ ...options, rttMinMs: 0 })).toThrow(/rttMinMs/);
  });

  it('two worker threads, each with half the peers, give the report of one thread', async () => {
    const strip = ({ wallSeconds: _w, ...r }: Awaited<ReturnType<Simulator['run']>>) => r;
    const one = strip(await new Simulator(options).run());
    const two = strip(await simulateParallel({ ...options, workers: 2 }));
    expect(two).toEqual(one);
  }, 60_000);

  it('takes several workers only through simulateParallel, and never with real bytes', () => {
    expect(() => new Simulator({ ...options, workers: 2 })).toThrow(/simulateParallel/);
    expect(() => new Simulator({ ...options, workers: 2, bytes: true })).toThrow(/one thread/);
  });
});

describe('Simulator in the harsh world (REAL_WORLD)', () => {
  const harsh = { ...LINK_PRESETS.real, tracker: 'room' as const, peers: 40, seconds: 12, warmupMs: 2500, joinSpreadMs: 1000, churnPerMin: 0.6, seed: 11 };

  it('crashes are found by timeouts, blocked pairs never link, the room hears meters rather than true capacities', async () => {
    const sim = new Simulator(harsh);
    const report = await sim.run();
    const crashed = sim.gone.filter((r) => r.crashed);
    expect(crashed.length).toBeGreaterThan(0);
    expect(sim.gone.some((r) => !r.crashed)).toBe(true);
    for (const p of sim.peers.values()) for (const o of p.connected) expect(sim.pairKindOf(p, o)).not.toBe('blocked');
    expect([...sim.peers.values()].some((p) => [...p.connected].some((o) => sim.pairKindOf(p, o) === 'relayed'))).toBe(true);
    // Still in the tracker's room after crashing (its heartbeat timeout is 90 s). (The room's peer
    // table is private; the test reads it.)
    const room = sim.room as unknown as { peers: Map<string, { uploadBps?: number; measuredUploadBps?: number; uploadLimitedShare?: number }> };
    for (const r of crashed) expect(room.peers.has(r.id)).toBe(true);
    // What the room holds is what the meters reported, as a session reports it (measured upload and
    // busy share, no claim), never the true capacity.
    const live = [...sim.peers.values()].filter((p) => !p.isBroadcaster);
    const heard = live.map((p) => room.peers.get(p.id)?.measuredUploadBps).filter((x): x is number => x !== undefined);
    expect(heard.length).toBeGreaterThan(live.length / 2);
    for (const p of live) {
      const q = room.peers.get(p.id);
      expect(q?.uploadBps).toBeUndefined();
      expect(q?.measuredUploadBps).not.toBe(p.upBps);
      if (q?.measuredUploadBps !== undefined) expect(q.uploadLimitedShare).toBeGreaterThanOrEqual(0);
    }
    expect(Number.isFinite(report.glassToGlassP50Ms)).toBe(true);
  }, 60_000);

  it('viewers heartbeat as sessions do: a measured figure and no claim, at once when new, else at the period the room asked for', async () => {
    const sim = new Simulator(harsh);
    const room = sim.room as unknown as { heartbeat(id: string, stats: Record<string, unknown>, t: number): void };
    const inner = room.heartbeat.bind(room);
    const beats = new Map<string, Array<{ t: number; stats: Record<string, unknown> }>>();
    room.heartbeat = (id, stats, t) => {
      if (!beats.has(id)) beats.set(id, []);
      beats.get(id)!.push({ t, stats });
      inner(id, stats, t);
    };
    await sim.run();
    let total = 0;
    let withFigure = 0;
    for (const list of beats.values()) {
      total += list.length;
      for (let i = 0; i < list.length; i++) {
        expect(list[i].stats.uploadBps).toBeUndefined();
        if (list[i].stats.measuredUploadBps !== undefined) withFigure++;
        if (i > 0) expect(list[i].t - list[i - 1].t).toBeGreaterThanOrEqual(1000);
      }
    }
    expect(withFigure).toBeGreaterThan(0);
    // Not every viewer every second: those without a role wait out 15 s unless their figure moved.
    let viewerSeconds = 0;
    for (const p of [...sim.peers.values()].filter((q) => !q.isBroadcaster)) viewerSeconds += (harsh.seconds * 1000 - p.rec.joinMs) / 1000;
    expect(total).toBeLessThan(viewerSeconds * 0.8);
  }, 60_000);

  it('two worker threads give the report of one thread here too', async () => {
    const strip = ({ wallSeconds: _w, ...r }: Awaited<ReturnType<Simulator['run']>>) => r;
    const one = strip(await new Simulator(harsh).run());
    const two = strip(await simulateParallel({ ...harsh, workers: 2 }));
    expect(two).toEqual(one);
  }, 120_000);
});
