// The simulator's timed events: one class for every kind (the event loop and the queue see a
// single object shape) and a pool that reuses them, since a large run makes about a million
// events per simulated second. Data only; used by simulator.ts.

import type { CryptoJob } from '../protocol/crypto-jobs.ts';
import type { WireMessage } from '../protocol/wire.ts';
import type { SentInfo } from './frame-timeline.ts';
import type { SimPeer } from './sim-peer.ts';
import type { Wire } from './sim-wire.ts';

// Event kinds (small integers: one switch over numbers, no strings compared per event).
/** A message arrives at `p` from `q`. */
export const DELIVER = 0;
/** `p`'s core asked to be woken now. */
export const TIMER = 1;
/** `p`'s channel to `q` drained enough for more media. */
export const WRITABLE = 2;
/** A crypto job of `p` finished. */
export const CRYPTO = 3;
/** The broadcaster (`p`) closes a frame. */
export const PUBLISH = 4;
/** `p`'s side of its link to `q` comes up. */
export const CONNECT = 5;
/** A new viewer joins. */
export const JOIN = 6;
/** `p` leaves (churn) and a new viewer joins. */
export const LEAVE = 7;
/** `count` viewers (of `role`, when set) leave at once. */
export const LEAVE_MANY = 8;
/** The tracker room's periodic tick. */
export const TRACKER = 9;
/** `p` learns that `q` closed their link (`q` banned it, or crashed and timed out). */
export const LINK_DOWN = 10;
/** `p` tells the tracker that its link to peer `other` never came up (the transport's connect timeout). */
export const FAIL_PAIR = 11;
/** `p` (a producer) complains to the tracker about holder `other` (key `count`). */
export const COMPLAIN = 12;

/**
 * Whether events of kind `k` belong to their peer `p` alone. They run in the peer's own queue,
 * ahead of other peers' events within a lookahead window (see simulator.ts); the other kinds touch
 * several peers or the room and run between windows.
 */
export function isPeerEvent(k: number): boolean {
  return k === DELIVER || k === TIMER || k === WRITABLE || k === CRYPTO || k === LINK_DOWN || k === CONNECT || k === PUBLISH;
}

export class SimEvent {
  t = 0;
  /** Insertion number (tie break); set by the queue. */
  n = 0;
  k = TIMER;
  p: SimPeer | undefined = undefined;
  q: SimPeer | undefined = undefined;
  /** A delivery's wire (sender to receiver): it says whether the link is still up. */
  wire: Wire | undefined = undefined;
  msg: WireMessage | Uint8Array | undefined = undefined;
  size = 0;
  control = false;
  /** A delivery waiting for the receiver's download link. */
  queued = false;
  job: CryptoJob | undefined = undefined;
  count = 0;
  role: string | undefined = undefined;
  /** FAIL_PAIR, COMPLAIN: the other peer's id. */
  other: string | undefined = undefined;
  /** A peer event held back by a busy event loop: when it was first due (NaN: not held). */
  due = NaN;
  /** Pushed back into the queue while being handled: not to be reused yet. */
  held = false;
  /** A delivery followed by the frame timeline (`timeline` option): when and how it left. */
  sent: SentInfo | undefined = undefined;
}

export class EventPool {
  private readonly free: SimEvent[] = [];

  get(t: number, k: number, p?: SimPeer, q?: SimPeer): SimEvent {
    const e = this.free.pop() ?? new SimEvent();
    e.t = t;
    e.k = k;
    e.p = p;
    e.q = q;
    return e;
  }

  /** Takes an event back; drops what it points to so the pool keeps nothing alive. */
  put(e: SimEvent): void {
    e.p = undefined;
    e.q = undefined;
    e.wire = undefined;
    e.msg = undefined;
    e.job = undefined;
    e.role = undefined;
    e.other = undefined;
    e.due = NaN;
    e.size = 0;
    e.control = false;
    e.queued = false;
    e.held = false;
    e.count = 0;
    e.sent = undefined;
    this.free.push(e);
  }
}
