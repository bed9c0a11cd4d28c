// The tracker's I/O path kept cheap without changing what peers see: the outbox (room fan-out and
// pings written a batch per turn, frames to one socket in order), the parser's fast bounds (byte
// length and nesting), relayed frames built from the parser's serialised data, and the sent
// counter. Outbox tests drive turns by hand; server tests use a manual clock and real sockets.
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { generateStreamKey } from '../crypto/stream-key.ts';
import { MAX_JSON_DEPTH, overUtf8Bytes, parseClientMessage } from './messages.ts';
import { Outbox, type OutFrame, type OutboxSocket } from './outbox.ts';
import { startTracker, type Tracker } from './server.ts';
import { expectCode } from '../expect-code.ts';
import { manualClock, rawPeer, until, type RawPeer } from './test-kit.ts';

interface Sock extends OutboxSocket {
  name: string;
}
const sock = (name: string): Sock => ({ name, queue: null });
const f = (text: string): OutFrame => ({ text, type: 't', relayed: false });

/** An outbox whose turns run when the test says, recording every write. */
function harness(batch: number) {
  const written: string[] = [];
  const turns: Array<() => void> = [];
  const box = new Outbox<Sock>((s, fr) => written.push(`${s.name}:${fr.text}`), batch, (fn) => turns.push(fn));
  const turn = () => (turns.shift() as () => void)();
  return { written, turns, box, turn };
}

describe('outbox', () => {
  it('writes queued frames only in a later turn, at most `batch` per turn, oldest socket first', () => {
    const { written, turns, box, turn } = harness(3);
    const a = sock('a');
    const b = sock('b');
    box.later(a, f('1'));
    box.later(b, f('1'));
    box.later(a, f('2'));
    box.later(b, f('2'));
    box.later(b, f('3'));
    expect(written).toEqual([]);
    expect(turns.length).toBe(1); // one turn scheduled, however many frames
    expect(box.size).toBe(5);
    turn();
    expect(written).toEqual(['a:1', 'a:2', 'b:1']);
    expect(turns.length).toBe(1); // the rest goes in the next turn
    turn();
    expect(written).toEqual(['a:1', 'a:2', 'b:1', 'b:2', 'b:3']);
    expect(turns.length).toBe(0);
    expect(box.size).toBe(0);
    expect(a.queue).toBeNull();
    expect(b.queue).toBeNull();
  });

  it('a backlog far beyond one batch drains in a few turns: a turn writes a quarter of what waits when that is more', () => {
    const { written, turns, box, turn } = harness(64);
    const socks = Array.from({ length: 500 }, (_, i) => sock(`s${i}`));
    for (let k = 0; k < 4; k++) for (const s of socks) box.later(s, f(String(k)));
    expect(box.size).toBe(2000);
    turn();
    expect(written.length).toBe(500); // 2000 / 4, more than the batch of 64
    let n = 1;
    while (turns.length) {
      turn();
      n++;
    }
    expect(written.length).toBe(2000);
    expect(n).toBeLessThan(20); // 64 per turn would take 32 turns
    expect(box.size).toBe(0);
    // Each socket still got its frames in order.
    expect(written.filter((w) => w.startsWith('s7:'))).toEqual(['s7:0', 's7:1', 's7:2', 's7:3']);
  });

  it('a frame sent now goes out at once, unless frames wait for its socket: then behind them', () => {
    const { written, box, turn } = harness(64);
    const a = sock('a');
    const b = sock('b');
    box.later(a, f('neighbours'));
    box.now(b, f('signal-to-b'));
    box.now(a, f('signal-to-a'));
    expect(written).toEqual(['b:signal-to-b']);
    turn();
    expect(written).toEqual(['b:signal-to-b', 'a:neighbours', 'a:signal-to-a']);
  });

  it('flush writes what waits for one socket at once (before a close), and the next turn skips it', () => {
    const { written, box, turn } = harness(64);
    const a = sock('a');
    const b = sock('b');
    box.later(a, f('1'));
    box.later(b, f('1'));
    box.later(a, f('2'));
    box.flush(a);
    expect(written).toEqual(['a:1', 'a:2']);
    turn();
    expect(written).toEqual(['a:1', 'a:2', 'b:1']);
  });

  it('a socket queued again after a flush gets its new frames once and in order', () => {
    const { written, box, turn } = harness(64);
    const a = sock('a');
    box.later(a, f('1'));
    box.flush(a);
    box.later(a, f('2'));
    box.later(a, f('3'));
    turn();
    expect(written).toEqual(['a:1', 'a:2', 'a:3']);
  });
});

