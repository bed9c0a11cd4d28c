// SwarmLinks on virtual time (Vitest's fake timers drive both its timers and MemoryTransport's):
// no sleeps, no wall clock. The tracker side is a scripted stand-in that hands out neighbour
// lists and records what SwarmLinks reports, as the real client would.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NeighbourInfo } from '../tracker/messages.ts';
import type { TrackerClient } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { ManualClock, ScriptedTransport } from '../transport/scripted-transport.ts';
import type { SignalBlob } from '../transport/transport.ts';
import { PATH_RECHECK_MS, signalBits, SwarmLinks } from './swarm-links.ts';

class ScriptedTracker {
  connected = true;
  neighbours: NeighbourInfo[] = [];
  failed: string[] = [];
  signals: Array<[string, unknown]> = [];
  #handlers = new Map<string, Set<(e: unknown) => void>>();
  on(event: string, fn: (e: unknown) => void): () => void {
    const set = this.#handlers.get(event) ?? new Set();
    set.add(fn);
    this.#handlers.set(event, set);
    return () => set.delete(fn);
  }
  signal(peerId: string, blob: unknown): void {
    this.signals.push([peerId, blob]);
  }
  reportFailed(peerId: string): void {
    this.failed.push(peerId);
  }
  stats: Array<{ relayed?: boolean }> = [];
  setStats(s: { relayed?: boolean }): void {
    this.stats.push(s);
  }
  /** The tracker relays a signal from a neighbour. */
  signalFrom(from: string, data: unknown): void {
    for (const fn of this.#handlers.get('signal') ?? []) fn({ from, data });
  }
  /** The tracker sends a new neighbour list. */
  give(list: NeighbourInfo[]): void {
    this.neighbours = list;
    for (const fn of this.#handlers.get('neighbours') ?? []) fn({ neighbours: list });
  }
}

const nb = (peerId: string, initiator = true) => ({ peerId, initiator }) as NeighbourInfo;

/** A WebRTC session description of a data channel without candidates (as made before ICE gathering), and one with a host candidate. */
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n';
const SDP_WITH_CANDIDATE = `${SDP}a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host\r\n`;
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host', sdpMLineIndex: 0, sdpMid: '0' } } as SignalBlob;

describe('signalBits', () => {
  it('tells a description (4), a WebRTC one (1) and an ICE candidate (2) in any input', () => {
    expect(signalBits({ type: 'offer', sdp: SDP })).toBe(4 | 1);
    expect(signalBits({ type: 'answer', sdp: SDP_WITH_CANDIDATE })).toBe(4 | 3);
    expect(signalBits(CANDIDATE)).toBe(2);
    // A MemoryTransport's description (signalled, no WebRTC), the end of gathering (an empty candidate), and junk.
    expect(signalBits({ type: 'offer', sdp: 'memory:7' })).toBe(4);
    expect(signalBits({ type: 'candidate', candidate: { candidate: '' } })).toBe(0);
    for (const junk of [null, undefined, 5, 'offer', {}, { type: 'offer', sdp: 5 }, { type: 'candidate', candidate: null }, { type: 'candidate', candidate: { candidate: 1 } }, { type: 'bye', sdp: SDP }]) {
      expect(signalBits(junk)).toBe(0);
    }
  });
});

describe('SwarmLinks', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(graceMs = 500, maxPeers = 64) {
    const net = new MemoryNetwork();
    const transport = net.createTransport('me', { maxPeers, maxPendingConnections: Math.min(10, maxPeers) });
    const tracker = new ScriptedTracker();
    const closed: string[] = [];
    const links = new SwarmLinks(tracker as unknown as TrackerClient, transport, graceMs, (p) => closed.push(p));
    return { transport, tracker, closed, links };
  }

  it('connects each new neighbour on the side the tracker names, and relays its signals to the tracker', async () => {
    const { transport, tracker, links } = setup();
    tracker.give([nb('a', true), nb('b', false)]);
    expect(transport.peerState('a')).toBe('connecting');
    expect(transport.stats('a')?.initiator).toBe(true);
    expect(transport.peerState('b')).toBe('connecting');
    expect(transport.stats('b')?.initiator).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(tracker.signals.map(([p]) => p)).toEqual(['a']); // the initiator's offer goes out through the tracker
    links.destroy();
  });

  it('closes a dropped neighbour after the grace period, not before, and not if it comes back', () => {
    const { transport, tracker, closed, links } = setup(500);
    tracker.give([nb('a'), nb('b')]);
    tracker.give([nb('b')]); // a dropped at t = 0
    vi.advanceTimersByTime(499);
    expect(transport.peerState('a')).toBe('connecting');
    vi.advanceTimersByTime(1);
    expect(transport.peerState('a')).toBeUndefined();
    expect(closed).toEqual(['a']);
    tracker.give([]); // b dropped ...
    vi.advanceTimersByTime(300);
    tracker.give([nb('b')]); // ... and back within the grace period
    vi.advanceTimersByTime(1000);
    expect(transport.peerState('b')).toBe('connecting');
    expect(closed).toEqual(['a']);
    // Dropped, back, dropped again: the grace period counts from the last drop.
    tracker.give([]);
    vi.advanceTimersByTime(300);
    tracker.give([nb('b')]);
    vi.advanceTimersByTime(100);
    tracker.give([]);
    vi.advanceTimersByTime(499);
    expect(transport.peerState('b')).toBe('connecting');
    vi.advanceTimersByTime(1);
    expect(closed).toEqual(['a', 'b']);
    links.destroy();
  });

  it('keeps links while the tracker is away (its last list is stale)', () => {
    const { transport, tracker, closed, links } = setup(500);
    tracker.give([nb('a')]);
    tracker.give([]);
    tracker.connected = false;
    vi.advanceTimersByTime(2000);
    expect(transport.peerState('a')).toBe('connecting');
    expect(closed).toEqual([]);
    links.destroy();
  });

  it('tries a neighbour refused by a bound again on the next one-second tick', () => {
    const { transport, tracker, links } = setup(500, 1);
    tracker.give([nb('a'), nb('b')]);
    expect(transport.peerState('b')).toBeUndefined(); // maxPeers 1
    transport.close('a');
    tracker.neighbours = [nb('b')];
    vi.advanceTimersByTime(999);
    expect(transport.peerState('b')).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(transport.peerState('b')).toBe('connecting');
    links.destroy();
  });

  it('counts failures by reason, retries a neighbour that never answered, and reports a ban at once', () => {
    const { tracker, links } = setup();
    links.ended('a', undefined);
    links.ended('b', 'connect-timeout');
    links.ended('c', 'connect-timeout');
    links.banned('d');
    expect(tracker.failed).toEqual(['d']);
    expect(links.forgiven).toBe(2);
    expect(links.failures.get('connect-timeout')).toBe(2);
    links.destroy();
  });

  /** 'me' with its SwarmLinks, linked to endpoint 'a'; signals relayed by hand (the tracker's job), ends reported as the session does. */
  async function linkedPair(relinkGraceMs: number) {
    const net = new MemoryNetwork();
    const mine = net.createTransport('me');
    const theirs = net.createTransport('a');
    let reachable = true;
    mine.on('signal', (_p, blob) => void (reachable && theirs.signal('me', blob)));
    theirs.on('signal', (_p, blob) => void mine.signal('a', blob));
    const tracker = new ScriptedTracker();
    const links = new SwarmLinks(tracker as unknown as TrackerClient, mine, 500, () => {}, { relinkGraceMs, nowMs: () => Date.now() });
    mine.on('failed', (p, reason) => links.ended(p, reason));
    mine.on('disconnected', (p) => links.ended(p, undefined));
    tracker.give([nb('a', true)]);
    theirs.connect('me', { initiator: false });
    await vi.advanceTimersByTimeAsync(100);
    expect(mine.peerState('a')).toBe('connected');
    /** The network between the two goes down: the link fails, new connections cannot be made. */
    const cut = () => {
      reachable = false;
      net.failLink('me', 'a');
    };
    return { tracker, links, cut, mine };
  }

  it('reads a connected neighbour\'s path each second until known, then every PATH_RECHECK_MS', async () => {
    const { links, mine } = await linkedPair(30_000);
    const reads = vi.spyOn(mine, 'linkInfo');
    await vi.advanceTimersByTimeAsync(1000);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(links.paths).toEqual({ a: 'host/host' });
    await vi.advanceTimersByTimeAsync(PATH_RECHECK_MS - 1000);
    expect(reads).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reads).toHaveBeenCalledTimes(2);
    expect(links.connectedPeers).toBe(1);
    links.destroy();
  });

  it('retries a neighbour whose link was up instead of reporting it, until relinkGraceMs has passed', async () => {
    const { tracker, links, cut } = await linkedPair(30_000);
    cut();
    // The link broke (ice-failed) and reconnecting times out (10 s each): retried, not reported.
    await vi.advanceTimersByTimeAsync(25_000);
    expect(tracker.failed).toEqual([]);
    expect(links.forgiven).toBeGreaterThanOrEqual(2);
    expect(links.failures.get('connect-timeout')).toBeGreaterThanOrEqual(1);
    // Past the grace without the link up again: reported, so the tracker can pick another neighbour.
    await vi.advanceTimersByTimeAsync(15_000);
    expect(tracker.failed).toEqual(['a']);
    // A ban is always reported.
    links.banned('c');
    expect(tracker.failed).toEqual(['a', 'c']);
    links.destroy();
  });

  it('relinkGraceMs 0 reports the failure of a link that was up at once', async () => {
    const { tracker, links, cut } = await linkedPair(0);
    cut();
    await vi.advanceTimersByTimeAsync(1);
    expect(tracker.failed).toEqual(['a']);
    links.destroy();
  });

  /**
   * 'me' on a scripted transport (connect timeout 10 s on `clock`), neighbour 'a' on the side
   * `initiator` says; `attempt` signals one connection to 'a' as given and lets it time out.
   */
  function scriptedNeighbour(initiator: boolean, relinkGraceMs = 30_000) {
    const clock = new ManualClock();
    const transport = new ScriptedTransport(clock, { connectTimeoutMs: 10_000 });
    const tracker = new ScriptedTracker();
    const links = new SwarmLinks(tracker as unknown as TrackerClient, transport, 500, () => {}, { relinkGraceMs, nowMs: () => clock.t });
    transport.on('failed', (p, reason) => links.ended(p, reason));
    const step = (ms: number) => {
      clock.advance(ms);
      vi.advanceTimersByTime(ms);
    };
    tracker.give([nb('a', initiator)]);
    /** One connection to 'a': our description and theirs (each with or without a candidate), then its timeout and the retry. */
    const attempt = (mine: string, theirs: string) => {
      expect(transport.peerState('a')).toBe('connecting');
      const ours = { type: initiator ? 'offer' : 'answer', sdp: mine } as SignalBlob;
      const remote = { type: initiator ? 'answer' : 'offer', sdp: theirs };
      if (initiator) transport.signalOut('a', ours);
      tracker.signalFrom('a', remote);
      if (!initiator) transport.signalOut('a', ours);
      // Its timeout (on the transport's clock), then SwarmLinks' one-second ticks: the next one tries again.
      const failures = links.failures.get('connect-timeout') ?? 0;
      step(10_000);
      expect(links.failures.get('connect-timeout')).toBe(failures + 1);
    };
    return { tracker, links, attempt, transport, step };
  }

  it('retries a neighbour whose connection failed while this end offered no ICE candidate, until relinkGraceMs after the first failure', () => {
    const { tracker, links, attempt } = scriptedNeighbour(true);
    // This end's network has no path (no candidate gathered): failures at 10, 20 and 30 s are its outage, not the pair's.
    for (let i = 0; i < 3; i++) attempt(SDP, SDP_WITH_CANDIDATE);
    expect(tracker.failed).toEqual([]);
    expect(links.forgiven).toBe(3);
    // 40 s: 30 s past the first failure without a link: reported.
    attempt(SDP, SDP_WITH_CANDIDATE);
    expect(tracker.failed).toEqual(['a']);
    links.destroy();
  });

  it('retries a neighbour that sent a description without an ICE candidate (its network has no path), until relinkGraceMs after the first failure', () => {
    const { tracker, links, attempt } = scriptedNeighbour(false);
    for (let i = 0; i < 3; i++) attempt(SDP_WITH_CANDIDATE, SDP);
    expect(tracker.failed).toEqual([]);
    attempt(SDP_WITH_CANDIDATE, SDP);
    expect(tracker.failed).toEqual(['a']);
    links.destroy();
  });

  it('reports at the first failure a neighbour never linked when both ends offered candidates (trickled or in the description)', () => {
    const { tracker, links, attempt, transport } = scriptedNeighbour(true);
    transport.signalOut('a', CANDIDATE);
    attempt(SDP, SDP_WITH_CANDIDATE);
    expect(tracker.failed).toEqual(['a']);
    expect(links.forgiven).toBe(0);
    links.destroy();
  });

  it('retries a neighbour that sent no offer (it never took part), until relinkGraceMs after the first failure', () => {
    const { tracker, links, step } = scriptedNeighbour(false);
    for (let i = 0; i < 3; i++) step(10_000);
    expect(links.failures.get('connect-timeout')).toBe(3);
    expect(tracker.failed).toEqual([]);
    step(10_000);
    expect(tracker.failed).toEqual(['a']);
    links.destroy();
  });

  it('retries a neighbour whose offer this end took but could not answer (no candidate: it gave up as its gathering ended)', () => {
    const { tracker, links, transport, step } = scriptedNeighbour(false);
    tracker.signalFrom('a', { type: 'offer', sdp: SDP_WITH_CANDIDATE });
    tracker.signalFrom('a', CANDIDATE);
    step(10_000);
    expect(links.failures.get('connect-timeout')).toBe(1);
    expect(tracker.failed).toEqual([]);
    links.destroy();
  });

  it('counts only the signals the transport took: a second answer (dropped) does not show a candidate for the connection', () => {
    const { tracker, links, transport, step } = scriptedNeighbour(true);
    transport.signalOut('a', { type: 'offer', sdp: SDP_WITH_CANDIDATE });
    tracker.signalFrom('a', { type: 'answer', sdp: SDP });
    tracker.signalFrom('a', { type: 'answer', sdp: SDP_WITH_CANDIDATE });
    expect(transport.link('a').applied.map((x) => x.type)).toEqual(['answer']);
    step(10_000);
    // The answer taken had no candidate: that end has no path, retried rather than reported.
    expect(links.failures.get('connect-timeout')).toBe(1);
    expect(tracker.failed).toEqual([]);
    links.destroy();
  });

  it('replaces a connection still connecting when the neighbour sends a second offer (it started over), and hands the new offer to the new one', () => {
    const { tracker, links, transport } = scriptedNeighbour(false);
    const first = transport.link('a');
    tracker.signalFrom('a', { type: 'offer', sdp: SDP });
    expect(first.applied).toHaveLength(1);
    tracker.signalFrom('a', { type: 'offer', sdp: SDP_WITH_CANDIDATE });
    expect(transport.closedLinks).toEqual(['a']);
    const second = transport.link('a');
    expect(second).not.toBe(first);
    expect(second.applied).toEqual([{ type: 'offer', sdp: SDP_WITH_CANDIDATE }]);
    expect(transport.peerState('a')).toBe('connecting');
    expect(tracker.failed).toEqual([]);
    links.destroy();
  });

  describe('a neighbour alone silent or pathless while this end\'s other links work', () => {
    // A peer that takes a place in the list and never answers (or answers with no candidate) must
    // not hold it for the whole grace: the failure is forgiven only when this end shows an outage
    // of its own (no candidate of its own, no link up, another neighbour's connection failing too).
    function withWorkingLink(initiator: boolean) {
      const s = scriptedNeighbour(initiator);
      s.tracker.give([nb('a', initiator), nb('x', true), nb('z', true)]);
      s.transport.up('x');
      s.transport.up('z');
      expect(s.transport.peerState('x')).toBe('connected');
      return s;
    }

    it('one that never offered is reported at its first failure', () => {
      const { tracker, links, step } = withWorkingLink(false);
      step(10_000);
      expect(links.failures.get('connect-timeout')).toBe(1);
      expect(tracker.failed).toEqual(['a']);
      expect(links.forgiven).toBe(0);
      links.destroy();
    });

    it('one that answered without a candidate is reported at its first failure', () => {
      const { tracker, links, attempt } = withWorkingLink(true);
      attempt(SDP_WITH_CANDIDATE, SDP);
      expect(tracker.failed).toEqual(['a']);
      links.destroy();
    });

    it('is still forgiven when this end offered no candidate of its own', () => {
      const { tracker, links, attempt } = withWorkingLink(true);
      attempt(SDP, SDP_WITH_CANDIDATE);
      expect(tracker.failed).toEqual([]);
      expect(links.forgiven).toBe(1);
      links.destroy();
    });

    it('is still forgiven while another neighbour\'s connection fails too (an outage of this end)', () => {
      const { tracker, links, step } = withWorkingLink(false);
      // z's link, up until now, fails (forgiven as a link that was up); x's still works.
      links.ended('z', 'connect-timeout');
      expect(tracker.failed).toEqual([]);
      step(10_000);
      expect(links.failures.get('connect-timeout')).toBe(2);
      expect(tracker.failed).toEqual([]);
      links.destroy();
    });
  });

  it('after destroy nothing is connected or closed any more', () => {
    const { transport, tracker, closed, links } = setup(500);
    tracker.give([nb('a')]);
    tracker.give([]);
    links.destroy();
    tracker.give([nb('z')]);
    vi.advanceTimersByTime(5000);
    expect(transport.peerState('z')).toBeUndefined();
    expect(closed).toEqual([]);
  });
});
