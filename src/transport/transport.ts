// The Transport contract: peer connections that carry bytes on three channels (reliable ordered
// `control`, unordered unreliable `media`, reliable unordered `requests`), with signalling left to
// the caller. It must not know the protocol or the tracker. Implemented by WebRtcTransport and MemoryTransport; used by the session.

import type { TypedEmitterApi } from '../typed-emitter.ts';
import type { IceServerConfig } from './transport-config.ts';

/**
 * `control`: reliable, ordered. `media`: unordered, `maxRetransmits: 0`, messages may be lost.
 * `requests`: reliable, unordered: a message lost on the path is sent again, but it neither waits
 * for an earlier message of any channel nor holds a later one up. For small messages that need no
 * order. A peer whose requests channel has not shown itself open yet (a peer without one, or one
 * still opening it) gets what is sent on `requests` on `control` instead, and `message` names the
 * channel a message came on.
 */
export type Channel = 'control' | 'media' | 'requests';
export const CHANNELS: readonly Channel[] = ['control', 'media', 'requests'] as const;

/** Largest media message that fits one SCTP packet of Chromium's (our header included). */
export const MEDIA_MESSAGE_LIMIT_BYTES = 1163;
/** Largest control message accepted anywhere (Chromium's default SCTP max-message-size). */
export const CONTROL_MESSAGE_LIMIT_BYTES = 256 * 1024;
/** Largest requests-channel message (one SCTP packet, as media: a loss delays only what shared it). */
export const REQUESTS_MESSAGE_LIMIT_BYTES = MEDIA_MESSAGE_LIMIT_BYTES;

/**
 * An opaque, JSON-safe signalling blob. The caller relays it unchanged to the named peer's
 * `signal()`. Its shape is given for documentation; treat it as a black box.
 */
export type SignalBlob =
  | { type: 'offer' | 'answer'; sdp: string }
  | { type: 'candidate'; candidate: { candidate: string; sdpMLineIndex?: number | null; sdpMid?: string | null } };

/** Lifecycle of one peer: `connecting` (pending negotiation) → `connected`; ended peers are removed. */
export type PeerState = 'connecting' | 'connected';

/**
 * Why a peer failed; the caller should tell the tracker and pick another neighbour.
 * - `connect-timeout`: not connected within `connectTimeoutMs` (no answer, no route).
 * - `ice-failed`: ICE or the peer connection reported failure.
 * - `stalled`: connected, but ICE stayed disconnected or a send buffer made no progress for `stallTimeoutMs`.
 * - `negotiation-error`: the remote description or a candidate was rejected by the browser.
 * - `channel-error`: a datachannel errored or closed on one side only.
 */
export type FailReason = 'connect-timeout' | 'ice-failed' | 'stalled' | 'negotiation-error' | 'channel-error';

/** Why a connected peer went away in an orderly way: the remote side closed the connection. */
export type DisconnectReason = 'remote-closed';

export interface TransportEvents {
  /** A signalling blob to relay to `peerId` (offer, answer, trickled ICE candidate). */
  signal: (peerId: string, blob: SignalBlob) => void;
  /**
   * `control` and `media` are open; `send` works for this peer from now until `disconnected`/`failed`
   * (`requests` may open later: until then its messages go on `control`).
   */
  connected: (peerId: string) => void;
  /** One inbound message, already size-checked. `bytes` is owned by the listener. */
  message: (peerId: string, channel: Channel, bytes: Uint8Array) => void;
  /** The channel drained below its low-water mark after a send was refused or the buffer filled. */
  writable: (peerId: string, channel: Channel) => void;
  /** A connected peer went away in an orderly way. The peer is already removed. */
  disconnected: (peerId: string, reason: DisconnectReason) => void;
  /** A peer (connecting or connected) failed. The peer is already removed. */
  failed: (peerId: string, reason: FailReason, detail: string) => void;
}

export interface ChannelStats {
  /** Messages handed to the channel (a batched media message counts when its batch leaves). */
  messagesOut: number;
  bytesOut: number;
  messagesIn: number;
  bytesIn: number;
  /** Sends refused: media over its high-water mark, or the channel not open. */
  droppedOut: number;
  /**
   * Inbound messages dropped: over the size limit, empty, or not binary; and media batches that
   * fail to split (each counted once, and in `badBatchesIn` too); control batches likewise.
   */
  droppedIn: number;
  /** Datachannel messages handed to the channel: `messagesOut` less what batching saved. */
  linkMessagesOut: number;
  /** Datachannel messages received within their size bound (a batch that splits counts once). */
  linkMessagesIn: number;
  /** Batches refused whole: bad count, an empty or truncated message, trailing bytes. */
  badBatchesIn: number;
}

