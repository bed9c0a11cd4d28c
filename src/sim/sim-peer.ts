// What the simulator keeps per peer: its core, its link limits and their busy-until times, its
// links and the record the report is built from; and the tracker room interface it drives.
// Types and a constructor only; used by simulator.ts and the swarm tests.

import type { BroadcasterCore } from '../protocol/broadcaster-core.ts';
import type { CapacityMeter } from '../protocol/capacity-meter.ts';
import type { PeerCore } from '../protocol/peer-core.ts';
import type { SeededRng } from '../rng.ts';
import type { JoinInfo, PeerStats, RoomEvent } from '../tracker/room-config.ts';
import type { ViewerRecord } from './sim-report.ts';
import type { Adversary } from './adversary.ts';
import type { TimedHeap } from './event-queue.ts';
import type { SimEvent } from './sim-event.ts';
import type { Wire } from './sim-wire.ts';

export interface SimPeer {
  id: string;
  num: number;
  /** Its core: only in the part of a parallel run that owns it (every peer in a single run). */
  core: PeerCore | BroadcasterCore | undefined;
  /** This part runs it (its core, its events); other parts keep its links and room state only. */
  own: boolean;
  /** Its own random numbers (loss and jitter of what it sends), the same whichever part runs it. */
  rng: SeededRng;
  isBroadcaster: boolean;
  upBps: number;
  downBps: number;
  /** When its upload and download links are next free. */
  upFree: number;
  downFree: number;
  /** Drop-tail bound of its uplink queue, bytes (0: unbounded). */
  queueBytes: number;
  /** CPU time of each cost, × a desktop's (0: CPU is free). */
  cpuFactor: number;
  /** When its event loop is next free. */
  cpuFree: number;
  /** Measures what it sends; its report goes to the tracker. */
  meter: CapacityMeter;
  /**
   * Its heartbeats, as a session's tracker client sends them: the period the room asked for, when
   * the next is due, when the last went, and the figure it carried (null: none yet).
   */
  beat: { periodMs: number; dueMs: number; lastMs: number; sent: { measuredUploadBps: number; uploadLimitedShare: number } | null };
  /** It will leave without a goodbye. */
  crashes: boolean;
  alive: boolean;
  polluter: boolean;
  /** An attacker: what alters its core's messages (adversary.ts). */
  adv?: Adversary;
  /** When its pending timer event fires (Infinity: none). */
  timerAt: number;
  connected: Set<SimPeer>;
  /** Links being set up. */
  pending: Set<SimPeer>;
  /** Neighbour ids of its latest tracker list. */
  listed: Set<string>;
  /** Its side of every link it has had, by the other peer's id (kept across reconnects, dropped when the other leaves). */
  wires: Map<string, Wire>;
  rec: ViewerRecord;
  initDelivered: boolean;
  /** Its own events (deliveries to it, its timers, wake-ups and crypto results). */
  events: TimedHeap<SimEvent>;
}

/** The tracker room the simulator drives: the tracker's own `Room`, or the `SimpleRoom` stand-in. */
export interface SimRoom {
  join(peerId: string, info: JoinInfo, nowMs: number): void;
  leave(peerId: string, nowMs: number): void;
  tick(nowMs: number): void;
  heartbeat?(peerId: string, stats: PeerStats, nowMs: number): void;
  reportFailedPair?(a: string, b: string, nowMs: number): void;
  complain?(from: string, against: string, nowMs: number, evidence?: { key?: number }): boolean;
  rolesOf?(peerId: string): { holderKeys: number[] };
  pollEvent(): RoomEvent | undefined;
  readonly swarmMode: string;
}
