// One-at-a-time operation queue for one SourceBuffer: appends and removes run strictly in order,
// each after the previous 'updateend', with errors (QuotaExceededError included) turned into
// P2PErrors on the operation's promise. Knows nothing of fragments or latency. Used by MediaPlayer.

import { P2PError } from '../errors.ts';

/** The part of SourceBuffer the queue uses. */
export interface SourceBufferLike {
  readonly updating: boolean;
  appendBuffer(data: BufferSource): void;
  remove(start: number, end: number): void;
  addEventListener(type: 'updateend' | 'error', listener: () => void): void;
  removeEventListener(type: 'updateend' | 'error', listener: () => void): void;
  timestampOffset?: number;
  changeType?(type: string): void;
}

type Operation =
  | { kind: 'append'; data: Uint8Array; resolve: () => void; reject: (e: P2PError) => void }
  | { kind: 'reconfigure'; run: (sb: SourceBufferLike) => void; resolve: () => void; reject: (e: P2PError) => void }
  | { kind: 'remove'; start: number; end: number; resolve: () => void; reject: (e: P2PError) => void };

export class AppendQueue {
  #sb: SourceBufferLike;
  #queue: Operation[] = [];
  #current: Operation | null = null;
  #destroyed = false;
  /** How long the last append took in the browser (appendBuffer to 'updateend'), ms; queue wait excluded. */
  lastAppendMs: number | null = null;
  #startedMs = 0;
  /** Operations that failed, by reason. */
  readonly failures = { quota: 0, append: 0, remove: 0 };

  constructor(sourceBuffer: SourceBufferLike) {
    this.#sb = sourceBuffer;
    this.#sb.addEventListener('updateend', this.#onUpdateEnd);
    this.#sb.addEventListener('error', this.#onError);
  }

  /** Operations waiting or running. */
  get length(): number {
    return this.#queue.length + (this.#current ? 1 : 0);
  }

  /** Queues an append; resolves after its 'updateend'. Rejects with BUFFER_FULL on QuotaExceededError. */
  append(data: Uint8Array): Promise<void> {
    return this.#push((resolve, reject) => ({ kind: 'append', data, resolve, reject }));
  }

  /** Queues a remove of [start, end) seconds. */
  remove(start: number, end: number): Promise<void> {
    if (!(end > start)) return Promise.resolve();
    return this.#push((resolve, reject) => ({ kind: 'remove', start, end, resolve, reject }));
  }

  /**
   * Queues a change of the SourceBuffer itself (timestampOffset, changeType) that must run between
   * appends, when it is not updating; rejects with APPEND_FAILED when `run` throws.
   */
  reconfigure(run: (sb: SourceBufferLike) => void): Promise<void> {
    return this.#push((resolve, reject) => ({ kind: 'reconfigure', run, resolve, reject }));
  }

  /** Rejects every waiting operation with ABORTED (the running one finishes on its own). */
  clear(): void {
    const waiting = this.#queue;
    this.#queue = [];
    for (const op of waiting) op.reject(new P2PError('ABORTED', 'buffer operation cancelled'));
  }

  destroy(): void {
    this.clear();
    this.#destroyed = true;
    this.#sb.removeEventListener('updateend', this.#onUpdateEnd);
    this.#sb.removeEventListener('error', this.#onError);
    if (this.#current) this.#current.reject(new P2PError('ABORTED', 'buffer queue destroyed'));
    this.#current = null;
  }

  #push(make: (resolve: () => void, reject: (e: P2PError) => void) => Operation): Promise<void> {
    if (this.#destroyed) return Promise.reject(new P2PError('ABORTED', 'buffer queue destroyed'));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(make(resolve, reject));
      this.#next();
    });
  }

  #next(): void {
    if (this.#current || this.#destroyed || this.#sb.updating) return;
    const op = this.#queue.shift();
    if (!op) return;
    if (op.kind === 'reconfigure') {
      try {
        op.run(this.#sb);
        op.resolve();
      } catch (e) {
        op.reject(new P2PError('APPEND_FAILED', `cannot reconfigure the media buffer: ${String((e as Error)?.message ?? e)}`));
      }
      this.#next();
      return;
    }
    this.#current = op;
    this.#startedMs = performance.now();
    try {
      if (op.kind === 'append') this.#sb.appendBuffer(op.data as BufferSource);
      else this.#sb.remove(op.start, op.end);
    } catch (e) {
      this.#current = null;
      const name = (e as { name?: string })?.name;
      if (name === 'QuotaExceededError') {
        this.failures.quota++;
        op.reject(new P2PError('BUFFER_FULL', 'the media buffer is full'));
      } else {
        this.failures[op.kind]++;
        op.reject(new P2PError(op.kind === 'append' ? 'APPEND_FAILED' : 'REMOVE_FAILED', `${op.kind} failed: ${String((e as Error)?.message ?? e)}`));
      }
      this.#next();
    }
  }

  #onUpdateEnd = (): void => {
    const op = this.#current;
    this.#current = null;
    if (op?.kind === 'append') this.lastAppendMs = performance.now() - this.#startedMs;
    op?.resolve();
    this.#next();
  };

  #onError = (): void => {
    const op = this.#current;
    if (!op || op.kind === 'reconfigure') return;
    this.failures[op.kind]++;
    // 'updateend' follows 'error'; settle now and let updateend start the next operation.
    op.reject(new P2PError(op.kind === 'append' ? 'APPEND_FAILED' : 'REMOVE_FAILED', `the browser rejected the ${op.kind}`));
    op.resolve = () => {};
  };
}
