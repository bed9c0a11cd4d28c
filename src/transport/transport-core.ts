// What every transport shares beyond the link itself: peer table and bounds, signal checks, size
// and back-pressure rules, stats, connect timeout, stall detection, exactly-once end events. Must
// not know WebRTC, the protocol or the tracker. Extended by WebRtcTransport and MemoryTransport.

import { P2PError } from '../errors.ts';
import { makeSignalParser, type SignalParser } from './signal-schema.ts';
import {
  checkChannel,
  checkPeerId,
  describeError,
  newPeerEntry,
  peerStatsOf,
  resetProgress,
  stallOf,
  type PeerEntry,
} from './peer-entry.ts';
import {
  CHANNELS,
  type Channel,
  type ConnectOptions,
  type DisconnectReason,
  type FailReason,
  type LinkInfo,
  type PeerState,
  type PeerStats,
  type SignalBlob,
  type Transport,
  type TransportEvents,
  type TransportStats,
} from './transport.ts';
import { resolveTransportConfig, type TransportConfig } from './transport-config.ts';
import { realClock, type TransportClock } from './transport-clock.ts';
import { TypedEmitter } from '../typed-emitter.ts';
import {
  BATCH_ENTRY_HEADER_BYTES,
  BATCH_HEADER_BYTES,
  BATCH_MARKER,
  BatchWriter,
  CONTROL_BATCH_BYTES,
  encodeBatch,
  isBatch,
  isRequestsReady,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRY_BYTES,
  parseBatch,
  REQUESTS_READY,
} from './media-batch.ts';

/** Inbound messages kept while a peer's link is open but `connected` has not been emitted yet. */
const MAX_EARLY_MESSAGES = 256;
const MAX_EARLY_BYTES = 1024 * 1024;
/**
 * How often a blocked channel whose implementation has no `bufferedamountlow` event (Node's
 * @roamhq/wrtc) is checked against its low-water mark, ms. Only while some channel is blocked.
 */
export const DRAIN_POLL_MS = 10;

export abstract class TransportCore<L> extends TypedEmitter<TransportEvents> implements Transport {
  protected readonly config: Readonly<TransportConfig>;
  protected readonly clock: TransportClock;
  readonly #peers = new Map<string, PeerEntry<L>>();
  readonly #parseSignal: SignalParser;
  #destroyed = false;
  #signalsDropped = 0;
  #inboundRefused = 0;
  readonly #messagesOut: Record<Channel, number> = { control: 0, media: 0, requests: 0 };
  readonly #linkMessagesOut: Record<Channel, number> = { control: 0, media: 0, requests: 0 };
  #stallTimer: unknown = undefined;
  #drainTimer: unknown = undefined;
  /** Peers with a batch waiting for the end of the turn. */
  readonly #batched = new Set<PeerEntry<L>>();
  #flushQueued = false;
  /** Peers with a media batch held for the hold window (mediaHoldMs > 0), and its timer. */
  readonly #held = new Set<PeerEntry<L>>();
  #holdTimer: unknown = undefined;

  constructor(config: Partial<TransportConfig> = {}, clock: TransportClock = realClock) {
    const resolved = resolveTransportConfig(config);
    super(resolved.onListenerError);
    this.config = resolved;
    this.clock = clock;
    this.#parseSignal = makeSignalParser(resolved.maxSdpBytes);
  }

  // ---- hooks for the subclass -------------------------------------------------------------

