// Options of one simulated run, with the link-model presets and their numbers written beside them,
// and the seeded random numbers the simulator draws. Pure; used by simulator.ts, cli.ts and tests.

import { P2PError } from '../errors.ts';
import type { BroadcasterConfig } from '../protocol/broadcaster-core.ts';
import type { FrameCodec, PeerCoreConfig } from '../protocol/core-types.ts';
import type { SimpleRoomConfig } from './simple-room.ts';
import { REAL_WORLD, type WorldModel } from './sim-world.ts';
import { ATTACK_KINDS, isAttackName, type AttackName } from './adversary.ts';

export interface SimOptions {
  seed: number;
  /** Viewers (the broadcaster comes on top). */
  peers: number;
  bitrateBps: number;
  seconds: number;
  /** Round-trip time of each pair, drawn uniformly once per pair. */
  rttMinMs: number;
  rttMaxMs: number;
  /** Extra one-way delay per message, uniform in [0, jitterMs]; control stays in order. */
  jitterMs: number;
  /**
   * Random loss: media messages are lost; control messages are delayed by one RTT (retransmission).
   * With a `world`, the long-run mean of its bursty loss, and control waits out retransmission timeouts.
   */
  loss: number;
  /** Share of viewers leaving per minute (each replaced by a new viewer at once). */
  churnPerMin: number;
  /** Viewer upload limits, drawn uniformly per peer, bits per second. */
  upMinBps: number;
  upMaxBps: number;
  /** Viewer download limit, bits per second. */
  downBps: number;
  broadcasterUpBps: number;
  /** Viewers that corrupt every feed and seed packet they send (the first ones to join; the adversary kit's `pollute`). */
  polluters: number;
  /**
   * Share of the viewers (0…1) that are attackers (`src/sim/adversary.ts`), spread evenly over the
   * joining order; they do not churn (a `rejoin` attacker comes back under a new id once banned).
   */
  adversaries: number;
  /** What the attackers do: one kind of the kit, or `mix` (the kinds in turn). */
  attack: AttackName;
  /** Real bytes through `codec` (and WebCrypto) instead of packet identities. */
  bytes: boolean;
  codec?: FrameCodec;
  /** Frames are closed this often, at a multiple of 8 KiB, the rest carried over. */
  frameMs: number;
  keyFrameMs: number;
  /** An init segment is published at start and this often. */
  initEveryMs: number;
  /** A frame decoded within this long of its capture is on time. */
  deadlineMs: number;
  /** Frames captured in the first warmupMs of a viewer's stay are not counted. */
  warmupMs: number;
  /** Viewers join spread over this long at start. */
  joinSpreadMs: number;
  /** Extra joins / leaves at given times (mode-switch scenarios). */
  schedule: Array<{ atMs: number; join?: number; leave?: number; role?: 'holder' | 'producer' }>;
  /**
   * How the broadcaster makes frames. `steady`: closed every frameMs at a multiple of 8 KiB, the rest
   * carried, a key frame every keyFrameMs, capture time = close time. `fragments`: as the
   * broadcaster's muxer and frame cutter (maxCarryTicks 0): 30 video frames a second, a key frame
   * keyFrameSize × a delta frame opening each fragment of keyFrameMs, each whole fragment framed at
   * the first frameMs tick after it ends, in frames of at most 64 KiB carrying its start's capture time.
   */
  source: 'steady' | 'fragments';
  /** Key frame size / delta frame size, drawn per fragment in [min, max] (fragments source). */
  keyFrameSize: readonly [number, number];
  /** The harsh world (`--preset real`): peer classes, queues, bursty loss, crashes, NATs, CPU. */
  world?: WorldModel;
  /** Worker threads sharing the peers (1: all in this thread); identity runs only. */
  workers: number;
  /** Trace where each decoded frame's time went (frame-timeline.ts) and report it; one thread only. */
  timeline: boolean;
  /**
   * Sort every (honest viewer, frame) not played on time into a cause (miss-causes.ts): the run goes
   * twice, the second time looking at each late frame's state when the player needed it. One thread only.
   */
  whyMissed?: boolean;
  /**
   * Every control message on the ordered channel, REQUESTs too: the transport before its requests
   * channel (or every peer talking to one without it). Off (the default, as the product): the
   * messages of REQUESTS_CHANNEL_TYPES (message-channels.ts, the session's routing) ride the
   * reliable channel with `ordered: false`: lost ones are sent again as control is, but they
   * neither wait behind a control message being retransmitted nor hold one up.
   */
  orderedRequests?: boolean;
  /** Second pass of `whyMissed`: per viewer id, the (deadline, seq) pairs to look at, by deadline. */
  missProbes?: ReadonlyMap<string, ReadonlyArray<{ atMs: number; seq: number }>>;
  /** Tracker room: `simple` (the simulator's stand-in) or `room` (the tracker's own Room). */
  tracker: 'simple' | 'room';
  peerConfig?: Partial<PeerCoreConfig>;
  broadcasterConfig?: Partial<BroadcasterConfig>;
  /** Overrides for the room's config (keys common to both rooms). */
  room?: Partial<SimpleRoomConfig>;
}

