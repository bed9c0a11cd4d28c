// One neighbour's outgoing media: a small FIFO in the core plus the bytes believed to sit in the
// channel's buffer. Media leaves only while that stays under the budget; stale media (past its
// frame's deadline) is dropped, never sent late. Pure; owned by the cores, one per neighbour.

import { encodedLength, type WireMessage } from './wire.ts';

interface LaneEntry {
  m: WireMessage;
  size: number;
  expires: number;
}

export class SendQueue {
  // A ring of parallel slots; a slot is emptied as soon as its message leaves, so sent or
  // dropped media (and its payload) is not kept alive by the queue.
  private messages: Array<WireMessage | undefined> = [];
  private sizes: number[] = [];
  private expires: number[] = [];
  private head = 0;
  private count = 0;
  /** Bytes handed to the channel and not yet reported sent. */
  buffered = 0;
  /** A want-writable was emitted and no report has come back since. */
  waiting = false;
  dropped = 0;
  stale = 0;
  /**
   * Messages that leave before every message of the ring (a holder's seed packets: each is the
   * source of a producer's feed keys, so one that waits behind a backlog of feed packets it relays
   * delays a whole group for everyone). FIFO, at most maxItems.
   */
  private first: LaneEntry[] = [];
  /**
   * Keys the neighbour asked for (answers to its REQUEST): after the seeds, before the pushed keys.
   * A viewer asks for the few keys it lacks once its pushes are in (its frame's last keys), so an
   * answer that waits behind a backlog of pushes holds the whole frame back. FIFO, at most maxItems.
   */
  private asked: LaneEntry[] = [];

  constructor(private readonly maxItems: number) {}

  get length(): number {
    return this.count + this.first.length + this.asked.length;
  }

  /** Queues a message ahead of the ring (after the other such messages). */
  pushFirst(message: WireMessage, expiresMs: number): void {
    this.#pushLane(this.first, message, expiresMs);
  }

  /** Queues an answer to the neighbour's request: after the seeds, ahead of the ring. */
  pushAsked(message: WireMessage, expiresMs: number): void {
    this.#pushLane(this.asked, message, expiresMs);
  }

  /** A lane ahead of the ring is a FIFO of at most maxItems: the oldest goes when it is full. */
  #pushLane(lane: LaneEntry[], message: WireMessage, expiresMs: number): void {
    if (this.maxItems === 0) {
      this.dropped++;
      return;
    }
    if (lane.length >= this.maxItems) {
      this.dropped++;
      lane.shift();
    }
    lane.push({ m: message, size: encodedLength(message), expires: expiresMs });
  }

  push(message: WireMessage, expiresMs: number): void {
    if (this.count >= this.maxItems) {
      this.dropped++;
      if (this.count === 0) return; // a queue of no items drops everything
      this.shift();
    }
    if (this.count === this.messages.length) this.grow();
    const i = (this.head + this.count) % this.messages.length;
    this.messages[i] = message;
    this.sizes[i] = encodedLength(message);
    this.expires[i] = expiresMs;
    this.count++;
  }

  /** Hands out messages while the channel buffer stays under `budget` bytes. */
  pump(nowMs: number, budget: number, emit: (m: WireMessage) => void): void {
    this.#drainLane(this.first, nowMs, budget, emit);
    this.#drainLane(this.asked, nowMs, budget, emit);
    while (this.count > 0 && this.buffered < budget) {
      const i = this.head;
      const message = this.shift();
      if (this.expires[i] <= nowMs) {
        this.stale++;
        continue;
      }
      this.buffered += this.sizes[i];
      emit(message);
    }
  }

  #drainLane(lane: LaneEntry[], nowMs: number, budget: number, emit: (m: WireMessage) => void): void {
    while (lane.length > 0 && this.buffered < budget) {
      const e = lane.shift() as LaneEntry;
      if (e.expires <= nowMs) {
        this.stale++;
        continue;
      }
      this.buffered += e.size;
      emit(e.m);
    }
  }

  /** Replaces each queued message `fn` returns a new one for (same size: the byte count holds). */
  rewrite(fn: (m: WireMessage) => WireMessage | undefined): void {
    for (const e of this.asked) {
      const r = fn(e.m);
      if (r) e.m = r;
    }
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.messages.length;
      const m = this.messages[i];
      const r = m && fn(m);
      if (r) this.messages[i] = r;
    }
  }

  clear(): void {
    this.first = [];
    this.asked = [];
    this.messages = [];
    this.sizes = [];
    this.expires = [];
    this.head = 0;
    this.count = 0;
  }

  /** Takes the oldest message out (count > 0). */
  private shift(): WireMessage {
    const i = this.head;
    const m = this.messages[i] as WireMessage;
    this.messages[i] = undefined;
    this.head = (i + 1) % this.messages.length;
    this.count--;
    return m;
  }

  /** Doubles the ring (at least 8 slots), oldest message first. */
  private grow(): void {
    const cap = this.messages.length;
    const next = Math.max(8, cap * 2);
    const messages = new Array<WireMessage | undefined>(next).fill(undefined);
    const sizes = new Array<number>(next).fill(0);
    const expires = new Array<number>(next).fill(0);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % cap;
      messages[k] = this.messages[i];
      sizes[k] = this.sizes[i];
      expires[k] = this.expires[i];
    }
    this.messages = messages;
    this.sizes = sizes;
    this.expires = expires;
    this.head = 0;
  }
}
