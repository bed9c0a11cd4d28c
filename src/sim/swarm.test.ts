import { beforeAll, describe, expect, it } from 'vitest';
import { createCodec, type Codec } from '../codec/index.ts';
import { PeerCore } from '../protocol/peer-core.ts';
import { LINK_PRESETS, type SimOptions } from './sim-options.ts';
import { Simulator } from './simulator.ts';

let codec: Codec;
beforeAll(async () => {
  codec = await createCodec();
});

/** Real bytes through the real codec and WebCrypto; every delivered frame is checked against the source. */
async function run(o: Partial<SimOptions>) {
  const wrong: string[] = [];
  const sim = new Simulator({ ...LINK_PRESETS.lan, bytes: true, codec, bitrateBps: 800_000, seconds: 6, warmupMs: 1500, joinSpreadMs: 300, ...o });
  sim.onFrame = (peerId, m, frame) => {
    const src = sim.sourceFrames.get(m.seq);
    if (!src || src.length !== frame.length || src.some((b, i) => b !== frame[i])) wrong.push(`${peerId}:${m.seq}`);
  };
  const report = await sim.run();
  return { report, sim, wrong };
}

/** Frames captured while every listed viewer was present, and how many each of them decoded. */
function coverage(sim: Awaited<ReturnType<typeof run>>['sim'], fromMs: number, toMs: number) {
  const frames = sim.frames.filter((f) => f.captureMs >= fromMs && f.captureMs <= toMs);
  const viewers = [...sim.peers.values()].filter((p) => !p.isBroadcaster && !p.polluter && p.rec.joinMs <= fromMs - 1000);
  const missing = viewers.flatMap((p) => frames.filter((f) => !p.rec.delivered.has(f.seq)).map((f) => `${p.id}:${f.seq}`));
  return { frames: frames.length, viewers: viewers.length, missing };
}

const holderRoom = { holderModeAtViewers: 8, directModeAtViewers: 4, directMaxViewers: 12, producerGroups: 8, modeOverlapMs: 1500 };

