// Shared types of the protocol cores: their outputs, the codec subset they use, the tracker
// inputs they take, and the peer core's typed config with its documented defaults. Types and
// the resolve step only. Used by peer-core.ts, broadcaster-core.ts, the session and the simulator.

import { P2PError } from '../errors.ts';
import type { Codec } from '../codec/index.ts';
import type { CryptoJob } from './crypto-jobs.ts';
import type { Manifest, WireMessage } from './wire.ts';
import { DEFAULT_POLICY, type PolicyConfig } from './neighbour-policy.ts';

/** The codec operations the cores need (the real `Codec` satisfies it; the simulator may pass an identity codec). */
export type FrameCodec = Pick<Codec, 'codeSegment' | 'seedPacket' | 'feedPacketsFromSeeds' | 'feedPacket' | 'decodeFrame'>;

export type Channel = 'control' | 'media';

export type CoreOutput =
  /** Send `message` (encode with encodeMessage) to a connected neighbour on the named channel. */
  | { type: 'send'; peerId: string; channel: Channel; message: WireMessage }
  /** Run a crypto job and hand its result to handleCryptoResult. */
  | { type: 'crypto'; job: CryptoJob }
  /** A decoded frame whose SHA-256 matched its verified manifest (init segments included). */
  | { type: 'frame'; manifest: Manifest; frame: Uint8Array; nowMs: number }
  /** A neighbour sent bad data; when `banned`, disconnect it and tell the tracker. */
  | { type: 'bad-peer'; peerId: string; reason: string; strikes: number; banned: boolean }
  /** Media for this neighbour is waiting: report its channel's bufferedAmount when it drains. */
  | { type: 'want-writable'; peerId: string }
  /**
   * This producer stopped using a holder whose seeds did not come (`withholding`) or disagreed with
   * the other holders' (`corrupt`): tell the tracker (`complaint`), with the evidence.
   */
  | { type: 'complaint'; peerId: string; reason: 'withholding' | 'corrupt'; evidence: ComplaintEvidence };

/**
 * What a producer saw of a holder: the code-segment key concerned, the newest frame concerned,
 * and in how many frames in a row its seeds were missing (withholding) or found bad (corrupt: 1).
 */
export interface ComplaintEvidence {
  key: number;
  seq: number;
  frames: number;
}

/** What the tracker says about one neighbour (a subset of the tracker's NeighbourInfo). */
export interface NeighbourInput {
  peerId: string;
  reasons?: readonly string[];
  /** Code-segment keys the neighbour holds (holders only). */
  holderKeys?: readonly number[];
}

/** This peer's role leases from the tracker. */
export interface RolesInput {
  holderKeys: readonly number[];
  producerGroups: readonly number[];
}

/**
 * The largest sequence number a broadcaster uses. First sequences follow wall-clock time (one step
 * per 50 ms since 2025) and wrap below 0xf0000000, so a reloaded broadcaster numbers from far above
 * its last frame: far ahead of a viewer's window is honest then. Only sequences above this bound
 * are never honest and count against their sender; the others beyond the window are dropped.
 */
export const MAX_STREAM_SEQ = 0xefffffff;