export interface PeerStats {
  state: PeerState;
  initiator: boolean;
  control: ChannelStats;
  media: ChannelStats;
  /** What went and came on the requests channel itself (what fell back to control is in `control`). */
  requests: ChannelStats;
  /** True once the remote's requests channel showed itself open: `requests` sends use it from then. */
  requestsOpen: boolean;
  /** Messages sent as `requests` that went on `control` (the remote's requests channel not open). */
  requestsOnControl: number;
  signalsIn: number;
  signalsOut: number;
  /** Inbound signals dropped: malformed, over a size limit, wrong for the peer's role. */
  signalsDropped: number;
}

export interface TransportStats {
  peers: number;
  connecting: number;
  /** Signals dropped before reaching a peer: unknown peer, inbound refused, malformed. */
  signalsDropped: number;
  /** Inbound offers refused because of `acceptInbound`, `maxPeers` or `maxPendingConnections`. */
  inboundRefused: number;
  /** Media messages handed to channels since the transport was made, every peer's (ended ones too). */
  mediaMessagesOut: number;
  /** Datachannel messages those took (a batch once): what the WebRTC implementation was asked to send. */
  mediaLinkMessagesOut: number;
  /** Control messages handed to channels, every peer's (ended ones too). */
  controlMessagesOut: number;
  /** Datachannel messages those took (a batch once). */
  controlLinkMessagesOut: number;
  /** Messages handed to requests channels, every peer's (what went on control as `requests` is in control's). */
  requestsMessagesOut: number;
  /** Datachannel messages those took (a batch once; the ready frames too). */
  requestsLinkMessagesOut: number;
}

/** What the path to a connected peer looks like (for stats and the tracker's `relayed` flag). */
export interface LinkInfo {
  /** Round-trip time of the selected ICE candidate pair, when measured. */
  rttMs: number | undefined;
  /** True when either side of the selected pair is a TURN relay candidate. */
  relayed: boolean;
  /** ICE candidate types of the selected pair: host, srflx, prflx, relay. */
  localCandidateType: string | undefined;
  remoteCandidateType: string | undefined;
}

export interface ConnectOptions {
  /** True: this side makes the offer. False: wait for the remote offer through `signal()`. */
  initiator: boolean;
}

/**
 * Peer connections carrying bytes. Errors thrown are P2PError with these codes:
 * TRANSPORT_BAD_PEER_ID, TRANSPORT_PEER_EXISTS, TRANSPORT_TOO_MANY_PEERS,
 * TRANSPORT_TOO_MANY_PENDING, TRANSPORT_BAD_CHANNEL, TRANSPORT_BAD_MESSAGE,
 * TRANSPORT_MESSAGE_TOO_LARGE, TRANSPORT_CONTROL_FULL, TRANSPORT_DESTROYED,
 * TRANSPORT_BAD_CONFIG (constructor), TRANSPORT_NO_WEBRTC (WebRtcTransport constructor).
 */
export interface Transport extends TypedEmitterApi<TransportEvents> {
  /**
   * Starts a connection to `peerId`. Throws when a bound is reached or the peer exists (except
   * `initiator: false` for a peer whose offer already arrived, which is a no-op).
   */
  connect(peerId: string, options: ConnectOptions): void;
  /**
   * Feeds a signalling blob received from `peerId`. An offer from an unknown peer starts an
   * inbound connection (if `acceptInbound` and the bounds allow). Returns false when the blob
   * was dropped (malformed, over a limit, unknown peer, refused); it never throws for bad blobs.
   */
  signal(peerId: string, blob: unknown): boolean;
  /**
   * Sends one message. True: handed to the channel. False: not sent and counted (media over its
   * high-water mark, or the peer unknown or not connected). Throws P2PError for an empty or
   * oversize message, an unknown channel, or control or requests over its high-water mark
   * (TRANSPORT_CONTROL_FULL). `requests` goes on `control` while the remote's requests channel is not open.
   */
  send(peerId: string, channel: Channel, bytes: Uint8Array): boolean;
  /** Bytes queued on the channel and not yet sent (0 for unknown peers). */
  bufferedAmount(peerId: string, channel: Channel): number;
  /** True when a `send` of `bytes` bytes would be accepted now. */
  canSend(peerId: string, channel: Channel, bytes: number): boolean;
  /** Current state, or undefined when the peer is unknown (never connected, or ended). */
  peerState(peerId: string): PeerState | undefined;
  /** Ids of the current peers (connecting and connected). */
  peers(): string[];
  stats(peerId: string): PeerStats | undefined;
  /** Path details of a connected peer; undefined when unknown, not connected, or not measurable. */
  linkInfo(peerId: string): Promise<LinkInfo | undefined>;
  transportStats(): TransportStats;
  /**
   * Replaces the STUN/TURN servers for new connections (the tracker hands them out with
   * short-lived TURN credentials). Optional: transports without ICE (memory) leave it out.
   */
  setIceServers?(servers: IceServerConfig[]): void;
  /** Closes one peer. No event is emitted for it. Unknown ids are ignored. */
  close(peerId: string): void;
  /** Closes every peer and removes all listeners. Further calls throw TRANSPORT_DESTROYED. */
  destroy(): void;
}
