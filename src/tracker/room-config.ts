// Typed configuration of one tracker room (a stream's swarm), its defaults with units, the resolve
// step that rejects bad combinations, the seeded RNG and the room's event types. Pure; no I/O.
// Used by room.ts, the tracker server and the swarm simulator.

import { P2PError } from '../errors.ts';
import type { NeighbourInfo, RoleEntry, StreamState, SwarmMode } from './messages.ts';

export type PeerId = string;

export interface RoomConfig {
  /** Seed of the room's RNG (neighbour choice). Same seed, same inputs: same outputs. */
  seed: number;
  /** Swarm neighbours each viewer is given (viewer mesh degree). */
  neighbourTarget: number;
  /** A viewer takes no more swarm neighbours than this (others add links to it). */
  neighbourMax: number;
  /**
   * Code-segment keys c handed to holders; n1 = its length (default 0…10, c < 8 are plain copies).
   * 11 rather than the design's 12: segments cost n1/8 of the stream, and at 5 % loss the chunk
   * repairs add about 0.1, so with 12 keys the broadcaster exceeds the 1.6 upload bound
   * (docs/protocol.md, Known limits).
   */
  segmentKeys: number[];
  /** Seed groups leased to producers: groups 0 … producerGroups-1, 0–7 first. */
  producerGroups: number;
  /** First seed group leased here: groups firstProducerGroup … +producerGroups-1 (a cell of a split stream has its own block; default 0). */
  firstProducerGroup: number;
  /** Producers wanted per viewer beyond one per group (large swarms spread feed-packet sources). */
  producerShare: number;
  /** Producers in all, at most. */
  maxProducers: number;
  /** After a switch to holder mode the broadcaster keeps its direct-feed links this long (no gap). */
  modeOverlapMs: number;
  /** Holders (distinct keys c) each producer is linked to; 9–10 lets it check seeds. */
  producerHolderLinks: number;
  /** In a small swarm one holder may hold several keys, at most this many. */
  maxKeysPerHolder: number;
  /** In a small swarm one producer may lease several groups, at most this many. */
  maxGroupsPerProducer: number;
  /** Switch from direct feed to holder mode when viewers reach this. */
  holderModeAtViewers: number;
  /** Switch back to direct feed when viewers fall to this (hysteresis). */
  directModeAtViewers: number;
  /** In direct feed the broadcaster links to at most this many viewers. */
  directMaxViewers: number;
  /** Holders and producers must report an upload of at least this × the stream bitrate. */
  minRoleUploadRatio: number;
  /** …and at least this many bits per second (used alone while the bitrate is unknown). */
  minRoleUploadBps: number;
  /**
   * A peer that measured less than that still counts as eligible, on trial, while at most this
   * share of its upload samples found its send buffers backed up: its figure is then a lower
   * bound (nobody asked it for more), not its capacity. Above it, the figure is its capacity.
   */
  trialMaxLimitedShare: number;
  /**
   * In direct feed a viewer that is not eligible (not measured yet, or measured below the stream
   * rate) is fed only while fewer than this many viewers are (the stream must start somewhere).
   */
  directMinFeeds: number;
  /**
   * In direct feed a joining viewer that has reported nothing yet is fed at once, on trial, for
   * this long, ms: its slot keys cost the broadcaster nothing extra (it sends each key once
   * whoever is fed), and a swarm whose viewers all join at once otherwise hangs on the
   * directMinFeeds first ones for seconds. A heartbeat showing it short ends the trial at once.
   */
  joinFeedTrialMs: number;
  /**
   * Claimed upload counts for ranking up to this × the stream bitrate (a claim of 10^12 b/s ranks
   * no higher than an honest strong peer); ties go to the older peer.
   */
  maxCountedUploadRatio: number;
  /** …and up to this many bits per second while the bitrate is unknown. */
  maxCountedUploadBps: number;
  /**
   * A peer gets holder keys only after this long in the room, unless no older peer is free (then
   * it holds the key until one is, and gives it up).
   */
  holderProbationMs: number;
  /** Complaints from this many distinct producer networks (at least) move a holder's keys away… */
  complaintsToMove: number;
  /** …and from at least this share of the networks that produce from its seeds now. */
  complaintShare: number;
  /** …within this window. */
  complaintWindowMs: number;
  /** A holder whose keys were moved by complaints gets no role for this long. */
  distrustMs: number;
  /** A role lease lasts this long after the holder's last heartbeat. */
  leaseMs: number;
  /** Heartbeat period asked of peers holding roles. */
  roleHeartbeatMs: number;
  /** Heartbeat period asked of other peers. */
  heartbeatMs: number;
  /** A peer that sends nothing for this long is removed by tick(). */
  peerTimeoutMs: number;
  /** After a broadcaster restores the mode from its announce, the mode is held this long. */
  modeHoldMs: number;
  /** The broadcaster gets a `swarm` summary at most this often when only the viewer count changed. */
  swarmReportMs: number;
  /** Peers in one room, broadcaster included. */
  maxPeers: number;
  /** Failed pairs remembered per peer (the oldest is forgotten beyond this). */
  maxFailedPairsPerPeer: number;
  /** tick() should be called about this often; nextTimeout() uses it. */
  tickMs: number;
}

