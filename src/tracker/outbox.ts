// The tracker's outgoing queue: room fan-out (neighbour lists, roles, stream and swarm messages)
// and pings are written to the sockets a batch per event-loop turn, so a burst of joins and leaves
// never holds up relayed signals behind hundreds of socket writes. A turn writes `batch` frames, or
// a quarter of the backlog when that is more: a fixed count per turn would fall behind for good
// when turns come slowly (a process short of CPU), so the backlog always drains in a few turns.
// Frames to one socket keep their order: a frame sent "now" to a socket that still has queued
// frames waits behind them. I/O layer of the tracker server; the actual write is the caller's.

/** A socket as the outbox sees it: its queued frames (null when none wait). */
export interface OutboxSocket {
  queue: OutFrame[] | null;
}

export interface OutFrame {
  text: string;
  /** The message type, for the sent-messages counter. */
  type: string;
  /** A relayed signal (never counted against its receiver's send buffer). */
  relayed: boolean;
}

export class Outbox<S extends OutboxSocket> {
  /** Sockets with queued frames, oldest first; entries already flushed are skipped. */
  private pending: S[] = [];
  private head = 0;
  private armed = false;
  /** Frames waiting, over all sockets. */
  private queued = 0;

  /**
   * @param write sends one frame to its socket now.
   * @param batch frames written per turn at most.
   * @param schedule runs the next batch after pending I/O (setImmediate; tests pass their own).
   */
  constructor(
    private readonly write: (s: S, f: OutFrame) => void,
    readonly batch = 64,
    private readonly schedule: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {}

  /** Frames waiting, over all sockets. */
  get size(): number {
    return this.queued;
  }

  /** Queues a frame behind what waits for its socket; written in a later batch. */
  later(s: S, f: OutFrame): void {
    if (!s.queue) {
      s.queue = [];
      this.pending.push(s);
    }
    s.queue.push(f);
    this.queued++;
    if (!this.armed) {
      this.armed = true;
      this.schedule(() => this.drain());
    }
  }

  /** Writes a frame now, unless frames wait for the socket: then it goes behind them. */
  now(s: S, f: OutFrame): void {
    if (s.queue) this.later(s, f);
    else this.write(s, f);
  }

  /** Writes every frame waiting for one socket (before it is closed, so they precede the close). */
  flush(s: S): void {
    const q = s.queue;
    if (!q) return;
    s.queue = null;
    this.queued -= q.length;
    for (const f of q) this.write(s, f);
  }

  /** Writes `batch` frames or a quarter of the backlog, oldest socket first; schedules the rest for the next turn. */
  drain(): void {
    this.armed = false;
    const limit = Math.max(this.batch, Math.ceil(this.queued / 4));
    let n = 0;
    while (this.head < this.pending.length && n < limit) {
      const s = this.pending[this.head];
      const q = s.queue;
      if (!q) {
        this.head++;
        continue;
      }
      let i = 0;
      while (i < q.length && n < limit) {
        this.queued--;
        this.write(s, q[i++]);
        n++;
      }
      if (i < q.length) {
        q.splice(0, i);
        break;
      }
      if (s.queue === q) s.queue = null;
      this.head++;
    }
    if (this.head >= this.pending.length) {
      this.pending = [];
      this.head = 0;
    } else if (!this.armed) {
      this.armed = true;
      this.schedule(() => this.drain());
    }
  }
}
