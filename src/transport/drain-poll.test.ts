// Back-pressure where the datachannel has no `bufferedamountlow` event (Node's @roamhq/wrtc):
// the transport still bounds each channel's buffer and still says `writable` once it drains, by
// polling the buffer while a channel is blocked, on virtual time. A fake channel plays the link.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import type { PeerEntry } from './peer-entry.ts';
import type { Channel, LinkInfo } from './transport.ts';
import { DEFAULT_TRANSPORT_CONFIG } from './transport-config.ts';
import { DRAIN_POLL_MS, TransportCore } from './transport-core.ts';
import { ManualClock } from './scripted-transport.ts';
import { hasDrainEvent } from './web-rtc-transport.ts';

/** The two datachannels of one peer as the transport sees them: bytes buffered, drained by the test. */
interface FakeLink {
  peer: PeerEntry<FakeLink>;
  buffered: Record<Channel, number>;
}

class FakeChannelTransport extends TransportCore<FakeLink> {
  readonly links = new Map<string, FakeLink>();
  constructor(
    clock: ManualClock,
    readonly drainEvents: boolean,
  ) {
    super({ stallTimeoutMs: 600_000 }, clock);
  }
  protected openLink(peer: PeerEntry<FakeLink>): FakeLink {
    const link = { peer, buffered: { control: 0, media: 0, requests: 0 } };
    this.links.set(peer.id, link);
    return link;
  }
  protected applySignal(): void {}
  protected linkSend(peer: PeerEntry<FakeLink>, channel: Channel, bytes: Uint8Array): boolean {
    peer.link!.buffered[channel] += bytes.byteLength;
    return true;
  }
  protected linkBuffered(peer: PeerEntry<FakeLink>, channel: Channel): number {
    return peer.link?.buffered[channel] ?? 0;
  }
  protected linkReady(): boolean {
    return true;
  }
  protected linkInterrupted(): boolean {
    return false;
  }
  protected async linkDetails(): Promise<LinkInfo | undefined> {
    return undefined;
  }
  protected closeLink(): void {}
  protected override linkDrainEvents(): boolean {
    return this.drainEvents;
  }
  /** The channels open. */
  open(peerId: string): void {
    this.connect(peerId, { initiator: true });
    this.linkMaybeConnected(this.links.get(peerId)!.peer);
  }
  /** The network takes `bytes` off the channel's buffer. */
  drain(peerId: string, channel: Channel, bytes: number): void {
    const b = this.links.get(peerId)!.buffered;
    b[channel] = Math.max(0, b[channel] - bytes);
  }
  /** A channel that has the event fires it. */
  fireLow(peerId: string, channel: Channel): void {
    this.linkDrained(this.links.get(peerId)!.peer, channel);
  }
}

const MEDIA = new Uint8Array(1163);
const HIGH = DEFAULT_TRANSPORT_CONFIG.mediaHighWaterBytes;
const LOW = DEFAULT_TRANSPORT_CONFIG.mediaLowWaterBytes;

function setup(drainEvents: boolean) {
  const clock = new ManualClock();
  const t = new FakeChannelTransport(clock, drainEvents);
  const writable: Array<[string, Channel]> = [];
  t.on('writable', (id, ch) => writable.push([id, ch]));
  t.open('a');
  return { clock, t, writable };
}

describe('back-pressure on a channel without bufferedamountlow', () => {
  it('refuses media over the high-water mark, then says writable once the buffer is at the low-water mark', () => {
    const { clock, t, writable } = setup(false);
    let sent = 0;
    while (t.send('a', 'media', MEDIA)) sent++;
    expect(sent).toBe(Math.floor(HIGH / MEDIA.length));
    expect(t.bufferedAmount('a', 'media')).toBeLessThanOrEqual(HIGH);
    expect(t.stats('a')!.media.droppedOut).toBe(1);
    clock.advance(5 * DRAIN_POLL_MS);
    expect(writable).toEqual([]); // still above the low-water mark
    t.drain('a', 'media', t.bufferedAmount('a', 'media') - LOW);
    clock.advance(DRAIN_POLL_MS);
    expect(writable).toEqual([['a', 'media']]);
    expect(clock.pending(DRAIN_POLL_MS)).toBe(0); // nothing blocked: no more polling
    clock.advance(10 * DRAIN_POLL_MS);
    expect(writable).toHaveLength(1);
  });

  it('does the same for control, whose refusal is TRANSPORT_CONTROL_FULL', () => {
    const { clock, t, writable } = setup(false);
    const big = new Uint8Array(64 * 1024);
    for (let i = 0; i < 16; i++) t.send('a', 'control', big);
    expectCode(() => t.send('a', 'control', big), 'TRANSPORT_CONTROL_FULL');
    t.drain('a', 'control', t.bufferedAmount('a', 'control') - DEFAULT_TRANSPORT_CONFIG.controlLowWaterBytes);
    clock.advance(DRAIN_POLL_MS);
    expect(writable).toEqual([['a', 'control']]);
  });

  it('after canSend said no, and again for a listener that is refused again in its writable handler', () => {
    const { clock, t, writable } = setup(false);
    while (t.send('a', 'media', MEDIA));
    t.drain('a', 'media', HIGH);
    clock.advance(DRAIN_POLL_MS);
    expect(writable).toHaveLength(1);
    t.on('writable', () => {
      while (t.send('a', 'media', MEDIA));
    });
    // canSend alone marks the channel blocked: no send was refused this time.
    const dropped = t.stats('a')!.media.droppedOut;
    while (t.canSend('a', 'media', 1163)) t.send('a', 'media', MEDIA);
    expect(t.stats('a')!.media.droppedOut).toBe(dropped);
    t.drain('a', 'media', HIGH);
    clock.advance(DRAIN_POLL_MS);
    expect(writable).toHaveLength(2);
    expect(clock.pending(DRAIN_POLL_MS)).toBe(1); // the refill was refused again: one poll, not two
    t.drain('a', 'media', HIGH);
    clock.advance(DRAIN_POLL_MS);
    expect(writable).toHaveLength(3);
    t.destroy();
    expect(clock.pending(DRAIN_POLL_MS)).toBe(0);
  });

  it('does not poll a channel that fires bufferedamountlow itself', () => {
    const { clock, t, writable } = setup(true);
    while (t.send('a', 'media', MEDIA));
    expect(clock.pending(DRAIN_POLL_MS)).toBe(0);
    t.drain('a', 'media', HIGH);
    clock.advance(100);
    expect(writable).toEqual([]);
    t.fireLow('a', 'media');
    expect(writable).toEqual([['a', 'media']]);
  });
});

describe('hasDrainEvent', () => {
  it('is true for a channel class with bufferedAmountLowThreshold and onbufferedamountlow, false for @roamhq/wrtc and plain objects', () => {
    class BrowserLike {
      get bufferedAmountLowThreshold(): number {
        return 0;
      }
      get onbufferedamountlow(): null {
        return null;
      }
    }
    expect(hasDrainEvent(new BrowserLike())).toBe(true);
    expect(hasDrainEvent({ bufferedAmountLowThreshold: 0, onbufferedamountlow: null })).toBe(false);
    expect(hasDrainEvent(Object.create(null) as object)).toBe(false);
    const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as { RTCPeerConnection: new () => RTCPeerConnection };
    const pc = new wrtc.RTCPeerConnection();
    try {
      const dc = pc.createDataChannel('x', { negotiated: true, id: 2 });
      dc.bufferedAmountLowThreshold = 100;
      expect(hasDrainEvent(dc)).toBe(false);
    } finally {
      pc.close();
    }
  });
});
