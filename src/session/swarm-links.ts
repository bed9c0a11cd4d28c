// Keeps the transport's connections in line with the tracker's neighbour list: relays signals both
// ways, connects new neighbours on the side the tracker names initiator, closes dropped ones after a
// grace period, reports failed connections so the tracker picks another (but not, for a while, the
// failures of a link that was up, nor of one that the neighbour never answered or an end could offer
// no ICE candidate for: that is an outage to ride out, not a pair that cannot connect).
// No protocol knowledge.
// Used by ViewerSession and BroadcastSession.

import type { NeighbourInfo } from '../tracker/messages.ts';
import type { TrackerClient } from '../tracker-client/tracker-client.ts';
import type { FailReason, LinkInfo, Transport } from '../transport/transport.ts';

/**
 * A connected neighbour's path (its ICE candidate pair) is read once a second until known, then
 * again after this long, ms. Each read is a getStats of the connection (about 1.3 ms of CPU in
 * Node's @roamhq/wrtc), and a path changes only with an ICE restart or a network change.
 */
export const PATH_RECHECK_MS = 10_000;

/** Default of `relinkGraceMs`: one minute, a few connect timeouts (10 s each by default). */
export const DEFAULT_RELINK_GRACE_MS = 60_000;

export interface SwarmLinksOptions {
  /**
   * Failures of a connection to a neighbour this peer was linked to less than this long ago are not
   * reported to the tracker, ms. The tracker never introduces a reported pair again, and a link that
   * worked and then broke is most often an outage on one side (a network that dropped for some
   * seconds), after which the same pair works again: it is retried instead (the tracker keeps it in
   * the neighbour list). Past this long without the link coming back, the failure is reported.
   * The same holds, counted from the first such failure, for a connection that the neighbour sent
   * no description for (it never took part) or that an end offered no ICE candidate for (this end
   * gathered none, or the neighbour sent none): an end without a candidate has no network path at
   * all (its network is down or blocks UDP, and no relay is reachable), so the failure says nothing
   * about the pair, and a report would bar the two from linking once that network is back. Only
   * while this end shows an outage of its own (no candidate of its own, no link up, another
   * neighbour's connection failing too): a neighbour alone silent or pathless is reported at once. A link
   * that was up and stays down past the grace is reported at its next failure. A ban is always reported. Default DEFAULT_RELINK_GRACE_MS; 0 reports every failure.
   */
  relinkGraceMs?: number;
  /** Monotonic clock, ms. Default performance.now(). */
  nowMs?: () => number;
}

/**
 * What a signalling blob tells of its sender: SIGNALLED for an offer or answer, DESCRIBED as well
 * when it is a WebRTC session description (it has a media section; a MemoryTransport's has none),
 * CANDIDATE when it carries an ICE candidate (trickled, or in that description). Any input, never throws.
 */
export function signalBits(blob: unknown): number {
  if (typeof blob !== 'object' || blob === null) return 0;
  const b = blob as { type?: unknown; sdp?: unknown; candidate?: unknown };
  if (b.type === 'candidate') {
    const c = b.candidate as { candidate?: unknown } | null | undefined;
    return typeof c === 'object' && c !== null && typeof c.candidate === 'string' && c.candidate !== '' ? CANDIDATE : 0;
  }
  if ((b.type !== 'offer' && b.type !== 'answer') || typeof b.sdp !== 'string') return 0;
  return SIGNALLED | (/(^|\n)m=/.test(b.sdp) ? DESCRIBED : 0) | (/(^|\n)a=candidate:/.test(b.sdp) ? CANDIDATE : 0);
}

const DESCRIBED = 1;
const CANDIDATE = 2;
const SIGNALLED = 4;
/** signalBits of this end's signals sit in the low three bits of SwarmLinks' record, the neighbour's above. */
const THEIRS = 3;

/**
 * True when a failed connection says nothing about the pair: the neighbour sent no description
 * (it never took part: its side was down, busy, or still on an earlier connection), or, for a
 * WebRTC connection (an end sent a WebRTC description), an end offered no ICE candidate (it has no
 * path, or gave up before it could offer one: an answerer without a candidate fails as soon as its
 * gathering ends, which may be before its answer goes out).
 */
function saysNothingOfThePair(offered: number): boolean {
  return neighbourSilent(offered) || pathless(offered, 0) || pathless(offered, THEIRS);
}

/** The neighbour sent no description for this connection. */
function neighbourSilent(offered: number): boolean {
  return ((offered >> THEIRS) & SIGNALLED) === 0;
}

/** A WebRTC connection (an end sent a WebRTC description) for which the end at `shift` (0: this one) offered no ICE candidate. */
function pathless(offered: number, shift: number): boolean {
  const both = (offered | (offered >> THEIRS)) & 7;
  return (both & DESCRIBED) !== 0 && ((offered >> shift) & CANDIDATE) === 0;
}