  /** Creates the link for a new peer (the initiator starts its offer asynchronously). */
  protected abstract openLink(peer: PeerEntry<L>): L;
  /** Applies a validated inbound signal to the peer's link. May throw (reported as negotiation-error). */
  protected abstract applySignal(peer: PeerEntry<L>, signal: SignalBlob): void;
  /** Hands bytes to the channel; false when the channel is not open. */
  protected abstract linkSend(peer: PeerEntry<L>, channel: Channel, bytes: Uint8Array): boolean;
  protected abstract linkBuffered(peer: PeerEntry<L>, channel: Channel): number;
  /**
   * A bound `linkBuffered` never exceeds, known without asking the channel (where asking costs a
   * call into another thread: @roamhq/wrtc). Sends that fit under it need no read. Default: linkBuffered.
   */
  protected linkBufferedBound(peer: PeerEntry<L>, channel: Channel): number {
    return this.linkBuffered(peer, channel);
  }
  /** True when `control` and `media` are open (`requests` is not waited for). */
  protected abstract linkReady(peer: PeerEntry<L>): boolean;
  /** True while the link reports a lost path (ICE disconnected) that may still recover. */
  protected abstract linkInterrupted(peer: PeerEntry<L>): boolean;
  /** Path details of a connected link. May reject (reported as undefined). */
  protected abstract linkDetails(peer: PeerEntry<L>): Promise<LinkInfo | undefined>;
  /** Releases the link; must not call back into the core. */
  protected abstract closeLink(peer: PeerEntry<L>): void;
  /**
   * True when the link calls linkDrained itself once the channel's buffer is down to its low-water
   * mark (WebRTC's `bufferedamountlow`). When false, the core polls linkBuffered while the channel
   * is blocked, so `writable` still comes. Default true.
   */
  protected linkDrainEvents(_peer: PeerEntry<L>, _channel: Channel): boolean {
    return true;
  }

  // ---- events from the subclass -----------------------------------------------------------

  protected linkSignal(peer: PeerEntry<L>, blob: SignalBlob): void {
    if (peer.ended) return;
    peer.signalsOut++;
    this.emit('signal', peer.id, blob);
  }

  /** Both channels may be open: emit `connected` once and flush early messages. */
  protected linkMaybeConnected(peer: PeerEntry<L>): void {
    if (peer.ended || peer.state === 'connected' || !this.linkReady(peer)) return;
    peer.state = 'connected';
    this.clock.clearTimeout(peer.connectTimer);
    peer.connectTimer = undefined;
    resetProgress(peer, this.clock.now());
    this.#ensureStallTimer();
    this.emit('connected', peer.id);
    const early = peer.early;
    peer.early = [];
    for (const [channel, bytes] of early) {
      if (peer.ended) return;
      this.emit('message', peer.id, channel, bytes);
    }
  }

  /**
   * This side's requests channel opened: tell the remote (its ready frame), which then sends its
   * `requests` messages on it. Links call it once per open channel.
   */
  protected linkRequestsOpened(peer: PeerEntry<L>): void {
    if (peer.ended || !this.config.requestsChannel) return;
    this.#linkSendCounted(peer, 'requests', REQUESTS_READY);
  }

  /** The requests channel closed (or errored) alone: `requests` sends go on control again. */
  protected linkRequestsClosed(peer: PeerEntry<L>): void {
    peer.requestsOpen = false;
    // What waited for it goes on control (in the order it was sent).
    const batch = peer.batches.requests;
    if (batch && batch.count > 0) {
      const out = batch.take(true)!;
      const parsed = parseBatch(out);
      if (!parsed.ok) return;
      for (const m of parsed.messages) {
        try {
          this.#sendAsControl(peer, m);
        } catch {
          // control is full (TRANSPORT_CONTROL_FULL): lost like any send refused there
          peer.channels.control.droppedOut++;
        }
      }
    }
  }