describe('small swarms with real bytes (virtual time)', () => {
  it('direct feed, no loss: every viewer decodes every frame, byte-exact', async () => {
    const { sim, wrong, report } = await run({ peers: 6 });
    const c = coverage(sim, 1500, 4000);
    expect(wrong).toEqual([]);
    expect(c.viewers).toBe(6);
    expect(c.missing).toEqual([]);
    expect(report.broadcasterUploadRatio).toBeLessThan(1.2);
  });

  it('holder mode, no loss: producers make the keys and every viewer decodes every frame', async () => {
    const { sim, wrong } = await run({ peers: 10, room: holderRoom });
    const c = coverage(sim, 2500, 4000);
    expect(wrong).toEqual([]);
    expect(sim.room.swarmMode).toBe('holder');
    const produced = [...sim.peers.values()].reduce((n, p) => n + (p.core instanceof PeerCore ? p.core.producer.produced : 0), 0);
    expect(produced).toBeGreaterThan(0);
    expect(c.missing).toEqual([]);
  });

  it('5 % loss: spares and repairs still decode every frame', async () => {
    const { sim, wrong } = await run({ peers: 8, loss: 0.05 });
    expect(wrong).toEqual([]);
    expect(coverage(sim, 1500, 4000).missing).toEqual([]);
  });

  it('direct feed at broadband RTT with 5 % loss: frames slowed by loss do not each ask the broadcaster for extra keys', async () => {
    // The spare keys stay at the fixed one here (no fitting to loss, which raises the upload by
    // design: spare-keys.test.ts, netlab.md), so the bound speaks of extra-key asks alone.
    const o = { ...LINK_PRESETS.lossy, peers: 24, seconds: 8, warmupMs: 2000, bitrateBps: 2_000_000, broadcasterConfig: { directSpareKeysMax: 1 } };
    const { sim, wrong, report } = await run(o);
    expect(wrong).toEqual([]);
    expect(coverage(sim, 2000, 5500).missing).toEqual([]);
    expect(report.broadcasterUploadRatio).toBeLessThan(1.12);
  });

  it('a holder leaves mid-stream: frames keep decoding', async () => {
    const { sim, wrong } = await run({ peers: 10, room: holderRoom, schedule: [{ atMs: 3000, leave: 1, role: 'holder' }] });
    expect(wrong).toEqual([]);
    expect(sim.gone.some((r) => r.role === 'holder')).toBe(true);
    expect(coverage(sim, 2500, 4500).missing).toEqual([]);
  });

  it('a producer leaves mid-stream: frames keep decoding', async () => {
    const { sim, wrong } = await run({ peers: 10, room: holderRoom, schedule: [{ atMs: 3000, leave: 1, role: 'producer' }] });
    expect(wrong).toEqual([]);
    expect(sim.gone.some((r) => r.role === 'producer')).toBe(true);
    expect(coverage(sim, 2500, 4500).missing).toEqual([]);
  });

  it('a polluting peer is banned and no wrong frame is ever delivered', async () => {
    const { sim, wrong } = await run({ peers: 8, polluters: 1 });
    expect(wrong).toEqual([]);
    const polluter = [...sim.peers.values()].find((p) => p.polluter);
    expect(polluter).toBeDefined();
    expect(sim.bans.some((b) => b.peerId === polluter?.id)).toBe(true);
    const c = coverage(sim, 2500, 4000);
    expect(c.missing).toEqual([]);
  });

  it("the tracker's own room drives a holder-mode swarm just as well", async () => {
    const { sim, wrong } = await run({ peers: 10, tracker: 'room', room: { holderModeAtViewers: 8, directModeAtViewers: 4, directMaxViewers: 12, producerGroups: 8 } });
    expect(wrong).toEqual([]);
    expect(sim.room.swarmMode).toBe('holder');
    expect(coverage(sim, 2500, 4000).missing).toEqual([]);
  });

  it('holder mode with 5 % loss: viewers push keys to the neighbours that subscribed, pull only the rest', async () => {
    const o = { peers: 12, loss: 0.05, seconds: 7, room: { ...holderRoom, neighbourTarget: 4, neighbourMax: 6 } };
    const pushed = await run(o);
    const pulled = await run({ ...o, peerConfig: { pushKeys: 0 } });
    for (const r of [pushed, pulled]) {
      expect(r.wrong).toEqual([]);
      expect(coverage(r.sim, 3000, 5000).missing).toEqual([]);
    }
    const sum = (r: typeof pushed, f: (c: PeerCore) => number) => [...r.sim.peers.values()].reduce((n, p) => n + (p.core instanceof PeerCore ? f(p.core) : 0), 0);
    const pushes = sum(pushed, (c) => [...c.neighbours.values()].reduce((n, nb) => n + nb.pushed, 0));
    expect(pushes).toBeGreaterThan(0);
    expect(sum(pulled, (c) => [...c.neighbours.values()].reduce((n, nb) => n + nb.pushed, 0))).toBe(0);
    // Pushed keys need no request: far fewer keys are asked for.
    expect(sum(pushed, (c) => c.stats.keysRequested)).toBeLessThan(0.6 * sum(pulled, (c) => c.stats.keysRequested));
  });

  it('direct feed to holder mode and back as the swarm grows and shrinks, without a gap', async () => {
    const { sim, wrong } = await run({
      peers: 4, seconds: 9, room: holderRoom,
      schedule: [{ atMs: 2500, join: 6 }, { atMs: 5500, leave: 6 }],
    });
    expect(wrong).toEqual([]);
    const first = [...sim.peers.values()].filter((p) => !p.isBroadcaster && p.rec.joinMs < 1000);
    expect(first.length).toBeGreaterThanOrEqual(1);
    const frames = sim.frames.filter((f) => f.captureMs >= 1500 && f.captureMs <= 7000);
    for (const p of first) expect(frames.filter((f) => !p.rec.delivered.has(f.seq)).map((f) => f.seq)).toEqual([]);
    expect(sim.room.swarmMode).toBe('direct');
  });
});