/** Named link presets (numbers beside them): `--preset NAME`. */
export const LINK_PRESETS = {
  /** Loopback-like: 2–6 ms RTT, no loss, 100 Mbit/s everywhere. */
  lan: { rttMinMs: 2, rttMaxMs: 6, jitterMs: 1, loss: 0, upMinBps: 100e6, upMaxBps: 100e6, downBps: 100e6 },
  /** Home broadband: RTT 50–150 ms, 5 ms jitter, 3–20 Mbit/s up, 50 Mbit/s down. */
  broadband: { rttMinMs: 50, rttMaxMs: 150, jitterMs: 5, loss: 0, upMinBps: 3e6, upMaxBps: 20e6, downBps: 50e6 },
  /** Lossy broadband: as broadband with 5 % random loss. */
  lossy: { rttMinMs: 50, rttMaxMs: 150, jitterMs: 5, loss: 0.05, upMinBps: 3e6, upMaxBps: 20e6, downBps: 50e6 },
  /**
   * The harsh world (the README's report): RTT 50–150 ms, 10 ms jitter, 5 % bursty loss that hits
   * control too, 10 % of viewers leaving per minute (half of them crashing), frames as the
   * broadcaster makes them (0.5 s fragments, key frames 3–5 × a delta frame, init every 2 s) and
   * REAL_WORLD's peers and pairs (sim-world.ts). upMin/upMax are unused: REAL_WORLD's classes decide.
   */
  real: {
    rttMinMs: 50, rttMaxMs: 150, jitterMs: 10, loss: 0.05, churnPerMin: 0.1, upMinBps: 3e6, upMaxBps: 20e6, downBps: 50e6,
    source: 'fragments', frameMs: 100, keyFrameMs: 500, initEveryMs: 2000, keyFrameSize: [3, 5], world: REAL_WORLD,
  },
} as const satisfies Record<string, Partial<SimOptions>>;

export const DEFAULT_SIM_OPTIONS: Readonly<SimOptions> = Object.freeze<SimOptions>({
  seed: 1,
  peers: 8,
  bitrateBps: 2_500_000,
  seconds: 30,
  ...LINK_PRESETS.broadband,
  churnPerMin: 0,
  broadcasterUpBps: 20e6,
  polluters: 0,
  adversaries: 0,
  attack: 'mix',
  bytes: false,
  frameMs: 150,
  // As the broadcaster's defaults: a key frame opening a fragment every 0.5 s, the init segment every 2 s.
  keyFrameMs: 500,
  initEveryMs: 2000,
  deadlineMs: 2000,
  warmupMs: 3000,
  joinSpreadMs: 2000,
  source: 'steady',
  keyFrameSize: [1, 1],
  schedule: [],
  workers: 1,
  timeline: false,
  tracker: 'simple',
});

export function resolveSimOptions(partial: Partial<SimOptions>): SimOptions {
  const o: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...partial, schedule: [...(partial.schedule ?? [])] };
  const num = (k: keyof SimOptions, min: number, max = Infinity) => {
    const v = o[k];
    if (typeof v !== 'number' || !(v >= min && v <= max)) throw new P2PError('BAD_CONFIG', `sim option ${k} must be in ${min}…${max}, got ${String(v)}`);
  };
  num('peers', 1, 100_000);
  num('bitrateBps', 10_000, 100e6);
  num('seconds', 1, 36_000);
  // Half the lowest RTT is the lookahead of the simulator's time windows: it must be above zero.
  num('rttMinMs', 1);
  num('rttMaxMs', o.rttMinMs);
  num('jitterMs', 0);
  num('loss', 0, 0.5);
  num('churnPerMin', 0, 1);
  num('upMinBps', 1e4);
  num('upMaxBps', o.upMinBps);
  num('downBps', 1e4);
  num('polluters', 0, o.peers);
  num('frameMs', 10, 2000);
  num('workers', 1, 16);
  if (!Number.isInteger(o.workers)) throw new P2PError('BAD_CONFIG', 'sim option workers must be a whole number');
  // A trace follows a key from peer to peer: every peer must be in this thread.
  if (o.workers > 1 && o.timeline) throw new P2PError('BAD_CONFIG', 'a timeline run uses one thread (workers 1)');
  if (o.workers > 1 && (o.whyMissed || o.missProbes)) throw new P2PError('BAD_CONFIG', 'a why-missed run uses one thread (workers 1)');
  if (o.workers > 1 && o.bytes) throw new P2PError('BAD_CONFIG', 'a real-bytes run uses one thread (workers 1)');
  if (o.source !== 'steady' && o.source !== 'fragments') throw new P2PError('BAD_CONFIG', 'source must be steady or fragments');
  if (!(o.keyFrameSize[0] >= 0.1 && o.keyFrameSize[1] >= o.keyFrameSize[0])) throw new P2PError('BAD_CONFIG', 'keyFrameSize must be an ordered range ≥ 0.1');
  if (o.tracker !== 'simple' && o.tracker !== 'room') throw new P2PError('BAD_CONFIG', 'tracker must be simple or room');
  num('adversaries', 0, 1);
  if (!isAttackName(o.attack)) throw new P2PError('BAD_CONFIG', `attack must be mix or one of ${ATTACK_KINDS.join(', ')}`);
  // Attackers act on what happens in their own part (a ban, a rejoin): the parts' copies of the room would differ.
  if ((o.adversaries > 0 || o.polluters > 0) && o.workers > 1) throw new P2PError('BAD_CONFIG', 'attackers run in one thread (workers 1)');
  // Forging an earlier broadcast's manifests needs the identity signer.
  if (o.adversaries > 0 && o.attack === 'replay' && o.bytes) throw new P2PError('BAD_CONFIG', 'the replay attack runs in identity runs only (no --bytes)');
  if (o.bytes && !o.codec) throw new P2PError('BAD_CONFIG', 'a real-bytes run needs a codec');
  return o;
}

/** A fixed per-pair value in [0, 1) from the two peer numbers and the seed. */
export function pairHash(a: number, b: number, seed: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x7f4a7c15, 0xc2b2ae35) ^ seed;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}