  protected linkMessage(peer: PeerEntry<L>, channel: Channel, data: unknown): void {
    if (peer.ended) return;
    const stats = peer.channels[channel];
    const bytes =
      data instanceof Uint8Array
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : undefined;
    if (channel === 'requests' && bytes && isRequestsReady(bytes)) {
      // The remote's requests channel is open. Once is news; again is noise, counted.
      if (peer.requestsOpen || !this.config.requestsChannel) stats.droppedIn++;
      else {
        peer.requestsOpen = true;
        stats.linkMessagesIn++;
      }
      return;
    }
    // A media batch is bounded by what one SCTP packet carries (plus the framing of a largest
    // message framed alone), a control batch by CONTROL_BATCH_BYTES or this side's limit; each
    // message in it by this side's limit.
    if (bytes && isBatch(bytes) && bytes.byteLength <= this.#inboundBatchLimit(channel)) {
      // Checked whole before any part is delivered: a bad batch delivers nothing and costs nothing else.
      const parsed = parseBatch(bytes);
      if (!parsed.ok) {
        stats.droppedIn++;
        stats.badBatchesIn++;
        return;
      }
      stats.linkMessagesIn++;
      for (const inner of parsed.messages) {
        if (peer.ended) return;
        this.#accept(peer, channel, inner);
      }
      return;
    }
    if (bytes && bytes.byteLength > 0 && bytes.byteLength <= this.#limit(channel)) stats.linkMessagesIn++;
    this.#accept(peer, channel, bytes);
  }

  /** One inbound message (alone, or split from a batch): size-checked, then held until `connected` or emitted. */
  #accept(peer: PeerEntry<L>, channel: Channel, bytes: Uint8Array | undefined): void {
    const stats = peer.channels[channel];
    if (!bytes || bytes.byteLength === 0 || bytes.byteLength > this.#limit(channel)) {
      stats.droppedIn++;
      return;
    }
    if (peer.state !== 'connected') this.linkMaybeConnected(peer);
    if ((peer.state as PeerState) !== 'connected') {
      const earlyBytes = peer.early.reduce((n, [, b]) => n + b.byteLength, 0);
      if (peer.early.length >= MAX_EARLY_MESSAGES || earlyBytes + bytes.byteLength > MAX_EARLY_BYTES) {
        stats.droppedIn++;
        return;
      }
      peer.early.push([channel, bytes]);
    }
    stats.messagesIn++;
    stats.bytesIn += bytes.byteLength;
    if (peer.state === 'connected') this.emit('message', peer.id, channel, bytes);
  }

  /** The channel's bufferedAmount fell to its low-water mark. */
  protected linkDrained(peer: PeerEntry<L>, channel: Channel): void {
    if (peer.ended || !peer.blocked[channel]) return;
    peer.blocked[channel] = false;
    this.emit('writable', peer.id, channel);
  }

  protected linkFailed(peer: PeerEntry<L>, reason: FailReason, detail: string): void {
    this.#end(peer, { kind: 'failed', reason, detail });
  }

  protected linkClosed(peer: PeerEntry<L>, reason: DisconnectReason): void {
    if (peer.state !== 'connected') {
      this.#end(peer, { kind: 'failed', reason: 'channel-error', detail: 'closed before both channels opened' });
    } else {
      this.#end(peer, { kind: 'disconnected', reason });
    }
  }

  // ---- public API -------------------------------------------------------------------------

  connect(peerId: string, options: ConnectOptions): void {
    this.#assertAlive();
    checkPeerId(peerId);
    if (!options || typeof options.initiator !== 'boolean') {
      throw new P2PError('TRANSPORT_BAD_OPTIONS', 'connect needs { initiator: boolean }');
    }
    const existing = this.#peers.get(peerId);
    // the remote's offer may arrive before the tracker tells us to expect it: nothing to do then
    if (existing && !existing.initiator && !options.initiator) return;
    if (existing) throw new P2PError('TRANSPORT_PEER_EXISTS', `peer ${peerId} is already connecting or connected`);
    if (this.#peers.size >= this.config.maxPeers) {
      throw new P2PError('TRANSPORT_TOO_MANY_PEERS', `maxPeers (${this.config.maxPeers}) reached`);
    }
    if (this.#connectingCount() >= this.config.maxPendingConnections) {
      throw new P2PError('TRANSPORT_TOO_MANY_PENDING', `maxPendingConnections (${this.config.maxPendingConnections}) reached`);
    }
    this.#createPeer(peerId, options.initiator);
  }

