// One peer's record inside a transport (state, counters, back-pressure flags, stall tracking) and
// the pure rules over it: stats snapshot and the stall judgement. No timers, no I/O.
// Used by TransportCore; the link type L belongs to the concrete transport.

import { P2PError } from '../errors.ts';
import type { BatchWriter } from './media-batch.ts';
import { CHANNELS, type Channel, type ChannelStats, type PeerState, type PeerStats } from './transport.ts';

export const MAX_PEER_ID_LENGTH = 128;

export interface PeerEntry<L> {
  readonly id: string;
  readonly initiator: boolean;
  state: PeerState;
  link: L | undefined;
  ended: boolean;
  gotDescription: boolean;
  candidatesIn: number;
  signalsIn: number;
  signalsOut: number;
  signalsDropped: number;
  channels: Record<Channel, ChannelStats>;
  /** A send was refused (or canSend said no) since the last `writable` for that channel. */
  blocked: Record<Channel, boolean>;
  connectTimer: unknown;
  /** Inbound messages that arrived before `connected` was emitted. */
  early: Array<[Channel, Uint8Array]>;
  /** Stall tracking: bytes that left the send buffer, and when that last grew (or the buffer was empty). */
  progress: Record<Channel, { sent: number; atMs: number }>;
  /** Since when the link reports a lost path, if it does. */
  interruptedSinceMs: number | undefined;
  /** Messages accepted in this turn and not yet handed to each channel (see media-batch.ts). */
  batches: Record<Channel, BatchWriter | undefined>;
  /** The remote's requests channel showed itself open (its ready frame came): `requests` sends use it. */
  requestsOpen: boolean;
  /** Messages sent as `requests` that went on `control` instead. */
  requestsOnControl: number;
}

const emptyChannelStats = (): ChannelStats => ({
  messagesOut: 0,
  bytesOut: 0,
  messagesIn: 0,
  bytesIn: 0,
  droppedOut: 0,
  droppedIn: 0,
  linkMessagesOut: 0,
  linkMessagesIn: 0,
  badBatchesIn: 0,
});

export function newPeerEntry<L>(id: string, initiator: boolean): PeerEntry<L> {
  return {
    id,
    initiator,
    state: 'connecting',
    link: undefined,
    ended: false,
    gotDescription: false,
    candidatesIn: 0,
    signalsIn: 0,
    signalsOut: 0,
    signalsDropped: 0,
    channels: { control: emptyChannelStats(), media: emptyChannelStats(), requests: emptyChannelStats() },
    blocked: { control: false, media: false, requests: false },
    connectTimer: undefined,
    early: [],
    progress: { control: { sent: 0, atMs: 0 }, media: { sent: 0, atMs: 0 }, requests: { sent: 0, atMs: 0 } },
    interruptedSinceMs: undefined,
    batches: { control: undefined, media: undefined, requests: undefined },
    requestsOpen: false,
    requestsOnControl: 0,
  };
}

export function peerStatsOf<L>(p: PeerEntry<L>): PeerStats {
  return {
    state: p.state,
    initiator: p.initiator,
    control: { ...p.channels.control },
    media: { ...p.channels.media },
    requests: { ...p.channels.requests },
    requestsOpen: p.requestsOpen,
    requestsOnControl: p.requestsOnControl,
    signalsIn: p.signalsIn,
    signalsOut: p.signalsOut,
    signalsDropped: p.signalsDropped,
  };
}

/** Starts stall tracking at `nowMs` (called when the peer becomes connected). */
export function resetProgress<L>(p: PeerEntry<L>, nowMs: number): void {
  for (const ch of CHANNELS) p.progress[ch] = { sent: 0, atMs: nowMs };
  p.interruptedSinceMs = undefined;
}

/**
 * Updates stall tracking of a connected peer and says why it is stalled, if it is: the path
 * reported lost for `limitMs`, or a send buffer holding bytes with none leaving for `limitMs`.
 */
export function stallOf<L>(
  p: PeerEntry<L>,
  nowMs: number,
  limitMs: number,
  interrupted: boolean,
  buffered: (ch: Channel) => number,
): string | undefined {
  if (interrupted) {
    p.interruptedSinceMs ??= nowMs;
    if (nowMs - p.interruptedSinceMs >= limitMs) return `path lost for ${Math.round(nowMs - p.interruptedSinceMs)} ms`;
  } else {
    p.interruptedSinceMs = undefined;
  }
  for (const ch of CHANNELS) {
    const inBuffer = buffered(ch);
    const sent = p.channels[ch].bytesOut - inBuffer;
    const pr = p.progress[ch];
    if (inBuffer === 0 || sent > pr.sent) {
      pr.sent = sent;
      pr.atMs = nowMs;
    } else if (nowMs - pr.atMs >= limitMs) {
      return `${ch} buffer of ${inBuffer} bytes made no progress for ${Math.round(nowMs - pr.atMs)} ms`;
    }
  }
  return undefined;
}

export function checkPeerId(peerId: unknown): asserts peerId is string {
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > MAX_PEER_ID_LENGTH) {
    throw new P2PError('TRANSPORT_BAD_PEER_ID', `a peer id must be a string of 1 to ${MAX_PEER_ID_LENGTH} characters`);
  }
}

export function checkChannel(channel: unknown): asserts channel is Channel {
  if (channel !== 'control' && channel !== 'media' && channel !== 'requests') {
    throw new P2PError('TRANSPORT_BAD_CHANNEL', `unknown channel ${JSON.stringify(channel)}; use 'control', 'media' or 'requests'`);
  }
}

export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
