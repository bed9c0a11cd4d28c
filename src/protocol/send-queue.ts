// One neighbour's outgoing media: a small FIFO in the core plus the bytes believed to sit in the
// channel's buffer. Media leaves only while that stays under the budget; stale media (past its
// frame's deadline) is dropped, never sent late. Pure; owned by the cores, one per neighbour.

import { encodedLength, type WireMessage } from './wire.ts';

interface Item {
  message: WireMessage;
  size: number;
  expiresMs: number;
}

export class SendQueue {
  private items: Item[] = [];
  private head = 0;
  /** Bytes handed to the channel and not yet reported sent. */
  buffered = 0;
  /** A want-writable was emitted and no report has come back since. */
  waiting = false;
  dropped = 0;
  stale = 0;

  constructor(private readonly maxItems: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(message: WireMessage, expiresMs: number): void {
    if (this.length >= this.maxItems) {
      this.head++;
      this.dropped++;
    }
    this.items.push({ message, size: encodedLength(message), expiresMs });
  }

  /** Hands out messages while the channel buffer stays under `budget` bytes. */
  pump(nowMs: number, budget: number, emit: (m: WireMessage) => void): void {
    while (this.head < this.items.length && this.buffered < budget) {
      const it = this.items[this.head++];
      if (it.expiresMs <= nowMs) {
        this.stale++;
        continue;
      }
      this.buffered += it.size;
      emit(it.message);
    }
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
