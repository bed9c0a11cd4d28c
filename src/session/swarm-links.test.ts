// SwarmLinks on virtual time (Vitest's fake timers drive both its timers and MemoryTransport's):
// no sleeps, no wall clock. The tracker side is a scripted stand-in that hands out neighbour
// lists and records what SwarmLinks reports, as the real client would.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NeighbourInfo } from '../tracker/messages.ts';
import type { TrackerClient } from '../tracker-client/tracker-client.ts';
import { MemoryNetwork } from '../transport/memory-transport.ts';
import { PATH_RECHECK_MS, SwarmLinks } from './swarm-links.ts';

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
  /** The tracker sends a new neighbour list. */
  give(list: NeighbourInfo[]): void {
    this.neighbours = list;
    for (const fn of this.#handlers.get('neighbours') ?? []) fn({ neighbours: list });
  }
}

const nb = (peerId: string, initiator = true) => ({ peerId, initiator }) as NeighbourInfo;

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

  it('reports failed and banned neighbours to the tracker, and counts failures by reason', () => {
    const { tracker, links } = setup();
    links.ended('a', undefined);
    links.ended('b', 'connect-timeout');
    links.ended('c', 'connect-timeout');
    links.banned('d');
    expect(tracker.failed).toEqual(['b', 'c', 'd']);
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
    // A neighbour never linked is reported at its first failure; a ban is always reported.
    links.ended('b', 'connect-timeout');
    links.banned('c');
    expect(tracker.failed).toEqual(['a', 'b', 'c']);
    links.destroy();
  });

  it('relinkGraceMs 0 reports the failure of a link that was up at once', async () => {
    const { tracker, links, cut } = await linkedPair(0);
    cut();
    await vi.advanceTimersByTimeAsync(1);
    expect(tracker.failed).toEqual(['a']);
    links.destroy();
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
