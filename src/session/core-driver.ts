// The session loop around one I/O-free protocol core: transport events in (with the real clock),
// pollOutput() drained into the transport, crypto jobs run and fed back, one timer armed from
// nextTimeout(), media back-pressure reported when a channel drains, bytes counted per peer.
// Knows nothing of the tracker; used by ViewerSession and BroadcastSession only.

import { isP2PError } from '../errors.ts';
import type { ComplaintEvidence, CoreOutput } from '../protocol/core-types.ts';
import type { CryptoJob, CryptoResult } from '../protocol/crypto-jobs.ts';
import { onRequestsChannel, requestsChannelAccepts } from '../protocol/message-channels.ts';
import { encodeMessage, type Manifest } from '../protocol/wire.ts';
import type { Channel, FailReason, Transport } from '../transport/transport.ts';

/** What both cores (PeerCore, BroadcasterCore) offer; the driver needs nothing more. */
export interface DrivenCore {
  handlePeerConnected(peerId: string, nowMs: number): void;
  handlePeerDisconnected(peerId: string, nowMs: number): void;
  handleMessage(from: string, bytes: Uint8Array, nowMs: number): void;
  /** Bytes refused before parsing (out of protocol on the channel they came on): a bad message. */
  handleBadInput(from: string, reason: string, nowMs: number): void;
  handleCryptoResult(r: CryptoResult, nowMs: number): void;
  handleBufferedAmount(peerId: string, bytes: number, nowMs: number): void;
  nextTimeout(): number | undefined;
  handleTimeout(nowMs: number): void;
  pollOutput(): CoreOutput | undefined;
  destroy(): void;
}

/** Bytes moved, application layer (wire messages including their headers). */
export interface TrafficCounters {
  bytesUp: number;
  bytesDown: number;
  mediaBytesUp: number;
  mediaBytesDown: number;
  /** Media bytes received per sending peer. */
  mediaDownByPeer: Map<string, number>;
  controlDropped: number;
  /** Media bytes the transport refused (its buffer was full): the upload meter's drops. */
  mediaBytesRefused: number;
  /** Messages refused on the requests channel (not a REQUEST), each counted against its sender. */
  requestsChannelRefused: number;
}

export interface CoreDriverHooks {
  /** Runs a crypto job; undefined means "not now" (the driver keeps it and asks again on retryCrypto()). */
  runCrypto(job: CryptoJob): Promise<CryptoResult> | undefined;
  onFrame?(manifest: Manifest, frame: Uint8Array): void;
  /** A message arrived on the media channel (before the core reads it), at `nowMs`: the download meter's feed. */
  onMediaMessage?(bytes: Uint8Array, nowMs: number): void;
  /** A neighbour was banned by the core; the driver already closed it. */
  onBanned?(peerId: string, reason: string): void;
  /** The core stopped using a holder that withheld or corrupted its seeds: tell the tracker. */
  onComplaint?(peerId: string, reason: 'withholding' | 'corrupt', evidence: ComplaintEvidence): void;
  onConnected?(peerId: string): void;
  /** A peer ended; `failed` names the reason when the connection failed rather than closed. */
  onPeerEnded?(peerId: string, failed: FailReason | undefined): void;
  /** A control message the session handles itself; return true when consumed. */
  interceptControl?(from: string, bytes: Uint8Array): boolean;
}

/** Crypto jobs kept while they cannot run (a viewer without the stream key yet). */
const MAX_HELD_JOBS = 256;

/** performance.now() where it exists, Date.now() otherwise. */
export const monotonicNow = (): number => (globalThis.performance ? globalThis.performance.now() : Date.now());

export class CoreDriver {
  readonly traffic: TrafficCounters = { bytesUp: 0, bytesDown: 0, mediaBytesUp: 0, mediaBytesDown: 0, mediaDownByPeer: new Map(), controlDropped: 0, mediaBytesRefused: 0, requestsChannelRefused: 0 };
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;
  #writablePoll: ReturnType<typeof setInterval> | null = null;
  readonly #waitingWritable = new Set<string>();
  readonly #heldJobs: CryptoJob[] = [];
  readonly #unsubscribe: Array<() => void> = [];
  #draining = false;
  #destroyed = false;