/** The peer core's config; the trust and serving parameters are the policy's (neighbour-policy.ts). */
export interface PeerCoreConfig extends PolicyConfig {
  /** Seed of the core's RNG (tie breaks). */
  seed: number;
  /** Scheduling period: HAVE flush, requests, timeouts. */
  tickMs: number;
  /** A frame is chased this long after it was first seen, then dropped. */
  frameLifetimeMs: number;
  /** A decoded frame is kept (to serve neighbours) this long after it was first seen. */
  keepFrameMs: number;
  /** Frames tracked at once; newer unknown frames are refused beyond this. */
  maxFrames: number;
  /** Keys asked beyond 64 at least (more when loss is measured). */
  minSpareKeys: number;
  /** Keys in flight to one neighbour at most. */
  maxInflightPerNeighbour: number;
  /** Request timeout bounds; between them it is 2·RTT + 40 ms. */
  minRequestTimeoutMs: number;
  maxRequestTimeoutMs: number;
  /** Media bytes handed to one neighbour's channel and not yet sent, at most. */
  mediaBudgetBytes: number;
  /** Media messages queued in the core for one neighbour at most (oldest dropped). */
  mediaQueueMax: number;
  /** Holders (distinct keys c) a producer subscribes to per group; 9–10 lets it check seeds. */
  seedSources: number;
  /** A producer with 8 seeds waits this long for spares before producing. */
  produceGraceMs: number;
  /**
   * A subscribed holder whose seeds are missing in this many frames in a row, while other holders'
   * came, is taken as withholding (each frame with its seeds takes half a miss back): the producer
   * stops using it, subscribes elsewhere and complains.
   */
  withholdFrames: number;
  /**
   * A frame's seeds are judged this long after its first seed arrived: after both seed requests,
   * and about when a holder drops seeds it could not send (frameLifetimeMs / 2), so a holder whose
   * seeds come late but come is not taken for one that withholds.
   */
  withholdJudgeMs: number;
  /** A holder found withholding or corrupt is not subscribed to again for this long. */
  shunHolderMs: number;
  /** A new subscription gets the seeds of at most this many frames already under way. */
  backfillFrames: number;
  /**
   * A joining viewer collects frames from this many before the newest one it first hears of, not
   * every frame its neighbours still keep (about 4 s): the player starts at the newest key frame,
   * so older frames would be downloaded for nothing. Cover the stream's key-frame interval.
   */
  joinBacklogFrames: number;
  /** A holder asks the broadcaster for missing code-segment chunks this long after the first one. */
  csRepairDelayMs: number;
  /** A producer short of 8 seeds for a group asks its holders again this long after the first seed (then 4× as long). */
  seedRepairDelayMs: number;
  /** A holder re-sends at most this many seed packets per frame on request. */
  maxSeedResendsPerFrame: number;
  /** A directly fed viewer asks the broadcaster for missing slot keys this long after its first key. */
  directRepairDelayMs: number;
  /** A directly fed viewer still short of keys this long after a frame began asks the broadcaster for extra keys. */
  stuckMs: number;
  /** Frames first seen up to this long after a neighbour left may still have had it as a slot. */
  lostSlotMs: number;
  /** An init-segment or manifest request is retried after this long. */
  retryMs: number;
  /**
   * Frame state exists for sequences at most this far beyond the newest verified manifest; a
   * message naming a sequence beyond is dropped (a made-up far-future sequence would otherwise
   * open frame state and, when it expired, move the floor past every real frame).
   */
  maxAheadFrames: number;
  /** Frames one neighbour may open whose manifest has not verified yet (joinBacklogFrames + 1 before the first). */
  unverifiedFramesPerNeighbour: number;
  /** Replay window of sequence numbers. */
  replayWindow: number;
  /**
   * 1: keys a neighbour asked for (REQUEST) leave ahead of the keys pushed to it (send-queue.ts);
   * 0 (default): in arrival order. Off: the simulator showed no gain beyond its noise (protocol.md).
   */
  askedFirst: number;
  /**
   * 1: a HAVE's list of newly held keys goes out at every tick; 0 (default): every other tick (first
   * announcements, manifests and "complete" go out at every tick either way).
   */
  haveEveryTick: number;
  /**
   * 1: a HAVE that offers keys of a frame still short of keys runs that frame's pull at once (the
   * REQUEST leaves on the HAVE's arrival); 0 (default): at this peer's next tick.
   */
  askOnHave: number;
  /**
   * 1: a producer whose grace for spare seeds ends between ticks produces then (the core asks to
   * wake at that time); 0 (default): at the first tick after the grace.
   */
  produceOnGrace: number;
  /**
   * A request times out after requestTimeoutSrtts × SRTT + 4·RTTVAR + 40 ms (+ 4 ms per key), SRTT
   * being that neighbour's smoothed request-to-key time, within the bounds above. Default 2.
   */
  requestTimeoutSrtts: number;
  /**
   * 1: a neighbour's share of the keys asked for is its delivery score × (the fastest eligible
   * neighbour's smoothed request-to-key time / its own), so a neighbour whose keys come slowly (a
   * full uplink queue) is asked for fewer; 0 (default): the delivery score alone.
   */
  weighBySrtt: number;
  /**
   * Hedged requests for a frame's last keys: in a frame first seen more than hedgeAfterMs ago (0:
   * never, the default), keys asked more than hedgeStaleMs ago and still in flight no longer count
   * as on their way, so other keys (any 64 distinct keys decode) are asked in their place, once per
   * hedgeStaleMs; the first answer of either kind counts.
   */
  hedgeAfterMs: number;
  hedgeStaleMs: number;
  /** Keys per frame a viewer asks neighbours to push (standing subscriptions; 0: pull only). */
  pushKeys: number;
  /** A key awaited by push is pulled anyway once another neighbour offered it this long ago. */
  pushWaitMs: number;
  /** Keys of a frame older than this (since first seen) are no longer awaited by push. */
  pushGiveUpMs: number;
  /** A push parent that announced none of our keys of a frame this long after it began here is passed over. */
  pushSilentMs: number;
  /** A key the push parent announced but did not deliver within this long counts as lost. */
  pushLossMs: number;
  /** Keys are pushed to a neighbour only while fewer media messages than this wait for it. */
  pushBacklogMax: number;
  /** A pushed key not sent within this long is dropped. */
  pushLifetimeMs: number;
  /** 1: keep packets re-encoded for a neighbour (CPU saved); 0: make them again each time (memory saved). */
  cacheEncodedPackets: number;
  /** How many ended frames `PeerCore.recentFrames` keeps for diagnostics (0: none, nothing summarized). */
  frameHistory: number;
}