export const DEFAULT_ROOM_CONFIG: Readonly<RoomConfig> = Object.freeze({
  seed: 1,
  neighbourTarget: 8,
  neighbourMax: 12,
  segmentKeys: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  producerGroups: 12,
  firstProducerGroup: 0,
  producerShare: 1 / 12,
  maxProducers: 96,
  modeOverlapMs: 2000,
  producerHolderLinks: 10,
  maxKeysPerHolder: 3,
  maxGroupsPerProducer: 4,
  holderModeAtViewers: 40,
  directModeAtViewers: 24,
  directMaxViewers: 48,
  minRoleUploadRatio: 1.0,
  minRoleUploadBps: 0,
  trialMaxLimitedShare: 0.25,
  directMinFeeds: 4,
  joinFeedTrialMs: 10000,
  maxCountedUploadRatio: 3,
  maxCountedUploadBps: 20e6,
  holderProbationMs: 10000,
  complaintsToMove: 3,
  complaintShare: 0.5,
  complaintWindowMs: 30000,
  distrustMs: 600000,
  leaseMs: 3000,
  roleHeartbeatMs: 1000,
  heartbeatMs: 15000,
  peerTimeoutMs: 90000,
  modeHoldMs: 10000,
  swarmReportMs: 1000,
  maxPeers: 10001,
  maxFailedPairsPerPeer: 64,
  tickMs: 250,
});

