import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import { MemoryNetwork, type MemoryNetworkOptions, type MemoryTransport } from './memory-transport.ts';
import { relaySignals } from './relay-signals.ts';
import type { Channel, FailReason } from './transport.ts';
import type { TransportConfig } from './transport-config.ts';
import type { TransportClock } from './transport-clock.ts';

/** Virtual time: timers run only when the test advances the clock. */
class ManualClock implements TransportClock {
  #t = 0;
  #seq = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.#t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  async advance(ms: number): Promise<void> {
    const target = this.#t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#t = next[1].at;
      next[1].fn();
    }
    this.#t = target;
    await settle();
  }
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

interface Recorder {
  events: string[];
  messages: Array<{ from: string; channel: Channel; bytes: Uint8Array }>;
  failed: Array<{ peer: string; reason: FailReason }>;
}

function record(t: MemoryTransport): Recorder {
  const r: Recorder = { events: [], messages: [], failed: [] };
  t.on('connected', (p) => r.events.push(`connected ${p}`));
  t.on('disconnected', (p, why) => r.events.push(`disconnected ${p} ${why}`));
  t.on('failed', (p, why) => {
    r.events.push(`failed ${p} ${why}`);
    r.failed.push({ peer: p, reason: why });
  });
  t.on('writable', (p, ch) => r.events.push(`writable ${p} ${ch}`));
  t.on('message', (from, channel, bytes) => r.messages.push({ from, channel, bytes }));
  return r;
}

/** Two transports whose signals are relayed by the test, as a tracker would. */
function pair(opts: MemoryNetworkOptions = {}, configA: Partial<TransportConfig> = {}, configB: Partial<TransportConfig> = {}) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, ...opts });
  const a = net.createTransport('A', configA);
  const b = net.createTransport('B', configB);
  a.on('signal', (to, blob) => to === 'B' && b.signal('A', JSON.parse(JSON.stringify(blob))));
  b.on('signal', (to, blob) => to === 'A' && a.signal('B', JSON.parse(JSON.stringify(blob))));
  const ra = record(a);
  const rb = record(b);
  return { clock, net, a, b, ra, rb };
}

async function connected(opts: MemoryNetworkOptions = {}, configA: Partial<TransportConfig> = {}, configB: Partial<TransportConfig> = {}) {
  const p = pair(opts, configA, configB);
  p.a.connect('B', { initiator: true });
  await p.clock.advance((opts.latencyMs ?? 0) + 1);
  expect(p.ra.events).toContain('connected B');
  expect(p.rb.events).toContain('connected A');
  return p;
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isP2PError(e) ? e.code : `not a P2PError: ${String(e)}`;
  }
  return undefined;
};