export class SwarmLinks {
  readonly #closeTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #off: Array<() => void> = [];
  /** Connections that failed, by reason (for stats and tests). */
  readonly failures = new Map<FailReason, number>();
  /** Connected neighbours reached through a TURN relay, and all connected ones (checked each second). */
  relayedPeers = 0;
  connectedPeers = 0;
  /** ICE candidate types of each connected neighbour's selected pair, `local/remote` (e.g. `relay/srflx`). */
  paths: Record<string, string> = {};
  /**
   * Failures not reported because the link had been up within `relinkGraceMs`, or because the
   * neighbour never answered or an end offered no ICE candidate, within `relinkGraceMs` of the first
   * such failure (retried instead).
   */
  forgiven = 0;
  /** Neighbours whose link is up now. */
  readonly #up = new Set<string>();
  /** When each neighbour's link was last up (went down at, or is up since), ms. */
  readonly #lastUpMs = new Map<string, number>();
  readonly #relinkGraceMs: number;
  readonly #now: () => number;
  /** Per neighbour not linked yet, the signalBits of each end since its last end (the neighbour's shifted by THEIRS). */
  readonly #offered = new Map<string, number>();
  /** When a neighbour's connection first failed in a way that says nothing of the pair (none up since), ms. */
  readonly #pathlessSinceMs = new Map<string, number>();
  /** When each neighbour's connection last failed (any reason), ms. */
  readonly #failedAtMs = new Map<string, number>();
  /** Each connected neighbour's last known path and when it was read. */
  readonly #pathOf = new Map<string, { info: LinkInfo; atMs: number }>();