export const DEFAULT_PEER_CONFIG: Readonly<PeerCoreConfig> = Object.freeze({
  ...DEFAULT_POLICY,
  seed: 1,
  tickMs: 40,
  frameLifetimeMs: 2500,
  keepFrameMs: 4000,
  maxFrames: 64,
  minSpareKeys: 1,
  maxInflightPerNeighbour: 128,
  minRequestTimeoutMs: 120,
  maxRequestTimeoutMs: 700,
  mediaBudgetBytes: 4 * 1033,
  mediaQueueMax: 192,
  seedSources: 10,
  produceGraceMs: 15,
  withholdFrames: 4,
  withholdJudgeMs: 1200,
  shunHolderMs: 30000,
  backfillFrames: 8,
  joinBacklogFrames: 16,
  csRepairDelayMs: 40,
  seedRepairDelayMs: 80,
  maxSeedResendsPerFrame: 48,
  directRepairDelayMs: 60,
  stuckMs: 800,
  lostSlotMs: 250,
  retryMs: 400,
  replayWindow: 512,
  maxAheadFrames: 128,
  unverifiedFramesPerNeighbour: 12,
  cacheEncodedPackets: 1,
  askedFirst: 0,
  haveEveryTick: 0,
  askOnHave: 0,
  produceOnGrace: 0,
  requestTimeoutSrtts: 2,
  weighBySrtt: 0,
  hedgeAfterMs: 0,
  hedgeStaleMs: 200,
  pushKeys: 60,
  pushWaitMs: 300,
  pushGiveUpMs: 800,
  pushSilentMs: 550,
  pushLossMs: 60,
  pushBacklogMax: 8,
  pushLifetimeMs: 400,
  frameHistory: 40,
});

/** Fills defaults and rejects impossible values with P2PError('BAD_CONFIG'). */
export function resolvePeerConfig(partial: Partial<PeerCoreConfig> = {}): PeerCoreConfig {
  const c = { ...DEFAULT_PEER_CONFIG, ...partial };
  for (const [k, v] of Object.entries(c)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new P2PError('BAD_CONFIG', `peer config ${k} must be a number ≥ 0, got ${String(v)}`);
  }
  if (c.serveKeyTimes < 1 || c.serveKeyTimes > 2) throw new P2PError('BAD_CONFIG', 'serveKeyTimes must be 1 or 2');
  if (c.badDecay > 1 || c.strikeDecay > 1 || c.decayIntervalMs <= 0) throw new P2PError('BAD_CONFIG', 'score decays must be ≤ 1 and decayIntervalMs > 0');
  if (c.tickMs <= 0) throw new P2PError('BAD_CONFIG', 'tickMs must be > 0');
  if (c.keepFrameMs < c.frameLifetimeMs) throw new P2PError('BAD_CONFIG', 'keepFrameMs must be ≥ frameLifetimeMs');
  if (c.seedSources < 8) throw new P2PError('BAD_CONFIG', 'seedSources must be ≥ 8 (a producer needs 8 seeds)');
  if (c.minRequestTimeoutMs > c.maxRequestTimeoutMs) throw new P2PError('BAD_CONFIG', 'minRequestTimeoutMs must be ≤ maxRequestTimeoutMs');
  if (c.mediaBudgetBytes < 1163) throw new P2PError('BAD_CONFIG', 'mediaBudgetBytes must hold at least one media message (1163 bytes)');
  return c;
}
