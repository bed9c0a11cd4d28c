// In-memory transport: a MemoryNetwork of MemoryTransports that connect through the same signal
// blobs, limits, back-pressure and failure events as WebRtcTransport, with seeded loss, latency,
// jitter and bandwidth; control is delivered in order, requests and media as they come. No I/O, no WebRTC. Used by session and protocol tests in place of WebRTC.

import { P2PError } from '../errors.ts';
import { SeededRng } from '../rng.ts';
import { CHANNELS, type Channel, type LinkInfo, type SignalBlob } from './transport.ts';
import type { TransportConfig } from './transport-config.ts';
import type { PeerEntry } from './peer-entry.ts';
import { realClock, type TransportClock } from './transport-clock.ts';
import { TransportCore } from './transport-core.ts';

/** How one direction of a link behaves. Numbers are per message unless said otherwise. */
export interface MemoryLinkModel {
  /** One-way delay. Default 0 (delivered in a microtask). */
  latencyMs?: number;
  /** Extra uniform random delay on media in [0, jitterMs); media may be reordered. Default 0. */
  jitterMs?: number;
  /** Probability that a media message is lost, 0…1. Control and requests are never lost. Default 0. */
  mediaLossRate?: number;
  /** Send rate of each channel; bytes wait in `bufferedAmount` meanwhile. Default: unlimited. */
  bandwidthBytesPerSec?: number;
}

export interface MemoryMessageInfo {
  from: string;
  to: string;
  channel: Channel;
  bytes: Uint8Array;
}

export interface MemoryNetworkOptions extends MemoryLinkModel {
  /** Seed of the network's random generator (loss, jitter). Same seed, same run. Default 1. */
  seed?: number;
  /** Timers used for latency, bandwidth and timeouts. Default: the real clock. */
  clock?: TransportClock;
  /**
   * Sees every message that left a send buffer; may drop it (media only: the other channels are
   * reliable) or delay it further (a delayed control message holds up the control messages after
   * it, as a retransmission does on the ordered channel; a delayed requests message holds up nothing).
   */
  hook?: (m: MemoryMessageInfo) => { drop?: boolean; extraDelayMs?: number } | void;
}

interface MemoryLink {
  readonly connId: string;
  remote: { transport: MemoryTransport; peer: PeerEntry<MemoryLink> } | undefined;
  open: boolean;
  closed: boolean;
  interrupted: boolean;
  buffered: Record<Channel, number>;
  busyUntilMs: Record<Channel, number>;
  lastControlAtMs: number;
  held: Array<[Channel, Uint8Array]>;
}

/** Loss and jitter draws, reproducible from the network's seed. */
function seededRandom(seed: number): () => number {
  const rng = new SeededRng(seed);
  return () => rng.next();
}

const SDP_PREFIX = 'memory-transport ';

export class MemoryNetwork {
  readonly clock: TransportClock;
  readonly random: () => number;
  readonly #options: MemoryNetworkOptions;
  readonly #endpoints = new Map<string, MemoryTransport>();
  readonly #links = new Map<string, { transport: MemoryTransport; peer: PeerEntry<MemoryLink> }>();
  readonly #models = new Map<string, MemoryLinkModel>();
  #nextId = 1;
  /** Media messages lost by the loss model or the hook. */
  lost = 0;
  delivered = 0;

  constructor(options: MemoryNetworkOptions = {}) {
    this.#options = options;
    this.clock = options.clock ?? realClock;
    this.random = seededRandom(options.seed ?? 1);
    checkModel(options);
  }

