// A tiny virtual-time harness for pair and triangle tests of the cores: explicit links, a fixed
// one-way delay, real encoding and parsing of every message, real WebCrypto for crypto jobs,
// optional drop of media messages. Test support only; the simulator is the large-scale harness.

import { generateStreamKey, type StreamKeyPair } from '../crypto/stream-key.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import type { ComplaintEvidence, CoreOutput } from './core-types.ts';
import { createCryptoRunner, type CryptoJob, type CryptoResult } from './crypto-jobs.ts';
import type { PeerCore } from './peer-core.ts';
import { encodeMessage, type Manifest, type WireMessage } from './wire.ts';

type Core = PeerCore | BroadcasterCore;

interface Msg {
  t: number;
  from: string;
  to: string;
  bytes: Uint8Array;
}

export class CoreHarness {
  readonly cores = new Map<string, Core>();
  readonly delivered = new Map<string, Array<{ manifest: Manifest; frame: Uint8Array; t: number }>>();
  readonly badPeers: Array<{ by: string; peerId: string; banned: boolean; reason: string; t: number }> = [];
  readonly complaints: Array<{ by: string; peerId: string; reason: string; evidence: ComplaintEvidence; t: number }> = [];
  readonly sent: Array<{ from: string; to: string; type: string; size: number; message: WireMessage }> = [];
  now = 0;
  delayMs = 5;
  /**
   * CPU each core spends per input it handles (a message or a timeout), ms of virtual time; a core
   * still busy takes its next input only when free (a slow device: inputs queue, answers come late).
   */
  readonly cpuMs = new Map<string, number>();
  private readonly busyUntil = new Map<string, number>();
  /** Return true to drop a media message. */
  dropMedia: (from: string, to: string) => boolean = () => false;
  /** Rewrite outgoing bytes (pollution tests); `to` is the receiving core. */
  tamper: (from: string, bytes: Uint8Array, type: string, to: string) => Uint8Array = (_f, b) => b;
  private queue: Msg[] = [];
  private jobs: Array<{ at: string; p: Promise<CryptoResult> }> = [];
  private run!: (job: CryptoJob) => Promise<CryptoResult>;
  key!: StreamKeyPair;

  static async create(): Promise<CoreHarness> {
    const h = new CoreHarness();
    h.key = await generateStreamKey();
    h.run = createCryptoRunner({ publicKeyBytes: h.key.publicKeyBytes, streamId: h.key.streamId, key: h.key });
    return h;
  }

  add(id: string, core: Core): void {
    this.cores.set(id, core);
    this.delivered.set(id, []);
  }

  /**
   * Connects two cores. A peer linked to a broadcaster core learns it is the broadcaster the way a
   * session does, from the tracker's neighbour list (never from the broadcaster's HELLO).
   */
  link(a: string, b: string): void {
    for (const [x, y] of [[a, b], [b, a]]) {
      const cx = this.core(x);
      if (this.core(y) instanceof BroadcasterCore && !(cx instanceof BroadcasterCore)) cx.handleNeighbours([{ peerId: y, reasons: ['broadcaster'] }], this.now);
    }
    this.core(a).handlePeerConnected(b, this.now);
    this.core(b).handlePeerConnected(a, this.now);
    this.flush(a);
    this.flush(b);
  }

  unlink(a: string, b: string): void {
    this.core(a).handlePeerDisconnected(b, this.now);
    this.core(b).handlePeerDisconnected(a, this.now);
  }

  core(id: string): Core {
    const c = this.cores.get(id);
    if (!c) throw new Error(`no core ${id}`);
    return c;
  }

  /** Delivers raw bytes as if `from` had sent them to `to`. */
  inject(from: string, to: string, bytes: Uint8Array): void {
    this.queue.push({ t: this.now + this.delayMs, from, to, bytes });
  }

  /** Runs until virtual time `untilMs`, in steps of `stepMs`, settling crypto at each step. */
  async drive(untilMs: number, stepMs = 5): Promise<void> {
    while (this.now < untilMs) {
      this.now = Math.min(untilMs, this.now + stepMs);
      for (let guard = 0; guard < 1000; guard++) {
        await this.settleCrypto();
        const due = this.queue.filter((m) => m.t <= this.now && !this.busy(m.to));
        if (due.length === 0) break;
        const taken = new Set<Msg>();
        for (const m of due) {
          // A slow core takes one input at a time; the rest wait in the queue, in order.
          if (this.busy(m.to)) continue;
          taken.add(m);
          const c = this.cores.get(m.to);
          if (!c) continue;
          c.handleMessage(m.from, m.bytes, this.now);
          this.spend(m.to, m.t);
          this.flush(m.to);
        }
        this.queue = this.queue.filter((m) => !taken.has(m));
      }
      for (const [id, c] of this.cores) {
        const t = c.nextTimeout();
        if (t !== undefined && t <= this.now && !this.busy(id)) {
          c.handleTimeout(this.now);
          this.spend(id, t);
          this.flush(id);
        }
      }
      await this.settleCrypto();
    }
  }

  private busy(id: string): boolean {
    return (this.busyUntil.get(id) ?? -Infinity) > this.now;
  }

  /** A core took an input that was due at `dueMs`: it is busy for its cost from then (or from when it was free). */
  private spend(id: string, dueMs: number): void {
    const ms = this.cpuMs.get(id);
    if (ms) this.busyUntil.set(id, Math.max(this.busyUntil.get(id) ?? -Infinity, dueMs) + ms);
  }

  private async settleCrypto(): Promise<void> {
    while (this.jobs.length > 0) {
      const jobs = this.jobs;
      this.jobs = [];
      for (const j of jobs) {
        const r = await j.p;
        this.core(j.at).handleCryptoResult(r, this.now);
        this.flush(j.at);
      }
    }
  }

  flush(id: string): void {
    const c = this.core(id);
    for (let o: CoreOutput | undefined; (o = c.pollOutput()); ) {
      if (o.type === 'send') {
        let bytes = encodeMessage(o.message);
        this.sent.push({ from: id, to: o.peerId, type: o.message.type, size: bytes.length, message: o.message });
        if (o.channel === 'media' && this.dropMedia(id, o.peerId)) continue;
        bytes = this.tamper(id, bytes, o.message.type, o.peerId);
        this.queue.push({ t: this.now + this.delayMs, from: id, to: o.peerId, bytes });
        if (o.channel === 'media') c.handleBufferedAmount(o.peerId, 0, this.now);
      } else if (o.type === 'crypto') {
        this.jobs.push({ at: id, p: this.run(o.job) });
      } else if (o.type === 'frame') {
        this.delivered.get(id)?.push({ manifest: o.manifest, frame: o.frame, t: this.now });
      } else if (o.type === 'bad-peer') {
        this.badPeers.push({ by: id, peerId: o.peerId, banned: o.banned, reason: o.reason, t: this.now });
      } else if (o.type === 'want-writable') {
        c.handleBufferedAmount(o.peerId, 0, this.now);
      } else if (o.type === 'complaint') {
        this.complaints.push({ by: id, peerId: o.peerId, reason: o.reason, evidence: o.evidence, t: this.now });
      }
    }
  }
}

export { BroadcasterCore };