  constructor(
    private readonly tracker: TrackerClient,
    private readonly transport: Transport,
    private readonly graceMs: number,
    /** Called after the links closed a peer itself (the transport emits no event for that). */
    private readonly onClosed: (peerId: string) => void,
    options: SwarmLinksOptions = {},
  ) {
    this.#relinkGraceMs = options.relinkGraceMs ?? DEFAULT_RELINK_GRACE_MS;
    this.#now = options.nowMs ?? (() => performance.now());
    const onConnected = (peerId: string) => {
      this.#up.add(peerId);
      this.#lastUpMs.set(peerId, this.#now());
      this.#offered.delete(peerId);
      this.#pathlessSinceMs.delete(peerId);
    };
    transport.on('connected', onConnected);
    this.#off.push(() => transport.off('connected', onConnected));
    const onSignal = (peerId: string, blob: unknown) => {
      const bits = signalBits(blob);
      if (bits) this.#offered.set(peerId, (this.#offered.get(peerId) ?? 0) | bits);
      void tracker.signal(peerId, blob);
    };
    transport.on('signal', onSignal);
    this.#off.push(() => transport.off('signal', onSignal));
    this.#off.push(tracker.on('signal', ({ from, data }) => {
      const bits = signalBits(data);
      // A second offer while connecting: the neighbour gave up its connection (as an end without a
      // path does at once) and started a new one, which ours, made for the first offer, would
      // refuse until its connect timeout. Ours is replaced by a new one for the new offer.
      if (bits & DESCRIBED && (data as { type?: unknown }).type === 'offer' && transport.peerState(from) === 'connecting' && ((this.#offered.get(from) ?? 0) >> THEIRS) & DESCRIBED) {
        transport.close(from);
        this.#offered.delete(from);
        try {
          transport.connect(from, { initiator: false });
        } catch {
          // Over a bound: the next list or tick connects again.
        }
      }
      // Only what the transport took counts (a signal it drops says nothing of this connection).
      if (transport.signal(from, data) && bits) this.#offered.set(from, (this.#offered.get(from) ?? 0) | (bits << THEIRS));
    }));
    this.#off.push(tracker.on('neighbours', ({ neighbours }) => this.#update(neighbours)));
    // STUN/TURN servers come from the tracker (TURN with short-lived credentials).
    this.#off.push(tracker.on('ice', ({ iceServers }) => {
      try {
        transport.setIceServers?.(iceServers);
      } catch {
        // A list the transport refuses leaves the servers it had.
      }
    }));
    // Neighbours refused earlier (a bound was reached) are tried again; relayed links are counted.
    const retry = setInterval(() => {
      this.#forget();
      this.#update(tracker.neighbours);
      void this.#checkRelayed();
    }, 1000);
    this.#off.push(() => clearInterval(retry));
  }

  /** A connection ended; a failure is reported to the tracker (it will not pair the two again). */
  ended(peerId: string, failed: FailReason | undefined): void {
    this.#cancelClose(peerId);
    this.#pathOf.delete(peerId);
    const now = this.#now();
    if (this.#up.delete(peerId)) this.#lastUpMs.set(peerId, now);
    const offered = this.#offered.get(peerId) ?? 0;
    this.#offered.delete(peerId);
    if (!failed) return;
    this.failures.set(failed, (this.failures.get(failed) ?? 0) + 1);
    const othersFailing = this.#othersFailedSince(peerId, now - this.#relinkGraceMs);
    this.#failedAtMs.set(peerId, now);
    const lastUp = this.#lastUpMs.get(peerId);
    if (lastUp !== undefined && now - lastUp < this.#relinkGraceMs) {
      this.forgiven++;
      return;
    }
    if (lastUp === undefined && saysNothingOfThePair(offered) && (pathless(offered, 0) || this.#up.size === 0 || othersFailing)) {
      // An end had no path to offer, or the neighbour never answered: that end's outage, not the
      // pair's. Forgiven only when this end shows an outage of its own (no candidate of its own, no
      // link up, or another neighbour's connection failing too): a neighbour that alone stays silent
      // or pathless while this end's other links work is reported at once, so a peer that takes a
      // place in the list and never answers holds it for one connect timeout, not for the grace.
      const since = this.#pathlessSinceMs.get(peerId) ?? now;
      this.#pathlessSinceMs.set(peerId, since);
      if (now - since < this.#relinkGraceMs) {
        this.forgiven++;
        return;
      }
    }
    this.#lastUpMs.delete(peerId);
    this.#pathlessSinceMs.delete(peerId);
    this.tracker.reportFailed(peerId);
  }

  /** A neighbour misbehaved and was closed: the tracker should not pair us again. */
  banned(peerId: string): void {
    this.#cancelClose(peerId);
    this.#up.delete(peerId);
    this.#lastUpMs.delete(peerId);
    this.#offered.delete(peerId);
    this.#pathlessSinceMs.delete(peerId);
    this.tracker.reportFailed(peerId);
  }

  destroy(): void {
    for (const off of this.#off.splice(0)) off();
    for (const t of this.#closeTimers.values()) clearTimeout(t);
    this.#closeTimers.clear();
  }

  #update(list: readonly NeighbourInfo[]): void {
    const wanted = new Set(list.map((n) => n.peerId));
    for (const n of list) {
      this.#cancelClose(n.peerId);
      if (this.transport.peerState(n.peerId) !== undefined) continue;
      try {
        this.transport.connect(n.peerId, { initiator: n.initiator });
      } catch {
        // Over a bound (too many peers or pending connections): the next list or tick retries.
      }
    }
    for (const peerId of this.transport.peers()) {
      if (wanted.has(peerId) || this.#closeTimers.has(peerId)) continue;
      this.#closeTimers.set(peerId, setTimeout(() => {
        this.#closeTimers.delete(peerId);
        // Only a live tracker's word counts: while it is away the lists are stale, keep the links.
        if (this.tracker.connected && !this.tracker.neighbours.some((n) => n.peerId === peerId)) {
          this.transport.close(peerId);
          this.onClosed(peerId);
        }
      }, this.graceMs));
    }
  }

  /**
   * Counts relayed links and tells the tracker when every connection goes through TURN. A path is
   * read until known, then every PATH_RECHECK_MS.
   */
  async #checkRelayed(): Promise<void> {
    const connected = this.transport.peers().filter((p) => this.transport.peerState(p) === 'connected');
    const now = this.#now();
    for (const p of this.#pathOf.keys()) if (!connected.includes(p)) this.#pathOf.delete(p);
    const infos = await Promise.all(connected.map(async (p) => {
      const known = this.#pathOf.get(p);
      if (known && now - known.atMs < PATH_RECHECK_MS) return known.info;
      const info = await this.transport.linkInfo(p).catch(() => undefined);
      if (info) this.#pathOf.set(p, { info, atMs: now });
      return info;
    }));
    this.relayedPeers = infos.filter((i) => i?.relayed).length;
    this.paths = Object.fromEntries(connected.map((p, i) => [p, `${infos[i]?.localCandidateType ?? '?'}/${infos[i]?.remoteCandidateType ?? '?'}`]));
    this.connectedPeers = connected.length;
    this.tracker.setStats({ relayed: connected.length > 0 && this.relayedPeers === connected.length });
  }

  /**
   * Drops the up-times of links down for longer than the grace to peers no longer neighbours (a
   * neighbour's is kept: its outage has had its grace, and its next failure is reported), what is
   * kept of connections the transport no longer holds, and the first failures of peers no longer
   * neighbours (the maps stay as small as the swarm).
   */
  #forget(): void {
    const now = this.#now();
    const wanted = new Set(this.tracker.neighbours.map((n) => n.peerId));
    for (const [peerId, at] of this.#lastUpMs) {
      if (!this.#up.has(peerId) && now - at >= this.#relinkGraceMs && !wanted.has(peerId)) this.#lastUpMs.delete(peerId);
    }
    for (const peerId of this.#offered.keys()) if (this.transport.peerState(peerId) === undefined) this.#offered.delete(peerId);
    for (const peerId of this.#pathlessSinceMs.keys()) if (!wanted.has(peerId)) this.#pathlessSinceMs.delete(peerId);
    for (const [peerId, at] of this.#failedAtMs) if (now - at >= this.#relinkGraceMs) this.#failedAtMs.delete(peerId);
  }

  /** True when a neighbour other than `peerId` had a connection fail at or after `sinceMs`. */
  #othersFailedSince(peerId: string, sinceMs: number): boolean {
    for (const [p, at] of this.#failedAtMs) if (p !== peerId && at >= sinceMs) return true;
    return false;
  }

  #cancelClose(peerId: string): void {
    const t = this.#closeTimers.get(peerId);
    if (t) clearTimeout(t);
    this.#closeTimers.delete(peerId);
  }
}
