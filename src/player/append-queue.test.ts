import { describe, expect, it } from 'vitest';
import { AppendQueue, type SourceBufferLike } from './append-queue.ts';
import { expectRejectCode } from '../expect-code.ts';

/**
 * A SourceBuffer stand-in with the browser's contract: appendBuffer/remove throw InvalidStateError
 * while updating, finish asynchronously with 'updateend', and an append can fail ('error' then
 * 'updateend') or throw QuotaExceededError. The real SourceBuffer is exercised by the browser tests.
 */
class ScriptedSourceBuffer extends EventTarget implements SourceBufferLike {
  updating = false;
  log: string[] = [];
  failNext: 'quota' | 'error' | 'throw' | null = null;
  appendBuffer(data: BufferSource): void {
    if (this.updating) throw Object.assign(new Error('updating'), { name: 'InvalidStateError' });
    if (this.failNext === 'throw') {
      this.failNext = null;
      throw Object.assign(new Error('closed'), { name: 'InvalidStateError' });
    }
    if (this.failNext === 'quota') {
      this.failNext = null;
      throw Object.assign(new Error('full'), { name: 'QuotaExceededError' });
    }
    const bad = this.failNext === 'error';
    this.failNext = null;
    this.updating = true;
    this.log.push(`append ${(data as Uint8Array).length}`);
    setTimeout(() => {
      this.updating = false;
      if (bad) this.dispatchEvent(new Event('error'));
      this.dispatchEvent(new Event('updateend'));
    }, Math.random() * 3);
  }
  remove(start: number, end: number): void {
    if (this.updating) throw Object.assign(new Error('updating'), { name: 'InvalidStateError' });
    if (this.failNext === 'throw') {
      this.failNext = null;
      throw new TypeError('bad range');
    }
    this.updating = true;
    this.log.push(`remove ${start}-${end}`);
    setTimeout(() => {
      this.updating = false;
      this.dispatchEvent(new Event('updateend'));
    }, 1);
  }
}

describe('AppendQueue', () => {
  it('an append or remove the buffer refuses at once is APPEND_FAILED or REMOVE_FAILED, counted, and the queue goes on', async () => {
    const sb = new ScriptedSourceBuffer();
    const q = new AppendQueue(sb);
    sb.failNext = 'throw';
    const refused = q.append(new Uint8Array(1));
    const next = q.append(new Uint8Array(2));
    await expectRejectCode(refused, 'APPEND_FAILED');
    await next;
    sb.failNext = 'throw';
    await expectRejectCode(q.remove(0, 1), 'REMOVE_FAILED');
    expect(q.failures).toMatchObject({ append: 1, remove: 1, quota: 0 });
    expect(sb.log).toEqual(['append 2']);
  });

  it('runs operations one at a time, in order', async () => {
    const sb = new ScriptedSourceBuffer();
    const q = new AppendQueue(sb);
    const done: number[] = [];
    const ops = [1, 2, 3].map((n) => q.append(new Uint8Array(n)).then(() => done.push(n)));
    ops.push(q.remove(0, 5).then(() => done.push(0)));
    ops.push(q.append(new Uint8Array(4)).then(() => done.push(4)));
    expect(q.length).toBe(5);
    await Promise.all(ops);
    expect(sb.log).toEqual(['append 1', 'append 2', 'append 3', 'remove 0-5', 'append 4']);
    expect(done).toEqual([1, 2, 3, 0, 4]);
    expect(q.length).toBe(0);
  });

  it('reconfigure runs between appends, never while one updates, and a throw is APPEND_FAILED', async () => {
    const sb = new ScriptedSourceBuffer() as ScriptedSourceBuffer & { timestampOffset: number };
    sb.timestampOffset = 0;
    const q = new AppendQueue(sb);
    const seen: Array<[boolean, number]> = [];
    const a = q.append(new Uint8Array(1));
    const r = q.reconfigure((b) => {
      seen.push([b.updating, sb.log.length]);
      b.timestampOffset = 2.5;
    });
    const c = q.append(new Uint8Array(2));
    await Promise.all([a, r, c]);
    expect(seen).toEqual([[false, 1]]);
    expect(sb.timestampOffset).toBe(2.5);
    expect(sb.log).toEqual(['append 1', 'append 2']);
    expect(q.lastAppendMs).not.toBeNull();
    await expectRejectCode(q.reconfigure(() => {
      throw new Error('no changeType');
    }), 'APPEND_FAILED');
    await q.append(new Uint8Array(3));
    expect(sb.log).toEqual(['append 1', 'append 2', 'append 3']);
  });

  it('turns QuotaExceededError into BUFFER_FULL and carries on', async () => {
    const sb = new ScriptedSourceBuffer();
    const q = new AppendQueue(sb);
    sb.failNext = 'quota';
    const first = q.append(new Uint8Array(1));
    const second = q.append(new Uint8Array(2));
    await expectRejectCode(first, 'BUFFER_FULL');
    await second;
    expect(sb.log).toEqual(['append 2']);
    expect(q.failures.quota).toBe(1);
  });

  it('rejects an append the browser fails and runs the next one', async () => {
    const sb = new ScriptedSourceBuffer();
    const q = new AppendQueue(sb);
    sb.failNext = 'error';
    const first = q.append(new Uint8Array(1));
    const second = q.append(new Uint8Array(2));
    await expectRejectCode(first, 'APPEND_FAILED');
    await second;
    expect(sb.log).toEqual(['append 1', 'append 2']);
  });

  it('clear() rejects waiting operations; destroy() refuses new ones', async () => {
    const sb = new ScriptedSourceBuffer();
    const q = new AppendQueue(sb);
    const running = q.append(new Uint8Array(1));
    const waiting = q.append(new Uint8Array(2));
    q.clear();
    await expectRejectCode(waiting, 'ABORTED');
    await running;
    q.destroy();
    await expectRejectCode(q.append(new Uint8Array(3)), 'ABORTED');
    expect(sb.log).toEqual(['append 1']);
  });

  it('an empty or inverted remove resolves without touching the buffer', async () => {
    const sb = new ScriptedSourceBuffer();
    const q = new AppendQueue(sb);
    await q.remove(5, 5);
    await q.remove(6, 2);
    expect(sb.log).toEqual([]);
  });
});