const positiveInt = (c: RoomConfig, k: keyof RoomConfig, min = 1) => {
  const v = c[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new P2PError('BAD_CONFIG', `room config ${k} must be an integer ≥ ${min}, got ${String(v)}`);
};

/** Fills defaults and rejects bad combinations with a precise P2PError('BAD_CONFIG'). */
export function resolveRoomConfig(partial: Partial<RoomConfig> = {}): RoomConfig {
  const c: RoomConfig = { ...DEFAULT_ROOM_CONFIG, ...partial, segmentKeys: [...(partial.segmentKeys ?? DEFAULT_ROOM_CONFIG.segmentKeys)] };
  for (const k of ['neighbourTarget', 'neighbourMax', 'producerHolderLinks', 'maxKeysPerHolder', 'maxGroupsPerProducer', 'holderModeAtViewers', 'directMaxViewers', 'leaseMs', 'roleHeartbeatMs', 'heartbeatMs', 'peerTimeoutMs', 'swarmReportMs', 'maxPeers', 'maxFailedPairsPerPeer', 'tickMs'] as const) positiveInt(c, k);
  for (const k of ['directModeAtViewers', 'directMinFeeds', 'joinFeedTrialMs', 'producerGroups', 'modeHoldMs', 'modeOverlapMs', 'seed', 'maxProducers', 'holderProbationMs', 'complaintWindowMs', 'distrustMs'] as const) positiveInt(c, k, 0);
  positiveInt(c, 'complaintsToMove');
  if (!(c.maxCountedUploadRatio > 0) || !(c.maxCountedUploadBps > 0)) throw new P2PError('BAD_CONFIG', 'maxCountedUpload* must be > 0');
  if (c.maxProducers < c.producerGroups) throw new P2PError('BAD_CONFIG', 'maxProducers must be ≥ producerGroups');
  if (!(c.producerShare >= 0 && c.producerShare <= 1)) throw new P2PError('BAD_CONFIG', 'producerShare must be in 0…1');
  if (c.neighbourMax < c.neighbourTarget) throw new P2PError('BAD_CONFIG', 'neighbourMax must be ≥ neighbourTarget');
  if (c.directModeAtViewers >= c.holderModeAtViewers) throw new P2PError('BAD_CONFIG', 'directModeAtViewers must be below holderModeAtViewers (hysteresis)');
  if (c.holderModeAtViewers > c.directMaxViewers) throw new P2PError('BAD_CONFIG', 'holderModeAtViewers must be ≤ directMaxViewers, or direct feed would leave viewers out');
  if (!Number.isInteger(c.firstProducerGroup) || c.firstProducerGroup < 0 || c.firstProducerGroup + c.producerGroups > 32) throw new P2PError('BAD_CONFIG', 'firstProducerGroup + producerGroups must be ≤ 32 (seed groups are 0…31)');
  const keys = new Set(c.segmentKeys);
  if (c.segmentKeys.length < 8 || keys.size !== c.segmentKeys.length || c.segmentKeys.some((k) => !Number.isInteger(k) || k < 0 || k > 255)) {
    throw new P2PError('BAD_CONFIG', 'segmentKeys must be at least 8 distinct integers in 0…255');
  }
  if (c.leaseMs <= c.roleHeartbeatMs) throw new P2PError('BAD_CONFIG', 'leaseMs must be longer than roleHeartbeatMs');
  if (c.peerTimeoutMs <= c.heartbeatMs) throw new P2PError('BAD_CONFIG', 'peerTimeoutMs must be longer than heartbeatMs');
  if (!(c.complaintShare > 0 && c.complaintShare <= 1)) throw new P2PError('BAD_CONFIG', 'complaintShare must be in (0, 1]');
  if (!(c.trialMaxLimitedShare >= 0 && c.trialMaxLimitedShare <= 1)) throw new P2PError('BAD_CONFIG', 'trialMaxLimitedShare must be in 0…1');
  if (!(c.minRoleUploadRatio >= 0) || !(c.minRoleUploadBps >= 0)) throw new P2PError('BAD_CONFIG', 'minRoleUpload* must be ≥ 0');
  return c;
}

/** What a peer says about itself when it joins. */
export interface JoinInfo {
  broadcaster?: boolean;
  uploadBps?: number;
  measuredUploadBps?: number;
  uploadLimitedShare?: number;
  relayed?: boolean;
  /** Broadcaster only: stream bitrate, bits per second. */
  bitrateBps?: number;
  /** Broadcaster only: the go-live's id it published with (proven by its signature). */
  broadcastId?: string;
  /**
   * Opaque key of the peer's address (IPv4 address, IPv6 /64): a peer reported failed is not
   * introduced again to its reporter under another id from the same address.
   */
  hostKey?: string;
  /** Opaque key of the peer's network (IPv4 /24, IPv6 /64): holder keys go to distinct networks. */
  networkKey?: string;
  /** After a reconnect: what the peer still holds (soft state). */
  announce?: {
    holderKeys?: number[];
    producerGroups?: number[];
    neighbours?: PeerId[];
    mode?: SwarmMode;
  };
}

export interface PeerStats {
  uploadBps?: number;
  /** Upload measured by the peer's transport (lowers a claim, never raises it). */
  measuredUploadBps?: number;
  /** Share of its upload samples taken with its send buffers backed up (0…1). */
  uploadLimitedShare?: number;
  relayed?: boolean;
}

/** Outputs of the room, each addressed to one peer (`to`). The server sends them as messages. */
export type RoomEvent =
  | { type: 'stream'; to: PeerId; streamId: string; state: StreamState; mode: SwarmMode; broadcastId?: string }
  | { type: 'neighbours'; to: PeerId; neighbours: NeighbourInfo[] }
  | { type: 'roles'; to: PeerId; holderKeys: number[]; producerGroups: number[]; leaseMs: number; heartbeatMs: number }
  | { type: 'swarm'; to: PeerId; mode: SwarmMode; viewers: number; holders: RoleEntry[]; producers: RoleEntry[] }
  | { type: 'close'; to: PeerId; reason: 'replaced' | 'timeout' };