  /** A new endpoint. `address` names it in `setLink`/`failLink`; default "m1", "m2", … */
  createTransport(address?: string, config: Partial<TransportConfig> = {}): MemoryTransport {
    const addr = address ?? `m${this.#nextId++}`;
    if (this.#endpoints.has(addr)) throw new P2PError('TRANSPORT_BAD_OPTIONS', `address ${addr} is taken`);
    const t = new MemoryTransport(this, addr, config);
    this.#endpoints.set(addr, t);
    return t;
  }

  /** Overrides the model of the direction `from` → `to`. */
  setLink(from: string, to: string, model: MemoryLinkModel): void {
    checkModel(model);
    this.#models.set(`${from}\u0000${to}`, model);
  }

  /** Makes every live connection between `a` and `b` fail on both ends (like an ICE failure). */
  failLink(a: string, b: string, detail = 'link failed'): void {
    for (const [end, other] of this.#pairs(a, b)) {
      end.transport.failFromNetwork(end.peer, detail);
      other.transport.failFromNetwork(other.peer, detail);
    }
  }

  /** Stops (true) or restores (false) traffic between `a` and `b`; stopped links buffer and then stall. */
  interruptLink(a: string, b: string, interrupted = true): void {
    for (const [end, other] of this.#pairs(a, b)) {
      end.transport.setInterrupted(end.peer, interrupted);
      other.transport.setInterrupted(other.peer, interrupted);
    }
  }

  /** @internal */
  modelFor(from: string, to: string): MemoryLinkModel {
    return this.#models.get(`${from}\u0000${to}`) ?? this.#options;
  }

  /** @internal */
  hook(m: MemoryMessageInfo): { drop?: boolean; extraDelayMs?: number } | void {
    return this.#options.hook?.(m);
  }

  /** @internal */
  register(transport: MemoryTransport, peer: PeerEntry<MemoryLink>): string {
    const connId = `c${this.#nextId++}`;
    this.#links.set(connId, { transport, peer });
    return connId;
  }

  /** @internal */
  unregister(connId: string): void {
    this.#links.delete(connId);
  }

  /** @internal */
  lookup(connId: string): { transport: MemoryTransport; peer: PeerEntry<MemoryLink> } | undefined {
    return this.#links.get(connId);
  }

  /** @internal */
  forget(address: string): void {
    this.#endpoints.delete(address);
  }

  /** @internal Runs `fn` after `ms` (0: in a microtask, keeping order). */
  later(ms: number, fn: () => void): void {
    if (ms <= 0) queueMicrotask(fn);
    else this.clock.setTimeout(fn, ms);
  }

  *#pairs(a: string, b: string): Generator<[{ transport: MemoryTransport; peer: PeerEntry<MemoryLink> }, NonNullable<MemoryLink['remote']>]> {
    for (const end of [...this.#links.values()]) {
      const remote = end.peer.link?.remote;
      if (end.transport.address === a && remote && remote.transport.address === b && !end.peer.ended) yield [end, remote];
    }
  }
}

function checkModel(m: MemoryLinkModel): void {
  const bad = (msg: string) => new P2PError('TRANSPORT_BAD_CONFIG', msg);
  for (const key of ['latencyMs', 'jitterMs'] as const) {
    const v = m[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw bad(`${key} must be a number ≥ 0 (got ${v})`);
  }
  if (m.mediaLossRate !== undefined && !(m.mediaLossRate >= 0 && m.mediaLossRate <= 1)) {
    throw bad(`mediaLossRate must be from 0 to 1 (got ${m.mediaLossRate})`);
  }
  if (m.bandwidthBytesPerSec !== undefined && !(Number.isFinite(m.bandwidthBytesPerSec) && m.bandwidthBytesPerSec > 0)) {
    throw bad(`bandwidthBytesPerSec must be a number > 0 (got ${m.bandwidthBytesPerSec})`);
  }
}

export class MemoryTransport extends TransportCore<MemoryLink> {
  readonly network: MemoryNetwork;
  readonly address: string;

  /** Use `MemoryNetwork.createTransport`. */
  constructor(network: MemoryNetwork, address: string, config: Partial<TransportConfig> = {}) {
    super(config, network.clock);
    this.network = network;
    this.address = address;
  }

  override destroy(): void {
    super.destroy();
    this.network.forget(this.address);
  }

  protected openLink(peer: PeerEntry<MemoryLink>): MemoryLink {
    const link: MemoryLink = {
      connId: this.network.register(this, peer),
      remote: undefined,
      open: false,
      closed: false,
      interrupted: false,
      buffered: { control: 0, media: 0, requests: 0 },
      busyUntilMs: { control: 0, media: 0, requests: 0 },
      lastControlAtMs: 0,
      held: [],
    };
    if (peer.initiator) {
      queueMicrotask(() => this.linkSignal(peer, { type: 'offer', sdp: `${SDP_PREFIX}${link.connId}` }));
    }
    return link;
  }

  protected applySignal(peer: PeerEntry<MemoryLink>, signal: SignalBlob): void {
    const link = peer.link!;
    if (signal.type === 'candidate') return; // a memory link has no candidates
    const other = signal.sdp.startsWith(SDP_PREFIX) ? this.network.lookup(signal.sdp.slice(SDP_PREFIX.length)) : undefined;
    if (!other || other.peer.ended || other.transport === this) throw new Error('the description names no live memory link');
    if (signal.type === 'offer') {
      link.remote = other;
      queueMicrotask(() => this.linkSignal(peer, { type: 'answer', sdp: `${SDP_PREFIX}${link.connId}` }));
      return;
    }
    // answer: the responder's link must point back at ours
    if (other.peer.link?.remote?.peer !== peer) throw new Error('the answer does not match our offer');
    link.remote = other;
    const delay = this.network.modelFor(this.address, other.transport.address).latencyMs ?? 0;
    this.network.later(delay, () => {
      if (peer.ended || other.peer.ended) return;
      link.open = true;
      other.peer.link!.open = true;
      other.transport.linkMaybeConnected(other.peer);
      this.linkMaybeConnected(peer);
      // Each side's requests channel opens with the link (a side without one opens none).
      other.transport.linkRequestsOpened(other.peer);
      this.linkRequestsOpened(peer);
    });
  }

  protected linkSend(peer: PeerEntry<MemoryLink>, channel: Channel, bytes: Uint8Array): boolean {
    const link = peer.link!;
    if (!link.open || link.closed || !link.remote) return false;
    const copy = bytes.slice();
    if (link.interrupted) {
      link.held.push([channel, copy]);
      link.buffered[channel] += copy.byteLength;
      return true;
    }
    this.#transmit(peer, channel, copy);
    return true;
  }

  protected linkBuffered(peer: PeerEntry<MemoryLink>, channel: Channel): number {
    return peer.link?.buffered[channel] ?? 0;
  }

  protected linkReady(peer: PeerEntry<MemoryLink>): boolean {
    return !!peer.link?.open && !peer.link.closed;
  }

  protected linkInterrupted(peer: PeerEntry<MemoryLink>): boolean {
    return !!peer.link?.interrupted;
  }

  protected async linkDetails(peer: PeerEntry<MemoryLink>): Promise<LinkInfo | undefined> {
    const remote = peer.link?.remote;
    if (!remote) return undefined;
    const there = this.network.modelFor(this.address, remote.transport.address).latencyMs ?? 0;
    const back = this.network.modelFor(remote.transport.address, this.address).latencyMs ?? 0;
    return { rttMs: there + back, relayed: false, localCandidateType: 'host', remoteCandidateType: 'host' };
  }

  protected closeLink(peer: PeerEntry<MemoryLink>): void {
    const link = peer.link!;
    if (link.closed) return;
    link.closed = true;
    link.held = [];
    this.network.unregister(link.connId);
    const remote = link.remote;
    if (!remote || !link.open || link.interrupted) return; // a cut path carries no goodbye
    const delay = this.network.modelFor(this.address, remote.transport.address).latencyMs ?? 0;
    this.network.later(delay, () => {
      if (!remote.peer.ended && remote.peer.link?.remote?.peer === peer) remote.transport.linkClosed(remote.peer, 'remote-closed');
    });
  }

  /** @internal Called by the network's failLink. */
  failFromNetwork(peer: PeerEntry<MemoryLink>, detail: string): void {
    this.linkFailed(peer, 'ice-failed', detail);
  }

  /** @internal Called by the network's interruptLink. */
  setInterrupted(peer: PeerEntry<MemoryLink>, interrupted: boolean): void {
    const link = peer.link;
    if (!link || peer.ended) return;
    link.interrupted = interrupted;
    if (interrupted) return;
    const held = link.held;
    link.held = [];
    for (const [channel, bytes] of held) {
      link.buffered[channel] -= bytes.byteLength;
      this.#transmit(peer, channel, bytes);
    }
    for (const ch of CHANNELS) this.#maybeDrained(peer, ch);
  }

  #transmit(peer: PeerEntry<MemoryLink>, channel: Channel, bytes: Uint8Array): void {
    const link = peer.link!;
    const remote = link.remote!;
    const net = this.network;
    const model = net.modelFor(this.address, remote.transport.address);
    const now = this.clock.now();
    let leftAtMs = now;
    if (model.bandwidthBytesPerSec) {
      leftAtMs = Math.max(now, link.busyUntilMs[channel]) + (bytes.byteLength * 1000) / model.bandwidthBytesPerSec;
      link.busyUntilMs[channel] = leftAtMs;
      link.buffered[channel] += bytes.byteLength;
    }
    let delay = leftAtMs - now + (model.latencyMs ?? 0);
    if (channel === 'media' && model.jitterMs) delay += net.random() * model.jitterMs;
    const verdict = net.hook({ from: this.address, to: remote.transport.address, channel, bytes }) ?? {};
    delay += verdict.extraDelayMs ?? 0;
    let lost = !!verdict.drop && channel === 'media';
    if (channel === 'media' && model.mediaLossRate && net.random() < model.mediaLossRate) lost = true;
    if (channel === 'control') {
      // reliable and ordered: never before an earlier control message
      const at = Math.max(now + delay, link.lastControlAtMs);
      link.lastControlAtMs = at;
      delay = at - now;
    }
    if (model.bandwidthBytesPerSec) {
      this.clock.setTimeout(() => {
        if (peer.ended) return;
        link.buffered[channel] -= bytes.byteLength;
        this.#maybeDrained(peer, channel);
      }, leftAtMs - now);
    }
    if (lost) {
      net.lost++;
      return;
    }
    net.later(delay, () => {
      if (peer.ended || remote.peer.ended || link.closed) return;
      // A side without the requests channel has no stream for it: what comes on it is lost.
      if (channel === 'requests' && !remote.transport.config.requestsChannel) return;
      net.delivered++;
      remote.transport.linkMessage(remote.peer, channel, bytes);
    });
  }

  #maybeDrained(peer: PeerEntry<MemoryLink>, channel: Channel): void {
    const low = channel === 'media' ? this.config.mediaLowWaterBytes : this.config.controlLowWaterBytes;
    if (peer.link && peer.link.buffered[channel] <= low) this.linkDrained(peer, channel);
  }
}
