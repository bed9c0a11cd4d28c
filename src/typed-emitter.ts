// A small typed event emitter: events declared once in a map, listeners called in order, and a
// throwing listener reported through `onListenerError` instead of breaking the emitter's caller.
// No I/O. Shared by the transports, the sessions, the broadcaster and the player.

import { P2PError } from './errors.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap<E> = { [K in keyof E]: (...args: any[]) => void };

export interface TypedEmitterApi<E extends EventMap<E>> {
  on<K extends keyof E>(event: K, listener: E[K]): this;
  once<K extends keyof E>(event: K, listener: E[K]): this;
  off<K extends keyof E>(event: K, listener: E[K]): this;
}

export type ListenerErrorHandler = (error: unknown, event: string) => void;

const defaultListenerErrorHandler: ListenerErrorHandler = (error, event) => {
  console.error(`listener for "${event}" threw`, error);
};

export class TypedEmitter<E extends EventMap<E>> implements TypedEmitterApi<E> {
  #listeners = new Map<keyof E, Array<{ fn: E[keyof E]; once: boolean }>>();
  #onListenerError: ListenerErrorHandler;
  /** Number of listener calls that threw. */
  listenerErrors = 0;

  constructor(onListenerError: ListenerErrorHandler = defaultListenerErrorHandler) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof E>(event: K, listener: E[K]): this {
    return this.#add(event, listener, false);
  }

  once<K extends keyof E>(event: K, listener: E[K]): this {
    return this.#add(event, listener, true);
  }

  off<K extends keyof E>(event: K, listener: E[K]): this {
    const list = this.#listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l.fn === listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls every listener of `event`; a throwing listener is reported and the others still run. */
  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return;
    for (const entry of [...list]) {
      if (entry.once) this.off(event, entry.fn as E[K]);
      try {
        (entry.fn as (...a: Parameters<E[K]>) => void)(...args);
      } catch (error) {
        this.listenerErrors++;
        try {
          this.#onListenerError(error, String(event));
        } catch {
          // the error handler itself failed: nothing more can be done without breaking the caller
        }
      }
    }
  }

  #add<K extends keyof E>(event: K, listener: E[K], once: boolean): this {
    if (typeof listener !== 'function') {
      throw new P2PError('BAD_LISTENER', `listener for "${String(event)}" is not a function`);
    }
    let list = this.#listeners.get(event);
    if (!list) this.#listeners.set(event, (list = []));
    list.push({ fn: listener, once });
    return this;
  }
}
