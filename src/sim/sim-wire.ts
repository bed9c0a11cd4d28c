// One direction of a simulated link between two peers: whether it is up, its round-trip time, the
// arrival time of its last control message (control stays in order), and the media messages
// handed to the channel and not yet serialized (what the sender's core sees as bufferedAmount).
// Pure data with small update rules; made by simulator.ts when two peers connect.

import type { SimPeer } from './sim-peer.ts';

export class Wire {
  /** The two peers are connected (both directions say the same). */
  up = false;
  /** When the last control message on this wire arrives (the next one may not overtake it). */
  ctlLastMs = 0;
  /** Gilbert–Elliott loss state of this direction (harsh world). */
  bad = true;
  nextMs = 0;
  /** Relayed through TURN: its rate cap (0: none) and when the relay is next free. */
  capBps = 0;
  relayFree = 0;
  // Media in the channel buffer as a ring of (departure time, size), oldest first.
  private times = new Float64Array(16);
  private sizes = new Int32Array(16);
  private head = 0;
  private count = 0;
  private sum = 0;

  constructor(readonly to: SimPeer | undefined, readonly rttMs: number) {}

  /**
   * When a control message that would arrive at `atMs` is handed to the receiver: on the ordered
   * channel not before the one sent before it (which moves the ordered tail), on an unordered
   * reliable channel at once (it neither waits for nor holds up the ordered ones).
   */
  controlArrival(atMs: number, ordered: boolean): number {
    if (!ordered) return atMs;
    const at = Math.max(atMs, this.ctlLastMs);
    this.ctlLastMs = at;
    return at;
  }

  /** A media message of `size` bytes leaves the sender's upload at `departMs`. */
  add(departMs: number, size: number): void {
    if (this.count === this.times.length) this.grow();
    const i = (this.head + this.count) & (this.times.length - 1);
    this.times[i] = departMs;
    this.sizes[i] = size;
    this.count++;
    this.sum += size;
  }

  /** Media bytes not yet serialized at `nowMs` (departed messages are forgotten). */
  buffered(nowMs: number): number {
    const mask = this.times.length - 1;
    while (this.count > 0 && this.times[this.head] <= nowMs) {
      this.sum -= this.sizes[this.head];
      this.head = (this.head + 1) & mask;
      this.count--;
    }
    return this.sum;
  }

  /** When the buffer drains to `threshold` bytes or less (nowMs when it already has). */
  writableAt(nowMs: number, threshold: number): number {
    let rest = this.buffered(nowMs);
    if (rest <= threshold) return nowMs;
    const mask = this.times.length - 1;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & mask;
      rest -= this.sizes[i];
      if (rest <= threshold) return this.times[i];
    }
    return nowMs;
  }

  private grow(): void {
    const cap = this.times.length;
    const times = new Float64Array(cap * 2);
    const sizes = new Int32Array(cap * 2);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & (cap - 1);
      times[k] = this.times[i];
      sizes[k] = this.sizes[i];
    }
    this.times = times;
    this.sizes = sizes;
    this.head = 0;
  }
}