  signal(peerId: string, blob: unknown): boolean {
    this.#assertAlive();
    checkPeerId(peerId);
    const s = this.#parseSignal(blob);
    let peer = this.#peers.get(peerId);
    if (!s) {
      if (peer) peer.signalsDropped++;
      else this.#signalsDropped++;
      return false;
    }
    if (peer && peer.state === 'connected' && s.type === 'offer') {
      // The remote started a new connection to us, so its side of this one is gone (its network
      // dropped and came back, or it reloaded) though ours has not noticed yet: close ours now
      // rather than after the stall timeout, and take the offer. Only its own link is affected.
      this.linkClosed(peer, 'remote-closed');
      peer = this.#peers.get(peerId);
    }
    if (!peer) {
      if (s.type !== 'offer') {
        this.#signalsDropped++;
        return false;
      }
      if (
        !this.config.acceptInbound ||
        this.#peers.size >= this.config.maxPeers ||
        this.#connectingCount() >= this.config.maxPendingConnections
      ) {
        this.#signalsDropped++;
        this.#inboundRefused++;
        return false;
      }
      try {
        peer = this.#createPeer(peerId, false);
      } catch {
        this.#signalsDropped++;
        this.#inboundRefused++;
        return false;
      }
    }
    const wrongRole =
      ((s.type === 'offer' || s.type === 'answer') && (peer.gotDescription || (s.type === 'offer') === peer.initiator)) ||
      (s.type === 'candidate' && peer.candidatesIn >= this.config.maxCandidatesPerPeer);
    if (wrongRole) {
      peer.signalsDropped++;
      return false;
    }
    if (s.type === 'candidate') peer.candidatesIn++;
    else peer.gotDescription = true;
    peer.signalsIn++;
    try {
      this.applySignal(peer, s);
    } catch (e) {
      this.linkFailed(peer, 'negotiation-error', describeError(e));
      return false;
    }
    return true;
  }

  send(peerId: string, asked: Channel, bytes: Uint8Array): boolean {
    this.#assertAlive();
    this.#checkMessage(asked, bytes);
    const peer = this.#peers.get(peerId);
    const channel = peer ? this.#route(peer, asked) : asked;
    if (!peer || peer.state !== 'connected') {
      if (peer) peer.channels[channel].droppedOut++;
      return false;
    }
    return channel === asked ? this.#send(peer, channel, bytes) : this.#sendAsControl(peer, bytes);
  }

