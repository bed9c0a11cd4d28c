// WebRTC transport for browsers: simple-peer's reliable ordered channel is `control`; a negotiated
// unordered `maxRetransmits: 0` channel on its RTCPeerConnection is `media`, and a negotiated
// reliable unordered one is `requests`. Rules live in
// TransportCore; knows nothing of the protocol or the tracker. Created by the session.

import SimplePeerBundle from 'simple-peer/simplepeer.min.js';
import { P2PError } from '../errors.ts';
import type { Channel, LinkInfo, SignalBlob } from './transport.ts';
import { resolveTransportConfig, type IceServerConfig, type TransportConfig } from './transport-config.ts';
import { describeError, type PeerEntry } from './peer-entry.ts';
import { realClock, type TransportClock } from './transport-clock.ts';
import { TransportCore } from './transport-core.ts';

/** Fixed stream id of the negotiated media channel (the same on both sides, never signalled). */
export const MEDIA_CHANNEL_ID = 2;
export const MEDIA_CHANNEL_INIT: RTCDataChannelInit = Object.freeze({
  negotiated: true,
  id: MEDIA_CHANNEL_ID,
  ordered: false,
  maxRetransmits: 0,
});
/** Fixed stream id of the negotiated requests channel: reliable (no retransmission limit), unordered. */
export const REQUESTS_CHANNEL_ID = 3;
export const REQUESTS_CHANNEL_INIT: RTCDataChannelInit = Object.freeze({
  negotiated: true,
  id: REQUESTS_CHANNEL_ID,
  ordered: false,
});

/** The part of a simple-peer 9.11 instance this transport uses (`_pc`, `_channel` are its internals). */
interface SimplePeerInstance {
  _pc: RTCPeerConnection | null;
  _channel: RTCDataChannel | null;
  destroyed: boolean;
  signal(data: object): void;
  destroy(err?: Error): void;
  on(event: 'signal', fn: (data: unknown) => void): void;
  on(event: 'connect' | 'close', fn: () => void): void;
  /** simple-peer's own event: local ICE gathering ended (the null candidate). */
  on(event: '_iceComplete', fn: () => void): void;
  on(event: 'data', fn: (data: unknown) => void): void;
  on(event: 'error', fn: (err: Error & { code?: string }) => void): void;
}

interface SimplePeerOptions {
  initiator: boolean;
  trickle: boolean;
  config: RTCConfiguration;
  wrtc?: WebRtcImplementation;
}

/**
 * A WebRTC implementation outside the browser's globals (Node: `@roamhq/wrtc`). simple-peer takes
 * these three constructors as its `wrtc` option; the transport uses nothing else of it.
 */
export interface WebRtcImplementation {
  RTCPeerConnection: unknown;
  RTCSessionDescription: unknown;
  RTCIceCandidate: unknown;
}

const SimplePeer = SimplePeerBundle as new (opts: SimplePeerOptions) => SimplePeerInstance;

interface RtcLink {
  sp: SimplePeerInstance;
  media: RTCDataChannel;
  /** Undefined when `requestsChannel` is off. */
  requests: RTCDataChannel | undefined;
  controlHooked: boolean;
  /** Whether each channel's implementation fires `bufferedamountlow` (Node's @roamhq/wrtc does not). */
  drainEvents: Record<Channel, boolean>;
  /** Channels without the event: the last `bufferedAmount` read, when, and bytes sent since. */
  buffered: Record<Channel, { atMs: number; value: number }>;
}

/**
 * Channels without `bufferedamountlow` (@roamhq/wrtc): `bufferedAmount` is read from the channel at
 * most this often, ms; between reads it is the last value plus the bytes sent since, never less
 * than the truth unless bytes left. Each read there is a blocking call into WebRTC's signalling
 * thread (about 24 µs on a loaded machine), and the transport and session asked for it several
 * times per message sent.
 */
export const BUFFERED_READ_MS = 10;

/**
 * True when a datachannel implements `bufferedAmountLowThreshold` and the `bufferedamountlow`
 * event (browsers do). @roamhq/wrtc 0.10 has neither: setting them only adds plain properties,
 * and the event never fires.
 */
export function hasDrainEvent(dc: object): boolean {
  const proto: unknown = Object.getPrototypeOf(dc);
  return typeof proto === 'object' && proto !== null && 'bufferedAmountLowThreshold' in proto && 'onbufferedamountlow' in proto;
}

