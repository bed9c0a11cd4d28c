// A TransportCore over a scripted link on virtual time, for tests of the core's own rules: the link
// is a test double that records what the core hands it and reports back what the test says.
// Test-only; imported by *.test.ts files, never by library code.

import type { PeerEntry } from './peer-entry.ts';
import type { Channel, LinkInfo, SignalBlob } from './transport.ts';
import type { TransportClock } from './transport-clock.ts';
import type { TransportConfig } from './transport-config.ts';
import { TransportCore } from './transport-core.ts';

export class ManualClock implements TransportClock {
  t = 0;
  #seq = 0;
  readonly timers = new Map<number, { at: number; ms: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.#seq, { at: this.t + ms, ms, fn });
    return this.#seq;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, e]) => e.at <= end).sort((x, y) => x[1].at - y[1].at || x[0] - y[0])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
  /** Pending timers set for `ms`. */
  pending(ms: number): number {
    return [...this.timers.values()].filter((e) => e.ms === ms).length;
  }
}

export interface Link {
  peer: PeerEntry<Link>;
  ready: boolean;
  interrupted: boolean;
  buffered: Record<Channel, number>;
  /** What linkSend does: take the bytes, refuse them (false), or throw. */
  send: 'take' | 'refuse' | 'throw';
  applied: SignalBlob[];
  /** Every datachannel message the core handed over, in order. */
  sent: Array<[Channel, Uint8Array]>;
  applyThrows: boolean;
  details: LinkInfo | 'reject';
  closeThrows: boolean;
}

export class ScriptedTransport extends TransportCore<Link> {
  readonly links = new Map<string, Link>();
  openThrows: unknown = null;
  readonly closedLinks: string[] = [];
  constructor(clock: ManualClock, config: Partial<TransportConfig> = {}) {
    super(config, clock);
  }
  protected openLink(peer: PeerEntry<Link>): Link {
    if (this.openThrows) throw this.openThrows;
    const link: Link = { peer, ready: false, interrupted: false, buffered: { control: 0, media: 0, requests: 0 }, send: 'take', applied: [], sent: [], applyThrows: false, details: { rttMs: 12 } as LinkInfo, closeThrows: false };
    this.links.set(peer.id, link);
    return link;
  }
  protected applySignal(peer: PeerEntry<Link>, signal: SignalBlob): void {
    if (peer.link!.applyThrows) throw new Error('bad sdp');
    peer.link!.applied.push(signal);
  }
  protected linkSend(peer: PeerEntry<Link>, channel: Channel, bytes: Uint8Array): boolean {
    const l = peer.link!;
    if (l.send === 'throw') throw new Error('channel closing');
    if (l.send === 'refuse') return false;
    l.sent.push([channel, bytes.slice()]);
    l.buffered[channel] += bytes.byteLength;
    return true;
  }
  protected linkBuffered(peer: PeerEntry<Link>, channel: Channel): number {
    return peer.link?.buffered[channel] ?? 0;
  }
  protected linkReady(peer: PeerEntry<Link>): boolean {
    return peer.link?.ready ?? false;
  }
  protected linkInterrupted(peer: PeerEntry<Link>): boolean {
    return peer.link?.interrupted ?? false;
  }
  protected async linkDetails(peer: PeerEntry<Link>): Promise<LinkInfo | undefined> {
    const d = peer.link!.details;
    if (d === 'reject') throw new Error('no stats');
    return d;
  }
  protected closeLink(peer: PeerEntry<Link>): void {
    this.closedLinks.push(peer.id);
    if (peer.link!.closeThrows) throw new Error('already closed');
  }
  link(id: string): Link {
    return this.links.get(id)!;
  }
  /** Both channels open. */
  up(id: string): void {
    this.link(id).ready = true;
    this.linkMaybeConnected(this.link(id).peer);
  }
  /** This side's requests channel opened (the core sends its ready frame on it). */
  requestsUp(id: string): void {
    this.linkRequestsOpened(this.link(id).peer);
  }
  /** This side's requests channel closed alone. */
  requestsDown(id: string): void {
    this.linkRequestsClosed(this.link(id).peer);
  }
  inbound(id: string, channel: Channel, data: unknown): void {
    this.linkMessage(this.link(id).peer, channel, data);
  }
  drained(id: string, channel: Channel): void {
    this.linkDrained(this.link(id).peer, channel);
  }
  signalOut(id: string, blob: SignalBlob): void {
    this.linkSignal(this.link(id).peer, blob);
  }
  remoteClosed(id: string): void {
    this.linkClosed(this.link(id).peer, 'remote-closed');
  }
}

export function setup(config: Partial<TransportConfig> = {}) {
  const clock = new ManualClock();
  const t = new ScriptedTransport(clock, config);
  const events: string[] = [];
  const messages: Array<[string, Channel, number[]]> = [];
  t.on('connected', (p) => events.push(`connected ${p}`));
  t.on('failed', (p, why) => events.push(`failed ${p} ${why}`));
  t.on('disconnected', (p, why) => events.push(`disconnected ${p} ${why}`));
  t.on('writable', (p, ch) => events.push(`writable ${p} ${ch}`));
  t.on('message', (p, ch, b) => messages.push([p, ch, [...b]]));
  return { clock, t, events, messages };
}

export const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
