import { describe, expect, it } from 'vitest';
import { TypedEmitter } from './typed-emitter.ts';
import { expectCode } from './expect-code.ts';

interface Events {
  tick: (n: number) => void;
  done: () => void;
}

class Ticker extends TypedEmitter<Events> {
  fire<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    this.emit(event, ...args);
  }
}

describe('TypedEmitter', () => {
  it('calls listeners in order, once listeners once, and stops after off', () => {
    const t = new Ticker();
    const got: string[] = [];
    const a = (n: number) => got.push(`a${n}`);
    t.on('tick', a);
    t.once('tick', (n) => got.push(`once${n}`));
    t.on('tick', (n) => got.push(`b${n}`));
    t.fire('tick', 1);
    t.off('tick', a);
    t.fire('tick', 2);
    expect(got).toEqual(['a1', 'once1', 'b1', 'b2']);
    expect(t.listenerCount('tick')).toBe(1);
  });

  it('reports a throwing listener and still calls the rest', () => {
    const seen: Array<[unknown, string]> = [];
    const t = new Ticker((e, ev) => seen.push([e, ev]));
    let called = false;
    t.on('done', () => {
      throw new Error('bug');
    });
    t.on('done', () => {
      called = true;
    });
    expect(() => t.fire('done')).not.toThrow();
    expect(called).toBe(true);
    expect(seen.map(([, ev]) => ev)).toEqual(['done']);
    expect(t.listenerErrors).toBe(1);
  });

  it('survives a throwing error handler, and refuses non-function listeners', () => {
    const t = new Ticker(() => {
      throw new Error('handler bug');
    });
    t.on('done', () => {
      throw new Error('bug');
    });
    expect(() => t.fire('done')).not.toThrow();
    expectCode(() => t.on('done', 'nope' as unknown as () => void), 'BAD_LISTENER');
    t.removeAllListeners();
    expect(t.listenerCount('done')).toBe(0);
  });
});