/** The datachannel behind a channel of the link (simple-peer's own for control). */
function channelOf(link: RtcLink, channel: Channel): RTCDataChannel | null | undefined {
  return channel === 'media' ? link.media : channel === 'requests' ? link.requests : link.sp._channel;
}

/** simple-peer error codes → the transport's failure reasons. */
function failReasonOf(code: string | undefined): 'ice-failed' | 'negotiation-error' | 'channel-error' {
  switch (code) {
    case 'ERR_ICE_CONNECTION_FAILURE':
    case 'ERR_CONNECTION_FAILURE':
    case 'ERR_ICE_CONNECTION_CLOSED':
      return 'ice-failed';
    case 'ERR_SET_REMOTE_DESCRIPTION':
    case 'ERR_SET_LOCAL_DESCRIPTION':
    case 'ERR_CREATE_OFFER':
    case 'ERR_CREATE_ANSWER':
    case 'ERR_ADD_ICE_CANDIDATE':
    case 'ERR_SIGNALING':
      return 'negotiation-error';
    default:
      return 'channel-error';
  }
}

/** Copies only the fields the other side needs, so blobs stay small and JSON-safe. */
function outboundSignal(data: unknown): SignalBlob | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  if ((d.type === 'offer' || d.type === 'answer') && typeof d.sdp === 'string') return { type: d.type, sdp: d.sdp };
  if (d.type === 'candidate' && d.candidate && typeof d.candidate === 'object') {
    const c = d.candidate as Record<string, unknown>;
    if (typeof c.candidate !== 'string') return undefined;
    return {
      type: 'candidate',
      candidate: {
        candidate: c.candidate,
        sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : null,
        sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : null,
      },
    };
  }
  return undefined;
}

export class WebRtcTransport extends TransportCore<RtcLink> {
  readonly #wrtc: WebRtcImplementation | undefined;
  readonly #links = new Set<RtcLink>();
  #iceServers: IceServerConfig[];