describe('MemoryTransport', () => {
  it('connects through relayed signals and carries both channels both ways', async () => {
    const { a, b, ra, rb } = await connected({ latencyMs: 5 });
    expect(a.peerState('B')).toBe('connected');
    expect(b.stats('A')?.initiator).toBe(false);
    expect(a.send('B', 'control', new Uint8Array([1, 2, 3]))).toBe(true);
    expect(a.send('B', 'media', bytes(1163))).toBe(true);
    expect(b.send('A', 'control', new Uint8Array([9]))).toBe(true);
    const clock = (a as unknown as { clock: ManualClock }).clock;
    await clock.advance(10);
    // The channels are independent (the control message waited for the end of the turn's batch).
    expect(rb.messages.map((m) => [m.from, m.channel, m.bytes.byteLength]).sort()).toEqual([
      ['A', 'control', 3],
      ['A', 'media', 1163],
    ]);
    expect([...rb.messages.find((m) => m.channel === 'control')!.bytes]).toEqual([1, 2, 3]);
    expect(ra.messages.map((m) => [m.from, m.channel, [...m.bytes]])).toEqual([['B', 'control', [9]]]);
    const s = a.stats('B')!;
    expect(s.control).toMatchObject({ messagesOut: 1, bytesOut: 3, messagesIn: 1, bytesIn: 1 });
    expect(s.media).toMatchObject({ messagesOut: 1, bytesOut: 1163 });
    expect(b.stats('A')!.media).toMatchObject({ messagesIn: 1, bytesIn: 1163, droppedIn: 0 });
    expect(await a.linkInfo('B')).toEqual({ rttMs: 10, relayed: false, localCandidateType: 'host', remoteCandidateType: 'host' });
    expect(await a.linkInfo('nobody')).toBeUndefined();
  });

  it('enforces message sizes on send with stable codes', async () => {
    const { a } = await connected();
    expectCode(() => a.send('B', 'media', bytes(1164)), 'TRANSPORT_MESSAGE_TOO_LARGE');
    expectCode(() => a.send('B', 'control', bytes(64 * 1024 + 1)), 'TRANSPORT_MESSAGE_TOO_LARGE');
    expectCode(() => a.send('B', 'control', new Uint8Array(0)), 'TRANSPORT_BAD_MESSAGE');
    expectCode(() => a.send('B', 'video' as Channel, bytes(1)), 'TRANSPORT_BAD_CHANNEL');
    expectCode(() => a.send('B', 'media', [1, 2] as unknown as Uint8Array), 'TRANSPORT_BAD_MESSAGE');
    expect(a.send('B', 'control', bytes(64 * 1024))).toBe(true);
    expect(a.send('nobody', 'media', bytes(10))).toBe(false);
  });

  it('drops and counts oversize inbound messages', async () => {
    const { a, b, clock, rb } = await connected({}, { maxControlMessageBytes: 128 * 1024 }, { maxMediaMessageBytes: 500 });
    expect(a.send('B', 'control', bytes(100_000))).toBe(true);
    expect(a.send('B', 'media', bytes(501))).toBe(true);
    expect(a.send('B', 'media', bytes(500))).toBe(true);
    await clock.advance(1);
    expect(rb.messages.map((m) => m.bytes.byteLength)).toEqual([500]);
    expect(b.stats('A')!.control.droppedIn).toBe(1);
    expect(b.stats('A')!.media.droppedIn).toBe(1);
  });

  it('drops media over the high-water mark instead of queueing, then reports writable', async () => {
    const { a, clock, ra } = await connected({ bandwidthBytesPerSec: 100_000 });
    let sent = 0;
    let dropped = 0;
    for (let i = 0; i < 100; i++) {
      if (a.send('B', 'media', bytes(1163))) sent++;
      else dropped++;
      expect(a.bufferedAmount('B', 'media')).toBeLessThanOrEqual(8 * 1163);
    }
    expect(sent).toBe(8);
    expect(dropped).toBe(92);
    expect(a.stats('B')!.media.droppedOut).toBe(92);
    expect(a.canSend('B', 'media', 1163)).toBe(false);
    expect(ra.events.filter((e) => e.startsWith('writable'))).toEqual([]);
    await clock.advance(200);
    expect(ra.events).toContain('writable B media');
    expect(a.bufferedAmount('B', 'media')).toBe(0);
    expect(a.send('B', 'media', bytes(1163))).toBe(true);
  });

  it('throws TRANSPORT_CONTROL_FULL when control is over its high-water mark, then reports writable', async () => {
    const { a, b, clock, ra, rb } = await connected(
      { bandwidthBytesPerSec: 1_000_000 },
      { controlHighWaterBytes: 200_000, controlLowWaterBytes: 50_000 },
    );
    let n = 0;
    while (code(() => a.send('B', 'control', bytes(60_000))) === undefined) n++;
    expect(n).toBe(3);
    expectCode(() => a.send('B', 'control', bytes(60_000)), 'TRANSPORT_CONTROL_FULL');
    expect(a.bufferedAmount('B', 'control')).toBe(180_000);
    await clock.advance(1000);
    expect(ra.events).toContain('writable B control');
    expect(rb.messages.length).toBe(3);
    expect(b.stats('A')!.control.bytesIn).toBe(180_000);
  });

  it('reports a connect with no answer as failed after connectTimeoutMs', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock });
    const a = net.createTransport('A', { connectTimeoutMs: 3000 });
    const r = record(a);
    const signals: unknown[] = [];
    a.on('signal', (_to, blob) => signals.push(blob));
    a.connect('X', { initiator: true });
    await clock.advance(2999);
    expect(signals).toHaveLength(1);
    expect(r.events).toEqual([]);
    await clock.advance(1);
    expect(r.events).toEqual(['failed X connect-timeout']);
    expect(a.peerState('X')).toBeUndefined();
  });

  it('reports the remote close as disconnected, and nothing on the closing side', async () => {
    const { a, b, clock, ra, rb } = await connected({ latencyMs: 3 });
    b.close('A');
    await clock.advance(5);
    expect(ra.events).toContain('disconnected B remote-closed');
    expect(rb.events).not.toContain('disconnected A remote-closed');
    expect(a.peers()).toEqual([]);
    expect(a.send('B', 'control', bytes(1))).toBe(false);
  });

  it('destroy closes every peer and makes later calls throw TRANSPORT_DESTROYED', async () => {
    const { a, b, clock, rb } = await connected();
    a.destroy();
    await clock.advance(1);
    expect(rb.events).toContain('disconnected A remote-closed');
    expectCode(() => a.connect('C', { initiator: true }), 'TRANSPORT_DESTROYED');
    expectCode(() => a.send('B', 'media', bytes(1)), 'TRANSPORT_DESTROYED');
    expect(b.peers()).toEqual([]);
  });

  it('reports failLink as ice-failed and an interrupted link as stalled on both ends', async () => {
    const first = await connected({}, { stallTimeoutMs: 2000 }, { stallTimeoutMs: 2000 });
    first.net.failLink('A', 'B', 'gone');
    expect(first.ra.events).toContain('failed B ice-failed');
    expect(first.rb.events).toContain('failed A ice-failed');

    const { net, a, clock, ra, rb } = await connected({}, { stallTimeoutMs: 2000 }, { stallTimeoutMs: 2000 });
    net.interruptLink('A', 'B');
    expect(a.send('B', 'control', bytes(10))).toBe(true);
    expect(a.bufferedAmount('B', 'control')).toBe(14); // in this turn's batch: 2 + 2 bytes of framing
    await clock.advance(1500);
    expect(ra.failed).toEqual([]);
    await clock.advance(1500);
    expect(ra.failed).toEqual([{ peer: 'B', reason: 'stalled' }]);
    expect(rb.failed).toEqual([{ peer: 'A', reason: 'stalled' }]);
  });

  it('delivers held messages when an interrupted link recovers in time', async () => {
    const { net, a, clock, ra, rb } = await connected({}, { stallTimeoutMs: 5000 }, { stallTimeoutMs: 5000 });
    net.interruptLink('A', 'B');
    a.send('B', 'control', bytes(10, 1));
    a.send('B', 'control', bytes(10, 2));
    await clock.advance(1000);
    expect(rb.messages).toEqual([]);
    net.interruptLink('A', 'B', false);
    await clock.advance(1);
    expect(rb.messages.map((m) => m.bytes[0])).toEqual([1, 2]);
    await clock.advance(10_000);
    expect(ra.failed).toEqual([]);
  });

  it('loses media by a seeded model, never control, and keeps control in order under jitter', async () => {
    const run = async (seed: number) => {
      // One datachannel message per media message: batched, these 200 would travel as four.
      const { a, clock, rb } = await connected({ seed, mediaLossRate: 0.3, latencyMs: 10, jitterMs: 20 }, { batchMedia: false });
      for (let i = 0; i < 200; i++) {
        a.send('B', 'media', new Uint8Array([i]));
        a.send('B', 'control', new Uint8Array([i]));
      }
      await clock.advance(100);
      const media = rb.messages.filter((m) => m.channel === 'media').map((m) => m.bytes[0]);
      const control = rb.messages.filter((m) => m.channel === 'control').map((m) => m.bytes[0]);
      return { media, control };
    };
    const r1 = await run(42);
    const r2 = await run(42);
    const r3 = await run(43);
    expect(r1).toEqual(r2);
    expect(r3.media).not.toEqual(r1.media);
    expect(r1.control).toEqual([...Array(200).keys()]);
    expect(r1.media.length).toBeGreaterThan(100);
    expect(r1.media.length).toBeLessThan(180);
    expect([...r1.media].sort((x, y) => x - y)).not.toEqual(r1.media); // jitter reorders media
  });

  it('drops malformed or out-of-role signals without throwing and counts them', async () => {
    const { a, b } = pair();
    fc.assert(
      fc.property(fc.anything(), (blob) => {
        expect(typeof a.signal('Z', blob)).toBe('boolean');
      }),
    );
    expect(a.peers()).toEqual([]);
    expect(a.transportStats().signalsDropped).toBeGreaterThan(0);
    expect(a.signal('Z', { type: 'offer', sdp: 'x'.repeat(64 * 1024 + 1) })).toBe(false);
    expect(a.signal('Z', { type: 'answer', sdp: 'memory-transport c1' })).toBe(false);
    expect(a.signal('Z', { type: 'candidate', candidate: { candidate: 'x' } })).toBe(false);
    b.connect('A', { initiator: false });
    const before = b.stats('A')!.signalsDropped;
    expect(b.signal('A', { type: 'answer', sdp: 'memory-transport c1' })).toBe(false);
    expect(b.stats('A')!.signalsDropped).toBe(before + 1);
    expectCode(() => a.signal('', {}), 'TRANSPORT_BAD_PEER_ID');
  });

  it('bounds candidates per peer', () => {
    const { b } = pair({}, {}, { maxCandidatesPerPeer: 2 });
    b.connect('A', { initiator: false });
    const c = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: 0 } };
    expect([b.signal('A', c), b.signal('A', c), b.signal('A', c)]).toEqual([true, true, false]);
  });

  it('bounds pending negotiations (maxPendingConnections), inbound and outbound', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock });
    const hub = net.createTransport('H', { maxPendingConnections: 2, maxPeers: 3 });
    const offers: Array<[string, unknown]> = [];
    const spokes = ['s1', 's2', 's3', 's4'].map((id) => {
      const t = net.createTransport(id);
      t.on('signal', (_to, blob) => offers.push([id, blob]));
      t.connect('H', { initiator: true });
      return t;
    });
    await settle();
    expect(offers).toHaveLength(4);
    const accepted = offers.map(([id, blob]) => hub.signal(id, blob));
    expect(accepted).toEqual([true, true, false, false]);
    expect(hub.transportStats()).toMatchObject({ peers: 2, connecting: 2, inboundRefused: 2 });
    expectCode(() => hub.connect('s9', { initiator: true }), 'TRANSPORT_TOO_MANY_PENDING');
    expectCode(() => hub.connect('s1', { initiator: true }), 'TRANSPORT_PEER_EXISTS');
    expectCode(() => hub.connect('s5', { initiator: 'yes' as unknown as boolean }), 'TRANSPORT_BAD_OPTIONS');
    spokes.forEach((s) => s.destroy());
    hub.destroy();
  });

  it('bounds connected peers (maxPeers): the peer at the limit is refused, the one below it is not', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock });
    const hub = net.createTransport('H', { maxPendingConnections: 1, maxPeers: 2 });
    const spokes = new Map<string, MemoryTransport>();
    const spoke = (id: string) => {
      const t = net.createTransport(id);
      t.on('signal', (_to, blob) => hub.signal(id, JSON.parse(JSON.stringify(blob))));
      spokes.set(id, t);
      return t;
    };
    hub.on('signal', (to, blob) => spokes.get(to)?.signal('H', JSON.parse(JSON.stringify(blob))));
    // One connected peer, none pending: below both limits, an inbound offer is taken.
    spoke('s1').connect('H', { initiator: true });
    await clock.advance(1);
    expect(hub.transportStats()).toMatchObject({ peers: 1, connecting: 0 });
    spoke('s2').connect('H', { initiator: true });
    await clock.advance(1);
    expect(hub.peerState('s2')).toBe('connected');
    expect(hub.transportStats()).toMatchObject({ peers: 2, connecting: 0, inboundRefused: 0 });
    // Two connected, none pending: only maxPeers stands in the way.
    spoke('s3').connect('H', { initiator: true });
    await clock.advance(1);
    expect(hub.peerState('s3')).toBeUndefined();
    expect(hub.transportStats()).toMatchObject({ peers: 2, connecting: 0, inboundRefused: 1 });
    expectCode(() => hub.connect('s4', { initiator: true }), 'TRANSPORT_TOO_MANY_PEERS');
    expect(hub.transportStats().peers).toBe(2);
    // A peer leaving frees its place.
    spokes.get('s1')!.destroy();
    await clock.advance(1);
    expect(hub.transportStats().peers).toBe(1);
    expect(() => hub.connect('s4', { initiator: true })).not.toThrow();
    for (const t of spokes.values()) t.destroy();
    hub.destroy();
  });

  it('a link that cannot be opened is TRANSPORT_LINK_ERROR and leaves no peer behind', () => {
    const net = new MemoryNetwork({ clock: new ManualClock() });
    const t = net.createTransport('A');
    (t as unknown as { openLink: () => never }).openLink = () => {
      throw new Error('no ports left');
    };
    expectCode(() => t.connect('B', { initiator: true }), 'TRANSPORT_LINK_ERROR');
    expect(t.peerState('B')).toBeUndefined();
    expect(t.transportStats()).toMatchObject({ peers: 0, connecting: 0 });
    t.destroy();
  });

  it('accepts connect(initiator: false) after the offer already arrived', async () => {
    const { a, b, clock, rb } = pair({ latencyMs: 5 });
    a.connect('B', { initiator: true });
    await settle();
    expect(b.peerState('A')).toBe('connecting');
    expect(() => b.connect('A', { initiator: false })).not.toThrow();
    expectCode(() => b.connect('A', { initiator: true }), 'TRANSPORT_PEER_EXISTS');
    await clock.advance(5);
    expect(rb.events).toEqual(['connected A']);
  });

  it('refuses inbound offers when acceptInbound is false', async () => {
    const { a, b, clock, rb } = pair({}, {}, { acceptInbound: false });
    a.connect('B', { initiator: true });
    await clock.advance(1);
    expect(rb.events).toEqual([]);
    expect(b.transportStats().inboundRefused).toBe(1);
    b.connect('A', { initiator: false });
    a.close('B');
    a.connect('B', { initiator: true });
    await clock.advance(1);
    expect(rb.events).toEqual(['connected A']);
  });

  it('keeps working when a listener throws', async () => {
    const errors: string[] = [];
    const { a, b, clock } = await connected({}, {}, { onListenerError: (_e, ev) => errors.push(ev) });
    const got: number[] = [];
    b.on('message', () => {
      throw new Error('listener bug');
    });
    b.on('message', (_p, _c, m) => got.push(m[0]));
    a.send('B', 'control', new Uint8Array([5]));
    a.send('B', 'control', new Uint8Array([6]));
    await clock.advance(1);
    expect(got).toEqual([5, 6]);
    expect(errors).toEqual(['message', 'message']);
    expect(b.listenerErrors).toBe(2);
  });

  it('batches media: the same messages in fewer datachannel messages, to each peer apart', async () => {
    const run = async (batchMedia: boolean) => {
      const clock = new ManualClock();
      const linkMessages: Record<string, number> = {};
      const net = new MemoryNetwork({ clock, latencyMs: 5, hook: (m) => void (m.channel === 'media' && (linkMessages[m.to] = (linkMessages[m.to] ?? 0) + 1)) });
      const ids = ['A', 'B', 'C'];
      const ts = Object.fromEntries(ids.map((id) => [id, net.createTransport(id, { batchMedia })]));
      const got: Record<string, Array<[string, Channel, number]>> = { B: [], C: [] };
      for (const id of ['B', 'C']) ts[id].on('message', (from, channel, b) => got[id].push([from, channel, b[0]]));
      relaySignals(ts);
      ts.A.connect('B', { initiator: true });
      ts.A.connect('C', { initiator: true });
      await clock.advance(10);
      // A frame's direct feed: 24 feed packets spread over two viewers, sent in one turn.
      for (let i = 0; i < 24; i++) ts.A.send(i % 2 ? 'C' : 'B', 'media', new Uint8Array(135).fill(i + 1));
      await clock.advance(10);
      return { linkMessages, got, statsB: ts.A.stats('B')!.media };
    };
    const batched = await run(true);
    const single = await run(false);
    expect(single.linkMessages).toEqual({ B: 12, C: 12 });
    expect(batched.linkMessages).toEqual({ B: 2, C: 2 });
    expect(batched.got).toEqual(single.got);
    expect(batched.got.B.map((m) => m[2])).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    expect(batched.statsB).toMatchObject({ messagesOut: 12, bytesOut: 12 * 135, linkMessagesOut: 2 });
    expect(single.statsB).toMatchObject({ messagesOut: 12, bytesOut: 12 * 135, linkMessagesOut: 12 });
  });

  it('builds a mesh of four through relaySignals and fans messages out under loss', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, seed: 3, latencyMs: 15, jitterMs: 10, mediaLossRate: 0.1 });
    const ids = ['p1', 'p2', 'p3', 'p4'];
    // Loss per media message, as the counts below assume (batched, each peer's 50 would travel as one).
    const ts = Object.fromEntries(ids.map((id) => [id, net.createTransport(id, { batchMedia: false })]));
    const recs = Object.fromEntries(ids.map((id) => [id, record(ts[id])]));
    const unwire = relaySignals(ts);
    ids.forEach((a, i) => ids.slice(i + 1).forEach((b) => ts[a].connect(b, { initiator: true })));
    await clock.advance(100);
    for (const id of ids) expect(ts[id].peers().sort()).toEqual(ids.filter((x) => x !== id));
    for (const id of ids) expect(recs[id].events.filter((e) => e.startsWith('connected'))).toHaveLength(3);
    for (let i = 0; i < 50; i++) for (const to of ['p2', 'p3', 'p4']) ts.p1.send(to, 'media', new Uint8Array([i]));
    ts.p1.send('p4', 'control', new Uint8Array([200]));
    await clock.advance(100);
    const mediaAt = (id: string) => recs[id].messages.filter((m) => m.channel === 'media').length;
    for (const id of ['p2', 'p3', 'p4']) {
      expect(mediaAt(id)).toBeGreaterThan(30);
      expect(mediaAt(id)).toBeLessThan(50);
    }
    expect(mediaAt('p2') + mediaAt('p3') + mediaAt('p4') + net.lost).toBe(150);
    expect(recs.p4.messages.filter((m) => m.channel === 'control').map((m) => m.bytes[0])).toEqual([200]);
    unwire();
    ts.p4.destroy();
    await clock.advance(20);
    for (const id of ['p1', 'p2', 'p3']) expect(recs[id].events).toContain('disconnected p4 remote-closed');
  });
});