  constructor(
    readonly core: DrivenCore,
    readonly transport: Transport,
    private readonly hooks: CoreDriverHooks,
    /** The core's media budget: a drained channel is reported once its buffer is below half of it. */
    private readonly mediaBudgetBytes: number,
  ) {
    const on = <K extends Parameters<Transport['on']>[0]>(event: K, fn: Parameters<Transport['on']>[1] & object) => {
      transport.on(event, fn as never);
      this.#unsubscribe.push(() => transport.off(event, fn as never));
    };
    on('connected', (peerId: string) => {
      this.core.handlePeerConnected(peerId, monotonicNow());
      this.hooks.onConnected?.(peerId);
      this.drain();
    });
    on('message', (peerId: string, channel: Channel, bytes: Uint8Array) => this.#onMessage(peerId, channel, bytes));
    on('writable', (peerId: string, channel: Channel) => {
      if (channel === 'media' && this.#waitingWritable.delete(peerId)) this.#reportBuffered(peerId);
    });
    on('disconnected', (peerId: string) => this.#ended(peerId, undefined));
    on('failed', (peerId: string, reason: FailReason) => this.#ended(peerId, reason));
  }

  /** Sends bytes the session makes itself (not the core's); false when the transport refused. */
  sendRaw(peerId: string, channel: Channel, bytes: Uint8Array): boolean {
    try {
      if (!this.transport.send(peerId, channel, bytes)) {
        if (channel === 'media') this.traffic.mediaBytesRefused += bytes.length;
        return false;
      }
    } catch (e) {
      if (isP2PError(e, 'TRANSPORT_CONTROL_FULL')) {
        this.traffic.controlDropped++;
        return false;
      }
      throw e;
    }
    this.traffic.bytesUp += bytes.length;
    if (channel === 'media') this.traffic.mediaBytesUp += bytes.length;
    return true;
  }

  /** Runs held crypto jobs again (for example once the stream's public key is known). */
  retryCrypto(): void {
    const jobs = this.#heldJobs.splice(0);
    for (const job of jobs) this.#crypto(job);
  }

  /** Bytes queued in every channel of every peer and not yet sent (sum of bufferedAmount). */
  bufferedBytes(): number {
    let n = 0;
    for (const p of this.transport.peers()) {
      n += this.transport.bufferedAmount(p, 'control') + this.transport.bufferedAmount(p, 'media') + this.transport.bufferedAmount(p, 'requests');
    }
    return n;
  }

  /** Drains the core's outputs and re-arms its timer. Call after every input given to the core. */
  drain(): void {
    if (this.#destroyed || this.#draining) return;
    this.#draining = true;
    try {
      for (let o = this.core.pollOutput(); o; o = this.core.pollOutput()) this.#output(o);
    } finally {
      this.#draining = false;
    }
    this.#arm();
  }

  destroy(): void {
    this.#destroyed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#writablePoll) clearInterval(this.#writablePoll);
    this.#timer = this.#writablePoll = null;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.core.destroy();
  }

  // ---- internals ----------------------------------------------------------------------------

  #output(o: CoreOutput): void {
    switch (o.type) {
      case 'send': {
        // REQUESTs take the reliable unordered channel (the transport sends them on control to a
        // peer whose requests channel is not open).
        const channel = o.channel === 'control' && onRequestsChannel(o.message.type) ? 'requests' : o.channel;
        this.sendRaw(o.peerId, channel, encodeMessage(o.message));
        return;
      }
      case 'crypto':
        this.#crypto(o.job);
        return;
      case 'frame':
        this.hooks.onFrame?.(o.manifest, o.frame);
        return;
      case 'bad-peer':
        if (!o.banned) return;
        this.transport.close(o.peerId);
        this.core.handlePeerDisconnected(o.peerId, monotonicNow());
        this.hooks.onBanned?.(o.peerId, o.reason);
        return;
      case 'complaint':
        this.hooks.onComplaint?.(o.peerId, o.reason, o.evidence);
        return;
      case 'want-writable':
        this.#waitingWritable.add(o.peerId);
        // Ask the transport to tell us when the channel drains; poll meanwhile (its mark may be higher than ours).
        this.transport.canSend(o.peerId, 'media', 1163);
        if (!this.#writablePoll) this.#writablePoll = setInterval(() => this.#pollWritable(), 4);
        queueMicrotask(() => this.#pollWritable());
        return;
    }
  }

  #crypto(job: CryptoJob): void {
    const run = this.hooks.runCrypto(job);
    if (!run) {
      // Bounded: a core tracks at most a few dozen frames, so older held jobs are stale anyway.
      if (this.#heldJobs.length >= MAX_HELD_JOBS) this.#heldJobs.shift();
      this.#heldJobs.push(job);
      return;
    }
    run.then(
      (r) => {
        if (this.#destroyed) return;
        this.core.handleCryptoResult(r, monotonicNow());
        this.drain();
      },
      () => {
        // A failed job is answered like a failed check: the core treats the manifest as bad.
        if (this.#destroyed || job.kind !== 'verify-manifest') return;
        this.core.handleCryptoResult({ kind: 'verify-manifest', id: job.id, valid: false }, monotonicNow());
        this.drain();
      },
    );
  }

  #onMessage(peerId: string, channel: Channel, bytes: Uint8Array): void {
    const now = monotonicNow();
    this.traffic.bytesDown += bytes.length;
    if (channel === 'media') {
      this.traffic.mediaBytesDown += bytes.length;
      this.traffic.mediaDownByPeer.set(peerId, (this.traffic.mediaDownByPeer.get(peerId) ?? 0) + bytes.length);
      this.hooks.onMediaMessage?.(bytes, now);
    } else if (channel === 'requests') {
      // Only REQUESTs belong there; anything else (a HAVE, the session's own messages) is refused,
      // whatever it would mean on control, and counted against the sender.
      if (!requestsChannelAccepts(bytes)) {
        this.traffic.requestsChannelRefused++;
        this.core.handleBadInput(peerId, `type 0x${(bytes[1] ?? 0).toString(16)} on the requests channel`, now);
        this.drain();
        return;
      }
    } else if (this.hooks.interceptControl?.(peerId, bytes)) {
      return;
    }
    this.core.handleMessage(peerId, bytes, now);
    this.drain();
  }

  #ended(peerId: string, failed: FailReason | undefined): void {
    this.#waitingWritable.delete(peerId);
    this.core.handlePeerDisconnected(peerId, monotonicNow());
    this.hooks.onPeerEnded?.(peerId, failed);
    this.drain();
  }

  #pollWritable(): void {
    for (const peerId of [...this.#waitingWritable]) {
      if (this.transport.peerState(peerId) !== 'connected') {
        this.#waitingWritable.delete(peerId);
        continue;
      }
      if (this.transport.bufferedAmount(peerId, 'media') <= this.mediaBudgetBytes / 2) {
        this.#waitingWritable.delete(peerId);
        this.#reportBuffered(peerId);
      }
    }
    if (this.#waitingWritable.size === 0 && this.#writablePoll) {
      clearInterval(this.#writablePoll);
      this.#writablePoll = null;
    }
  }

  #reportBuffered(peerId: string): void {
    if (this.#destroyed) return;
    this.core.handleBufferedAmount(peerId, this.transport.bufferedAmount(peerId, 'media'), monotonicNow());
    this.drain();
  }

  #arm(): void {
    const at = this.core.nextTimeout();
    if (at === undefined) return;
    if (this.#timer && at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      if (this.#destroyed) return;
      this.core.handleTimeout(monotonicNow());
      this.drain();
    }, Math.max(0, at - monotonicNow()));
  }
}