  /**
   * `wrtc`: the WebRTC implementation to use instead of the browser's globals (Node peers).
   * Throws P2PError('TRANSPORT_NO_WEBRTC') where neither is there, TRANSPORT_BAD_CONFIG for bad options.
   */
  constructor(config: Partial<TransportConfig> = {}, clock: TransportClock = realClock, wrtc?: WebRtcImplementation) {
    super(config, clock);
    this.#iceServers = this.config.iceServers;
    if (wrtc !== undefined && (!wrtc || typeof wrtc.RTCPeerConnection !== 'function')) {
      throw new P2PError('TRANSPORT_NO_WEBRTC', 'the given WebRTC implementation has no RTCPeerConnection');
    }
    this.#wrtc = wrtc;
    if (!wrtc && typeof globalThis.RTCPeerConnection !== 'function') {
      throw new P2PError('TRANSPORT_NO_WEBRTC', 'RTCPeerConnection is not available in this environment');
    }
    // A closing page does not close its connections in a way the other side sees at once;
    // closing them here lets neighbours report `disconnected` instead of waiting for a stall.
    if (typeof globalThis.addEventListener === 'function') globalThis.addEventListener('pagehide', this.#onPageHide);
  }

  override destroy(): void {
    if (typeof globalThis.removeEventListener === 'function') globalThis.removeEventListener('pagehide', this.#onPageHide);
    super.destroy();
  }

  /**
   * Replaces the STUN/TURN servers (the tracker hands out short-lived TURN credentials): new
   * connections use them, open ones get them for their next ICE restart or allocation refresh.
   * Throws TRANSPORT_BAD_CONFIG for a bad list, like the constructor.
   */
  setIceServers(servers: IceServerConfig[]): void {
    const checked = resolveTransportConfig({ ...this.config, iceTransportPolicy: 'all', iceServers: servers }).iceServers;
    this.#iceServers = checked;
    for (const link of this.#links) {
      const pc = link.sp._pc;
      try {
        pc?.setConfiguration({ ...pc.getConfiguration(), iceServers: checked.map((s) => ({ ...s })) });
      } catch {
        // An implementation that refuses a change keeps the servers it started with.
      }
    }
  }

  /** The STUN/TURN servers new connections use. */
  get iceServers(): readonly IceServerConfig[] {
    return this.#iceServers;
  }

  #onPageHide = (): void => {
    for (const id of this.peers()) this.close(id);
  };

  protected openLink(peer: PeerEntry<RtcLink>): RtcLink {
    const rtcConfig: RTCConfiguration = {
      iceServers: this.#iceServers.map((s) => ({ ...s })),
      iceTransportPolicy: this.config.iceTransportPolicy,
    };
    const sp = new SimplePeer({ initiator: peer.initiator, trickle: true, config: rtcConfig, ...(this.#wrtc ? { wrtc: this.#wrtc } : {}) });
    if (!sp._pc || sp.destroyed) throw new P2PError('TRANSPORT_NO_WEBRTC', 'the peer connection could not be created');
    const media = sp._pc.createDataChannel('media', MEDIA_CHANNEL_INIT);
    media.binaryType = 'arraybuffer';
    media.bufferedAmountLowThreshold = this.config.mediaLowWaterBytes;
    // A peer without this channel (an older version) never says it is open, so nothing is sent on
    // it; what such a peer would get on the stream is dropped by its WebRTC stack.
    const requests = this.config.requestsChannel ? sp._pc.createDataChannel('requests', REQUESTS_CHANNEL_INIT) : undefined;
    const link: RtcLink = {
      sp,
      media,
      requests,
      controlHooked: false,
      drainEvents: { media: hasDrainEvent(media), control: true, requests: requests ? hasDrainEvent(requests) : true },
      buffered: { media: { atMs: -Infinity, value: 0 }, control: { atMs: -Infinity, value: 0 }, requests: { atMs: -Infinity, value: 0 } },
    };
    this.#links.add(link);
    if (requests) {
      requests.binaryType = 'arraybuffer';
      requests.bufferedAmountLowThreshold = this.config.controlLowWaterBytes;
      requests.onopen = () => this.linkRequestsOpened(peer);
      requests.onmessage = (ev: MessageEvent) => this.linkMessage(peer, 'requests', ev.data);
      requests.onbufferedamountlow = () => this.linkDrained(peer, 'requests');
      // Closed or broken alone: its messages go on control again; the media channel tells of the peer.
      requests.onclose = requests.onerror = () => this.linkRequestsClosed(peer);
    }

    media.onopen = () => this.#maybeConnected(peer);
    media.onmessage = (ev: MessageEvent) => this.linkMessage(peer, 'media', ev.data);
    media.onbufferedamountlow = () => this.linkDrained(peer, 'media');
    // We never close a channel alone, so a closed media channel means the remote went away.
    media.onclose = () => this.linkClosed(peer, 'remote-closed');

    // Local candidates gathered: a connection whose gathering ends with none can never find a path
    // (the network blocks UDP and no relay is reachable), so it fails at once instead of waiting out
    // the connect timeout, and the session may try again (or play from HTTP) sooner.
    let localCandidates = 0;
    sp.on('signal', (data) => {
      const blob = outboundSignal(data);
      if (blob?.type === 'candidate' && blob.candidate.candidate !== '') localCandidates++;
      if (blob) this.linkSignal(peer, blob);
    });
    sp.on('_iceComplete', () => {
      // Candidates gathered before the description was made are in its SDP (an answerer's are
      // there, and @roamhq/wrtc reports the end of gathering before it trickles them).
      if (localCandidates > 0 || /\ra=candidate:|\na=candidate:/.test(sp._pc?.localDescription?.sdp ?? '')) return;
      if (peer.state === 'connecting' && peer.link === link) {
        this.linkFailed(peer, 'ice-failed', 'ICE gathering ended with no usable local candidate');
      }
    });
    sp.on('connect', () => this.#maybeConnected(peer));
    sp.on('data', (data) => {
      this.#hookControl(peer);
      this.linkMessage(peer, 'control', data);
    });
    sp.on('error', (err) => {
      // A remote page that closes aborts its channels: after the link was up, that is a close.
      if (err?.code === 'ERR_DATA_CHANNEL' && peer.state === 'connected') this.linkClosed(peer, 'remote-closed');
      else this.linkFailed(peer, failReasonOf(err?.code), describeError(err));
    });
    sp.on('close', () => this.linkClosed(peer, 'remote-closed'));
    return link;
  }

  protected applySignal(peer: PeerEntry<RtcLink>, signal: SignalBlob): void {
    peer.link!.sp.signal(signal);
  }

  protected linkSend(peer: PeerEntry<RtcLink>, channel: Channel, bytes: Uint8Array): boolean {
    const link = peer.link!;
    const dc = channelOf(link, channel);
    if (!dc) return false;
    if (link.drainEvents[channel]) {
      if (dc.readyState !== 'open') return false;
      dc.send(bytes as Uint8Array<ArrayBuffer>);
      return true;
    }
    // @roamhq/wrtc: reading readyState costs a blocking call as much as send does, and send
    // throws on a channel that is not open; ask readyState only then, and answer as above.
    try {
      dc.send(bytes as Uint8Array<ArrayBuffer>);
    } catch (e) {
      if (dc.readyState !== 'open') return false;
      throw e;
    }
    link.buffered[channel].value += bytes.byteLength;
    return true;
  }

  protected linkBuffered(peer: PeerEntry<RtcLink>, channel: Channel): number {
    const link = peer.link;
    if (!link) return 0;
    const dc = channelOf(link, channel);
    if (!dc) return 0;
    if (link.drainEvents[channel]) return dc.bufferedAmount ?? 0;
    const b = link.buffered[channel];
    // Nothing was buffered at the last read and nothing sent since: nothing is (bytes only leave).
    if (b.value === 0 && b.atMs !== -Infinity) return 0;
    const now = this.clock.now();
    if (!(now - b.atMs < BUFFERED_READ_MS && now >= b.atMs)) {
      b.value = dc.bufferedAmount ?? 0;
      b.atMs = now;
    }
    return b.value;
  }

  /**
   * Channels without the drain event: the last read plus the bytes sent since, which bytes leaving
   * only lower, so no read is needed for a send that fits under it.
   */
  protected override linkBufferedBound(peer: PeerEntry<RtcLink>, channel: Channel): number {
    const link = peer.link;
    if (!link || link.drainEvents[channel]) return this.linkBuffered(peer, channel);
    return link.buffered[channel].value;
  }

  protected override linkDrainEvents(peer: PeerEntry<RtcLink>, channel: Channel): boolean {
    return peer.link?.drainEvents[channel] ?? true;
  }

  protected linkReady(peer: PeerEntry<RtcLink>): boolean {
    const link = peer.link;
    return !!link && link.media.readyState === 'open' && link.sp._channel?.readyState === 'open';
  }

  protected linkInterrupted(peer: PeerEntry<RtcLink>): boolean {
    return peer.link?.sp._pc?.iceConnectionState === 'disconnected';
  }

  protected async linkDetails(peer: PeerEntry<RtcLink>): Promise<LinkInfo | undefined> {
    const pc = peer.link?.sp._pc;
    if (!pc) return undefined;
    const report = await pc.getStats();
    type Stat = Record<string, unknown>;
    let pair: Stat | undefined;
    report.forEach((s: Stat) => {
      if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pair ??= report.get(s.selectedCandidatePairId);
    });
    report.forEach((s: Stat) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair ??= s;
    });
    if (!pair) return undefined;
    const typeOf = (id: unknown): string | undefined => {
      const c = typeof id === 'string' ? (report.get(id) as Stat | undefined) : undefined;
      return typeof c?.candidateType === 'string' ? c.candidateType : undefined;
    };
    const localCandidateType = typeOf(pair.localCandidateId);
    const remoteCandidateType = typeOf(pair.remoteCandidateId);
    const rtt = pair.currentRoundTripTime;
    return {
      rttMs: typeof rtt === 'number' ? rtt * 1000 : undefined,
      relayed: localCandidateType === 'relay' || remoteCandidateType === 'relay',
      localCandidateType,
      remoteCandidateType,
    };
  }

  protected closeLink(peer: PeerEntry<RtcLink>): void {
    const { media, requests, sp } = peer.link!;
    this.#links.delete(peer.link!);
    media.onopen = media.onmessage = media.onbufferedamountlow = media.onclose = null;
    try {
      if (requests) {
        requests.onopen = requests.onmessage = requests.onbufferedamountlow = requests.onclose = requests.onerror = null;
        try {
          requests.close();
        } catch {
          // closing with the connection anyway
        }
      }
      media.close();
    } finally {
      sp.destroy();
    }
  }

  #maybeConnected(peer: PeerEntry<RtcLink>): void {
    this.#hookControl(peer);
    this.linkMaybeConnected(peer);
  }

  /** Sets our low-water mark on simple-peer's channel once it exists. */
  #hookControl(peer: PeerEntry<RtcLink>): void {
    const link = peer.link;
    const dc = link?.sp._channel;
    if (!link || !dc || link.controlHooked) return;
    link.controlHooked = true;
    link.drainEvents.control = hasDrainEvent(dc);
    dc.bufferedAmountLowThreshold = this.config.controlLowWaterBytes;
    dc.addEventListener('bufferedamountlow', () => this.linkDrained(peer, 'control'));
  }
}