  /** A `requests` message to a peer whose requests channel is not open: on control, counted as such. */
  #sendAsControl(peer: PeerEntry<L>, bytes: Uint8Array): boolean {
    const sent = this.#send(peer, 'control', bytes);
    if (sent) peer.requestsOnControl++;
    return sent;
  }

  /** The channel a message asked for `asked` takes: `requests` only once the remote's is open. */
  #route(peer: PeerEntry<L>, asked: Channel): Channel {
    return asked === 'requests' && !(peer.requestsOpen && this.config.requestsChannel) ? 'control' : asked;
  }

  #send(peer: PeerEntry<L>, channel: Channel, bytes: Uint8Array): boolean {
    const peerId = peer.id;
    const stats = peer.channels[channel];
    const size = bytes.byteLength;
    // A message joins this turn's batch when another could still join it. One that starts with
    // the batch marker and does not join travels framed alone, so the receiver reads it right.
    const batched = this.#batchable(channel, size);
    const framedAlone = !batched && bytes[0] === BATCH_MARKER;
    if (framedAlone && size > MAX_BATCH_ENTRY_BYTES) {
      throw new P2PError('TRANSPORT_BAD_MESSAGE', `a ${channel} message that starts with byte 0x${BATCH_MARKER.toString(16)} must be at most ${MAX_BATCH_ENTRY_BYTES} bytes (it travels framed as a batch)`);
    }
    const cost = batched ? this.#cost(peer, channel, true, size) : framedAlone ? BATCH_HEADER_BYTES + BATCH_ENTRY_HEADER_BYTES + size : size;
    if (!this.#fits(peer, channel, cost)) {
      this.#block(peer, channel);
      if (channel !== 'media') {
        throw new P2PError('TRANSPORT_CONTROL_FULL', `${channel} buffer of peer ${peerId} is over controlHighWaterBytes; wait for 'writable'`);
      }
      stats.droppedOut++;
      return false;
    }
    if (batched) {
      const batch = (peer.batches[channel] ??= new BatchWriter(this.#batchBytes(channel)));
      if (!batch.fits(size)) this.#flushBatch(peer, channel);
      batch.append(bytes);
      if (channel === 'media' && this.config.mediaHoldMs > 0) {
        this.#held.add(peer);
        this.#holdTimer ??= this.clock.setTimeout(this.#flushHeld, this.config.mediaHoldMs);
        return true;
      }
      this.#batched.add(peer);
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(this.#flushAll);
      }
      return true;
    }
    // Messages already waiting for this peer on this channel leave first.
    this.#flushBatch(peer, channel);
    if (!this.#linkSendCounted(peer, channel, framedAlone ? encodeBatch([bytes]) : bytes)) {
      stats.droppedOut++;
      return false;
    }
    stats.messagesOut++;
    stats.bytesOut += size;
    this.#messagesOut[channel]++;
    return true;
  }

  /**
   * Hands one datachannel message to the link and counts it; false when the link refused it. A
   * link that throws fails the peer (`channel-error`) after the current call.
   */
  #linkSendCounted(peer: PeerEntry<L>, channel: Channel, bytes: Uint8Array): boolean {
    let ok = false;
    try {
      ok = this.linkSend(peer, channel, bytes);
    } catch (e) {
      ok = false;
      queueMicrotask(() => this.linkFailed(peer, 'channel-error', `send failed: ${describeError(e)}`));
    }
    if (ok) {
      peer.channels[channel].linkMessagesOut++;
      this.#linkMessagesOut[channel]++;
    }
    return ok;
  }

  /** Bytes a message of `size` adds to the peer's buffer: with its framing when it joins a batch. */
  #cost(peer: PeerEntry<L>, channel: Channel, batched: boolean, size: number): number {
    if (!batched) return size;
    const batch = peer.batches[channel];
    return batch?.fits(size) ? batch.costOf(size) : BATCH_HEADER_BYTES + BATCH_ENTRY_HEADER_BYTES + size;
  }

  /** Largest message sent or accepted on a channel. */
  #limit(channel: Channel): number {
    if (channel === 'media') return this.config.maxMediaMessageBytes;
    if (channel === 'requests') return Math.min(this.config.maxRequestsMessageBytes, this.config.maxControlMessageBytes);
    return this.config.maxControlMessageBytes;
  }

  /** Largest batch this side sends on a channel. */
  #batchBytes(channel: Channel): number {
    if (channel === 'control') return Math.min(CONTROL_BATCH_BYTES, this.config.maxControlMessageBytes);
    return this.#limit(channel);
  }

  /** Largest batch accepted on a channel: what a peer with the default limits may send, or a largest message framed alone. */
  #inboundBatchLimit(channel: Channel): number {
    // (A requests batch is bounded as a media batch: one SCTP packet's worth.)
    if (channel !== 'control') return MAX_BATCH_BYTES;
    return Math.max(CONTROL_BATCH_BYTES, this.config.maxControlMessageBytes) + BATCH_HEADER_BYTES + BATCH_ENTRY_HEADER_BYTES;
  }

  /** True when batching is on for the channel and a message of `size` bytes leaves room in a batch for one more. */
  #batchable(channel: Channel, size: number): boolean {
    if (!(channel === 'media' ? this.config.batchMedia : this.config.batchControl)) return false;
    return BATCH_HEADER_BYTES + 2 * BATCH_ENTRY_HEADER_BYTES + size + 1 <= this.#batchBytes(channel);
  }

  /** Hands a peer's waiting batch on a channel to it; a refused batch counts each message dropped. */
  #flushBatch(peer: PeerEntry<L>, channel: Channel): boolean {
    const batch = peer.batches[channel];
    if (!batch || batch.count === 0) return true;
    const stats = peer.channels[channel];
    const count = batch.count;
    const payload = batch.payloadBytes;
    const out = batch.take()!;
    if (peer.ended) return false;
    if (this.#linkSendCounted(peer, channel, out)) {
      stats.messagesOut += count;
      stats.bytesOut += payload;
      this.#messagesOut[channel] += count;
      return true;
    }
    stats.droppedOut += count;
    return false;
  }

  /** End of the turn: every waiting batch leaves, requests and control first (before the media they may pace). */
  #flushAll = (): void => {
    this.#flushQueued = false;
    const peers = [...this.#batched];
    this.#batched.clear();
    for (const peer of peers) {
      this.#flushBatch(peer, 'requests');
      this.#flushBatch(peer, 'control');
      // A held media batch waits for its window's end.
      if (this.config.mediaHoldMs === 0) this.#flushBatch(peer, 'media');
    }
  };

  /** End of the media hold window: every held media batch leaves. */
  #flushHeld = (): void => {
    this.#holdTimer = undefined;
    const peers = [...this.#held];
    this.#held.clear();
    for (const peer of peers) this.#flushBatch(peer, 'media');
  };

  bufferedAmount(peerId: string, channel: Channel): number {
    checkChannel(channel);
    const peer = this.#peers.get(peerId);
    // (Each channel's own: `requests` messages that went on control are in control's.)
    return peer && peer.state === 'connected' ? this.linkBuffered(peer, channel) + this.#pending(peer, channel) : 0;
  }

  canSend(peerId: string, asked: Channel, bytes: number): boolean {
    checkChannel(asked);
    const peer = this.#peers.get(peerId);
    if (!peer || peer.state !== 'connected' || this.#destroyed) return false;
    if (!(bytes >= 1 && bytes <= this.#limit(asked))) return false;
    const channel = this.#route(peer, asked);
    const batched = this.#batchable(channel, bytes);
    if (this.#fits(peer, channel, this.#cost(peer, channel, batched, bytes))) return true;
    this.#block(peer, channel);
    return false;
  }

  peerState(peerId: string): PeerState | undefined {
    return this.#peers.get(peerId)?.state;
  }

  peers(): string[] {
    return [...this.#peers.keys()];
  }

  stats(peerId: string): PeerStats | undefined {
    const p = this.#peers.get(peerId);
    return p ? peerStatsOf(p) : undefined;
  }

  async linkInfo(peerId: string): Promise<LinkInfo | undefined> {
    const peer = this.#peers.get(peerId);
    if (!peer || peer.state !== 'connected') return undefined;
    try {
      return await this.linkDetails(peer);
    } catch {
      return undefined;
    }
  }

  transportStats(): TransportStats {
    return {
      peers: this.#peers.size,
      connecting: this.#connectingCount(),
      signalsDropped: this.#signalsDropped,
      inboundRefused: this.#inboundRefused,
      mediaMessagesOut: this.#messagesOut.media,
      mediaLinkMessagesOut: this.#linkMessagesOut.media,
      controlMessagesOut: this.#messagesOut.control,
      controlLinkMessagesOut: this.#linkMessagesOut.control,
      requestsMessagesOut: this.#messagesOut.requests,
      requestsLinkMessagesOut: this.#linkMessagesOut.requests,
    };
  }

  close(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (peer) this.#end(peer, { kind: 'closed' });
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const peer of [...this.#peers.values()]) this.#end(peer, { kind: 'closed' });
    this.clock.clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.clock.clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.removeAllListeners();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  // ---- internals --------------------------------------------------------------------------

  #createPeer(peerId: string, initiator: boolean): PeerEntry<L> {
    const peer = newPeerEntry<L>(peerId, initiator);
    this.#peers.set(peerId, peer);
    peer.connectTimer = this.clock.setTimeout(() => {
      peer.connectTimer = undefined;
      if (peer.state === 'connecting') {
        this.linkFailed(peer, 'connect-timeout', `not connected after ${this.config.connectTimeoutMs} ms`);
      }
    }, this.config.connectTimeoutMs);
    try {
      peer.link = this.openLink(peer);
    } catch (e) {
      this.#end(peer, { kind: 'closed' });
      throw e instanceof P2PError ? e : new P2PError('TRANSPORT_LINK_ERROR', `cannot open a link to ${peerId}: ${describeError(e)}`);
    }
    return peer;
  }

  #end(
    peer: PeerEntry<L>,
    how: { kind: 'closed' } | { kind: 'failed'; reason: FailReason; detail: string } | { kind: 'disconnected'; reason: DisconnectReason },
  ): void {
    if (peer.ended) return;
    peer.ended = true;
    if (this.#peers.get(peer.id) === peer) this.#peers.delete(peer.id);
    this.clock.clearTimeout(peer.connectTimer);
    peer.connectTimer = undefined;
    peer.early = [];
    peer.batches = { control: undefined, media: undefined, requests: undefined };
    this.#batched.delete(peer);
    this.#held.delete(peer);
    try {
      if (peer.link !== undefined) this.closeLink(peer);
    } catch {
      // closing a broken link may throw; the peer is gone either way
    }
    if (how.kind === 'failed') this.emit('failed', peer.id, how.reason, how.detail);
    else if (how.kind === 'disconnected') this.emit('disconnected', peer.id, how.reason);
  }

  /** Marks a refusal; `writable` follows the drain event, or the poll where the link has none. */
  #block(peer: PeerEntry<L>, channel: Channel): void {
    peer.blocked[channel] = true;
    if (this.#drainTimer !== undefined || this.#destroyed || this.linkDrainEvents(peer, channel)) return;
    const tick = (): void => {
      this.#drainTimer = undefined;
      let waiting = false;
      for (const p of [...this.#peers.values()]) {
        for (const ch of CHANNELS) {
          if (p.ended || !p.blocked[ch] || this.linkDrainEvents(p, ch)) continue;
          const low = ch === 'media' ? this.config.mediaLowWaterBytes : this.config.controlLowWaterBytes;
          if (this.linkBuffered(p, ch) <= low) this.linkDrained(p, ch);
          else waiting = true;
        }
      }
      // A `writable` listener that was refused again has re-armed the poll already.
      if (waiting && !this.#destroyed && this.#drainTimer === undefined) this.#drainTimer = this.clock.setTimeout(tick, DRAIN_POLL_MS);
    };
    this.#drainTimer = this.clock.setTimeout(tick, DRAIN_POLL_MS);
  }

  /**
   * True when `size` more bytes keep the channel's buffer, this turn's batch included, within its
   * high-water mark. The channel is asked only when its bound says it may not.
   */
  #fits(peer: PeerEntry<L>, channel: Channel, size: number): boolean {
    const high = channel === 'media' ? this.config.mediaHighWaterBytes : this.config.controlHighWaterBytes;
    const more = this.#pending(peer, channel) + size;
    return this.linkBufferedBound(peer, channel) + more <= high || this.linkBuffered(peer, channel) + more <= high;
  }

  /** Bytes of this turn's batch on the channel for the peer, not yet handed to the channel. */
  #pending(peer: PeerEntry<L>, channel: Channel): number {
    return peer.batches[channel]?.pendingBytes ?? 0;
  }

  #checkMessage(channel: Channel, bytes: Uint8Array): void {
    checkChannel(channel);
    if (!(bytes instanceof Uint8Array)) throw new P2PError('TRANSPORT_BAD_MESSAGE', 'a message must be a Uint8Array');
    const limit = this.#limit(channel);
    if (bytes.byteLength === 0) throw new P2PError('TRANSPORT_BAD_MESSAGE', 'a message must not be empty');
    if (bytes.byteLength > limit) {
      throw new P2PError('TRANSPORT_MESSAGE_TOO_LARGE', `${channel} message of ${bytes.byteLength} bytes is over the limit of ${limit}`);
    }
  }

  #connectingCount(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (p.state === 'connecting') n++;
    return n;
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new P2PError('TRANSPORT_DESTROYED', 'the transport was destroyed');
  }

  #ensureStallTimer(): void {
    if (this.#stallTimer !== undefined || this.#destroyed) return;
    const every = Math.max(50, Math.min(1000, Math.floor(this.config.stallTimeoutMs / 4)));
    const tick = (): void => {
      this.#stallTimer = undefined;
      this.#checkStalls();
      if (!this.#destroyed && [...this.#peers.values()].some((p) => p.state === 'connected')) {
        this.#stallTimer = this.clock.setTimeout(tick, every);
      }
    };
    this.#stallTimer = this.clock.setTimeout(tick, every);
  }

  #checkStalls(): void {
    const now = this.clock.now();
    for (const peer of [...this.#peers.values()]) {
      if (peer.state !== 'connected' || peer.ended) continue;
      const why = stallOf(peer, now, this.config.stallTimeoutMs, this.linkInterrupted(peer), (ch) => this.linkBuffered(peer, ch));
      if (why) this.linkFailed(peer, 'stalled', why);
    }
  }
}