describe('parser bounds, fast paths', () => {
  it('overUtf8Bytes agrees with the encoded length, around every bound', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: 0, max: 160 }), (s, max) => {
        expect(overUtf8Bytes(s, max)).toBe(enc.encode(s).length > max);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects nesting past MAX_JSON_DEPTH, and accepts shallow text full of braces', () => {
    const deep = (n: number) => `{"type":"signal","to":"abcdefgh","data":${'['.repeat(n)}1${']'.repeat(n)}}`;
    // The message object itself is one level.
    expect(parseClientMessage(deep(MAX_JSON_DEPTH - 1)).type).toBe('signal');
    expectCode(() => parseClientMessage(deep(MAX_JSON_DEPTH)), 'BAD_MESSAGE');
    // Many braces inside strings, or side by side, are not depth.
    const inStrings = JSON.stringify({ type: 'signal', to: 'abcdefgh', data: { sdp: '{['.repeat(200) } });
    expect(parseClientMessage(inStrings).type).toBe('signal');
    const wide = JSON.stringify({ type: 'signal', to: 'abcdefgh', data: Array.from({ length: 100 }, (_, i) => ({ i })) });
    expect(parseClientMessage(wide).type).toBe('signal');
  });

  it('leaves a signal’s data serialised once, for the relay', () => {
    const out: { dataText?: string } = {};
    parseClientMessage(JSON.stringify({ type: 'signal', to: 'abcdefgh', data: { sdp: 'v=0\r\n', n: [1, 2] } }), undefined, undefined, out);
    expect(out.dataText).toBe(JSON.stringify({ sdp: 'v=0\r\n', n: [1, 2] }));
    expectCode(() => parseClientMessage(JSON.stringify({ type: 'signal', to: 'abcdefgh', data: 'x'.repeat(40) }), undefined, 40), 'SIGNAL_TOO_LARGE');
  });
});

describe('tracker I/O path', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function tracker(): Promise<Tracker> {
    const t = await startTracker({ port: 0, host: '127.0.0.1', clock: manualClock() });
    cleanups.push(() => t.close());
    return t;
  }
  async function joined(t: Tracker, streamId: string): Promise<{ p: RawPeer; id: string; frames: string[] }> {
    const p = await rawPeer(t.url as string);
    cleanups.push(() => p.ws.terminate());
    const frames: string[] = [];
    p.ws.on('message', (d) => frames.push(String(d)));
    p.sendJson({ type: 'join', streamId });
    const id = (await p.next((m) => m.type === 'joined')).peerId as string;
    return { p, id, frames };
  }

  it('relays a signal as the exact text of { type, from, data }, and counts what it sent by type', async () => {
    const t = await tracker();
    const key = await generateStreamKey();
    const a = await joined(t, key.streamId);
    const b = await joined(t, key.streamId);
    await a.p.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === b.id));
    const data = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', n: [1, 2.5, null], nested: { ok: true, s: 'é€😀' } };
    a.p.sendJson({ type: 'signal', to: b.id, data });
    await b.p.next((m) => m.type === 'signal');
    expect(b.frames.find((x) => x.includes('"type":"signal"'))).toBe(JSON.stringify({ type: 'signal', from: a.id, data }));
    await until(() => (t.metrics.sent.get('neighbours') ?? 0) >= 2, 2000, 'neighbour lists counted');
    expect(t.metrics.sent.get('signal')).toBe(1);
    expect(t.metrics.sent.get('welcome')).toBe(2);
    expect(t.metrics.sent.get('joined')).toBe(2);
  });

  it('a peer gets its room messages in order: joined, stream, then its neighbour list', async () => {
    const t = await tracker();
    const key = await generateStreamKey();
    const a = await joined(t, key.streamId);
    const b = await joined(t, key.streamId);
    await b.p.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length > 0);
    const types = b.p.messages.map((m) => m.type);
    expect(types.indexOf('welcome')).toBe(0);
    expect(types.indexOf('joined')).toBeLessThan(types.indexOf('stream'));
    expect(types.indexOf('stream')).toBeLessThan(types.indexOf('neighbours'));
    expect(a.id).not.toBe(b.id);
  });
});

describe('tracker memory per connection', () => {
  it('does not keep the upgrade request (its headers) for the life of the connection', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const t = await startTracker({ server, clock: manualClock() });
    let req: WeakRef<http.IncomingMessage> | null = null;
    server.on('upgrade', (r: http.IncomingMessage) => (req = new WeakRef(r)));
    const { port } = server.address() as AddressInfo;
    const p = await rawPeer(`ws://127.0.0.1:${port}/tracker`, { 'x-padding': 'x'.repeat(1000) });
    try {
      await p.next((m) => m.type === 'welcome');
      p.sendJson({ type: 'join', streamId: (await generateStreamKey()).streamId });
      await p.next((m) => m.type === 'joined');
      expect(req).not.toBeNull();
      for (let i = 0; i < 6 && (req as WeakRef<object> | null)?.deref(); i++) {
        await new Promise((r) => setTimeout(r, 20));
        gc();
      }
      // The socket is open and joined: the tracker holds it, but nothing of the request it came with.
      expect(p.ws.readyState).toBe(p.ws.OPEN);
      expect((req as WeakRef<object> | null)?.deref()).toBeUndefined();
    } finally {
      p.ws.terminate();
      await t.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