describe('MemoryTransport: the requests channel (reliable, unordered)', () => {
  it('a requests message is not held back behind a control message being retransmitted; control stays in order', async () => {
    // The first control message from A is "lost" and comes 300 ms late, as a retransmission does.
    let delayed = false;
    const hook = (m: { from: string; channel: Channel }) => {
      if (m.from === 'A' && m.channel === 'control' && !delayed) {
        delayed = true;
        return { extraDelayMs: 300 };
      }
    };
    const { a, clock, rb } = await connected({ latencyMs: 10, hook });
    await clock.advance(10); // both ready frames have come: each side's requests channel is open to the other
    expect(a.stats('B')!.requestsOpen).toBe(true);
    a.send('B', 'control', new Uint8Array([0xc0]));
    await settle();
    a.send('B', 'control', new Uint8Array([0xc1]));
    a.send('B', 'requests', new Uint8Array([0x03]));
    await clock.advance(50);
    expect(rb.messages.map((m) => [m.channel, m.bytes[0]])).toEqual([['requests', 0x03]]);
    await clock.advance(300);
    expect(rb.messages.map((m) => [m.channel, m.bytes[0]])).toEqual([
      ['requests', 0x03],
      ['control', 0xc0],
      ['control', 0xc1],
    ]);
    expect(a.stats('B')!.requests).toMatchObject({ messagesOut: 1, bytesOut: 1 });
    expect(a.stats('B')!.requestsOnControl).toBe(0);
  });

  it('sends requests messages on control until the remote says its requests channel is open, and always to a peer without one', async () => {
    const { a, b, clock, ra, rb } = await connected({ latencyMs: 10 }, {}, { requestsChannel: false });
    // Connected, A's ready frame still on its way (and B, without the channel, sends none).
    a.send('B', 'requests', new Uint8Array([1]));
    b.send('A', 'requests', new Uint8Array([2]));
    await clock.advance(30);
    a.send('B', 'requests', new Uint8Array([3]));
    b.send('A', 'requests', new Uint8Array([4]));
    await clock.advance(30);
    expect(rb.messages.map((m) => [m.channel, m.bytes[0]])).toEqual([
      ['control', 1],
      ['control', 3],
    ]);
    expect(ra.messages.map((m) => [m.channel, m.bytes[0]])).toEqual([
      ['control', 2],
      ['control', 4],
    ]);
    expect(a.stats('B')).toMatchObject({ requestsOpen: false, requestsOnControl: 2 });
    expect(b.stats('A')).toMatchObject({ requestsOpen: false, requestsOnControl: 2 });

    // Both with the channel: on control before the ready frame comes, on requests after.
    const p = await connected({ latencyMs: 10 });
    p.a.send('B', 'requests', new Uint8Array([5]));
    await p.clock.advance(30);
    p.a.send('B', 'requests', new Uint8Array([6]));
    await p.clock.advance(30);
    expect(p.rb.messages.map((m) => [m.channel, m.bytes[0]])).toEqual([
      ['control', 5],
      ['requests', 6],
    ]);
    expect(p.a.stats('B')).toMatchObject({ requestsOpen: true, requestsOnControl: 1 });
  });

  it('bounds requests messages as one SCTP packet, sent and received', async () => {
    const { a, clock, rb } = await connected();
    await clock.advance(1);
    expect(code(() => a.send('B', 'requests', bytes(1164)))).toBe('TRANSPORT_MESSAGE_TOO_LARGE');
    expect(a.canSend('B', 'requests', 1164)).toBe(false);
    expect(a.send('B', 'requests', bytes(1163))).toBe(true);
    await clock.advance(1);
    expect(rb.messages.map((m) => [m.channel, m.bytes.byteLength])).toEqual([['requests', 1163]]);
  });
});
