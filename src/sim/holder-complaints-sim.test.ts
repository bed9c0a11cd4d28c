// The adversary kit against holder-mode roles in the simulator, with the tracker's own room:
// withholders that report a large upload are given holder keys; the producers they starve drop
// them, complain, and the room moves their keys to other peers.
import { describe, expect, it } from 'vitest';
import type { RoomConfig } from '../tracker/room-config.ts';
import { simulate } from './simulator.ts';

// Holder mode from 12 viewers, holder keys without a probation: attackers claiming 40 × the
// stream are among the first holders, as in a large swarm.
const room = { holderModeAtViewers: 12, directModeAtViewers: 8, holderProbationMs: 0 } satisfies Partial<RoomConfig>;
const run = { peers: 30, seconds: 12, warmupMs: 3000, joinSpreadMs: 300, tracker: 'room' as const, seed: 3, room: room as never };

describe('holder complaints in the simulator', () => {
  it('withholding holders are named by their producers and lose their keys within seconds; no honest holder is moved', async () => {
    const { report, sim } = await simulate({ ...run, adversaries: 0.1, attack: 'withhold' });
    const c = report.attack?.complaints;
    const bad = new Set([...sim.peers.values()].filter((p) => p.adv).map((p) => p.id));
    expect(bad.size).toBe(3);
    expect(c?.againstAttackers).toBeGreaterThan(0);
    expect(c?.movedAttackers).toBeGreaterThanOrEqual(1);
    expect(c?.moveMaxMs).toBeLessThan(5000);
    expect(c?.movedHonest).toBe(0);
    // Every move the report counts is a real one: the attacker holds no key at the end.
    for (const m of sim.complaints.filter((x) => x.moved)) expect(sim.room.rolesOf?.(m.peerId).holderKeys).toEqual([]);
  }, 120_000);
});
