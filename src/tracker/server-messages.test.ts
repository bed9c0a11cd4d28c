// The tracker's message handler at the rules that only it applies (the mutation subset
// tracker:messages found them unguarded): a socket joins one stream once, a connection gets one
// publish attempt however it ended, a heartbeat carries renewed TURN credentials once half their
// lifetime passed. Real sockets on 127.0.0.1, a manual clock for the tracker's timers; the TURN
// lifetime is wall-clock time (coturn checks Unix time), so only Date is faked for that test.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { base64url, generateStreamKey, signBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import { publishProofBytes } from './messages.ts';
import type { Tracker } from './server.ts';
import { expectCountedCode, expectErrorMessageCode, serverHarness, until, type ManualClock, type RawPeer } from './test-kit.ts';

const { tracker, raw } = serverHarness();
const BID = 'AAAAAAAAAAA';

afterEach(() => {
  vi.useRealTimers();
});

/** A publish with a valid proof for this socket's nonce. */
async function sendPublish(t: Tracker, p: RawPeer, key: StreamKeyPair, extra: Record<string, unknown> = {}): Promise<void> {
  const nonce = Buffer.from(String(p.messages[0].nonce), 'base64url');
  const sig = await signBytes(key, publishProofBytes(nonce, key.streamId, BID, `127.0.0.1:${t.port}`));
  p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(sig), ...extra });
}

/**
 * Waits until the tracker has handled everything `p` sent so far and sent what that caused: a
 * message of an unknown type is sent and its error answer awaited (frames to one socket keep
 * their order, room fan-out included). The clock moves past the 200 ms error-reply throttle first;
 * a message answered with an error must have been handled before (else the probe's answer is throttled).
 */
async function settle(p: RawPeer, clock: ManualClock): Promise<void> {
  await clock.advance(201);
  const since = p.messages.length;
  p.sendJson({ type: 'settle-probe' });
  await p.next((m) => m.type === 'error' && m.code === 'UNKNOWN_TYPE' && p.messages.indexOf(m) >= since);
}

const idOf = (p: RawPeer) => p.messages.find((m) => m.type === 'joined')!.peerId as string;
/** The ids `p` was last told are its neighbours with `reason`. */
const neighboursWith = (p: RawPeer, reason: string): string[] => {
  const lists = p.messages.filter((m) => m.type === 'neighbours') as Array<{ neighbours: Array<{ peerId: string; reasons: string[] }> }>;
  return (lists.at(-1)?.neighbours ?? []).filter((n) => n.reasons.includes(reason)).map((n) => n.peerId);
};

describe('one stream per socket', () => {
  it('answers a second join and a publish after a join with ALREADY_JOINED, and the socket keeps its stream', async () => {
    const { t } = await tracker();
    const [a, b] = [await generateStreamKey(), await generateStreamKey()];
    const p = await raw(t);
    p.sendJson({ type: 'join', streamId: a.streamId });
    await p.next((m) => m.type === 'joined');
    p.sendJson({ type: 'join', streamId: b.streamId });
    await until(() => t.metrics.rejected.get('ALREADY_JOINED') === 1, 5000, 'second join refused');
    // A valid proof for another stream changes nothing either: the socket is a viewer of `a`.
    await sendPublish(t, p, b);
    await until(() => t.metrics.rejected.get('ALREADY_JOINED') === 2, 5000, 'publish after join refused');
    expectCountedCode(t.metrics, 'AUTH_FAILED', 0);
    expect(t.stats()).toEqual({ sockets: 1, peers: 1, streams: 1 });
    expect(p.messages.filter((m) => m.type === 'joined')).toHaveLength(1);
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('one publish attempt per connection', () => {
  it('refuses a second publish on a connection whose first, with a valid proof, was refused; the socket stays open', async () => {
    // The first publish verifies but the tracker is full (TOO_MANY_STREAMS): its nonce is spent.
    const { t, clock } = await tracker({ limits: { maxStreams: 1, maxWaitingStreams: 0 } });
    const [taken, mine] = [await generateStreamKey(), await generateStreamKey()];
    const owner = await raw(t);
    await sendPublish(t, owner, taken);
    await owner.next((m) => m.type === 'joined');
    const p = await raw(t);
    await sendPublish(t, p, mine);
    await expectErrorMessageCode(p, 'TOO_MANY_STREAMS');
    // The same valid proof again: one attempt per connection, refused without a check and without
    // closing (a failed proof check closes the socket with 1008).
    await clock.advance(201); // past the error-reply throttle
    const since = p.messages.length;
    await sendPublish(t, p, mine);
    expect((await expectErrorMessageCode(p, 'AUTH_FAILED', since)).message).toBe('one publish attempt per connection');
    expectCountedCode(t.metrics, 'AUTH_FAILED', 1);
    // Still open and usable: a join to the live stream is answered.
    p.sendJson({ type: 'join', streamId: taken.streamId });
    await p.next((m) => m.type === 'joined');
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('TURN credentials on heartbeat', () => {
  it('a heartbeat once half the credentials’ lifetime passed brings new ones; one before does not', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2026, 0, 1);
    vi.setSystemTime(start);
    const { t } = await tracker({ ice: { turnUrls: ['turn:192.0.2.1:3478'], turnSecret: 'north-wind-secret', ttlSec: 120 } });
    const key = await generateStreamKey();
    const p = await raw(t);
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    const ices = () => p.messages.filter((m) => m.type === 'ice') as Array<{ iceServers: Array<{ username?: string }> }>;
    expect(ices()).toHaveLength(1);
    vi.setSystemTime(start + 59_000);
    p.sendJson({ type: 'heartbeat', uploadBps: 1 });
    await until(() => t.metrics.messages.get('heartbeat') === 1, 5000, 'first heartbeat');
    vi.setSystemTime(start + 61_000);
    p.sendJson({ type: 'heartbeat', uploadBps: 1 });
    const renewed = (await p.next((m) => m.type === 'ice' && m !== ices()[0])) as { iceServers: Array<{ username?: string }> };
    expect(ices()).toHaveLength(2);
    // New credentials: their expiry is counted from the renewal.
    const expiry = (m: { iceServers: Array<{ username?: string }> }) => Number(m.iceServers.find((s) => s.username)!.username!.split(':')[0]);
    expect(expiry(renewed) - expiry(ices()[0])).toBe(61);
  });
});

describe('a peer’s upload figures reach its room', () => {
  // Direct feed with no join trial and no minimum of fed viewers: a viewer is fed by the
  // broadcaster only once it reported an upload of at least the stream's bitrate.
  const room = { directMinFeeds: 0, joinFeedTrialMs: 0 };
  // Room ticks never run (the tick period is never reached): what a viewer gets comes from its own message.
  const tickMs = 1e9;

  it('a join’s reported upload decides at once whether the broadcaster feeds the joiner', async () => {
    const { t, clock } = await tracker({ room, tickMs });
    const key = await generateStreamKey();
    const b = await raw(t);
    await sendPublish(t, b, key, { bitrateBps: 1e6 });
    await b.next((m) => m.type === 'joined');
    const strong = await raw(t);
    strong.sendJson({ type: 'join', streamId: key.streamId, uploadBps: 1e6 });
    const weak = await raw(t);
    weak.sendJson({ type: 'join', streamId: key.streamId, uploadBps: 1e6 - 1 });
    await settle(strong, clock);
    await settle(weak, clock);
    expect(neighboursWith(strong, 'broadcaster')).toEqual([idOf(b)]);
    expect(neighboursWith(weak, 'broadcaster')).toEqual([]);
  });

  it('a heartbeat’s reported upload is applied, and its room events sent, before the next room tick', async () => {
    const { t, clock } = await tracker({ room, tickMs });
    const key = await generateStreamKey();
    const b = await raw(t);
    await sendPublish(t, b, key, { bitrateBps: 1e6 });
    await b.next((m) => m.type === 'joined');
    const v = await raw(t);
    v.sendJson({ type: 'join', streamId: key.streamId });
    await settle(v, clock);
    expect(neighboursWith(v, 'broadcaster')).toEqual([]); // nothing reported: not fed
    v.sendJson({ type: 'heartbeat', uploadBps: 1e6 - 1 });
    await settle(v, clock);
    expect(neighboursWith(v, 'broadcaster')).toEqual([]);
    v.sendJson({ type: 'heartbeat', uploadBps: 1e6 });
    await settle(v, clock);
    expect(neighboursWith(v, 'broadcaster')).toEqual([idOf(b)]);
  });
});

describe('bytes counted and signals relayed', () => {
  it('counts the characters of every text frame received (p2p_tracker_received_bytes_total) and each relayed signal once', async () => {
    const { t } = await tracker();
    const key = await generateStreamKey();
    const a = await raw(t);
    const b = await raw(t);
    const sent: string[] = [];
    const send = (p: RawPeer, v: unknown) => {
      const text = JSON.stringify(v);
      sent.push(text);
      p.ws.send(text);
    };
    send(a, { type: 'join', streamId: key.streamId });
    send(b, { type: 'join', streamId: key.streamId });
    await b.next((m) => m.type === 'joined');
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 1);
    send(a, { type: 'signal', to: idOf(b), data: { sdp: 'é'.repeat(10) } });
    await b.next((m) => m.type === 'signal');
    send(b, { type: 'nope' });
    await expectErrorMessageCode(b, 'UNKNOWN_TYPE');
    expect(t.metrics.bytesIn).toBe(sent.reduce((n, s) => n + s.length, 0));
    expect(t.metrics.relayed).toBe(1);
  });
});

describe('the receiver’s signal backlog bound', () => {
  it('relays a signal to a receiver with exactly maxSignalBacklogBytes unsent (0 here: nothing unsent)', async () => {
    // More than the bound is dropped (limits.test.ts); at the bound the signal goes through.
    const { t } = await tracker({ limits: { maxSignalBacklogBytes: 0 } });
    const key = await generateStreamKey();
    const a = await raw(t);
    a.sendJson({ type: 'join', streamId: key.streamId });
    await a.next((m) => m.type === 'joined');
    const b = await raw(t);
    b.sendJson({ type: 'join', streamId: key.streamId });
    await b.next((m) => m.type === 'joined');
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 1);
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
    a.sendJson({ type: 'signal', to: idOf(b), data: { n: 1 } });
    expect((await b.next((m) => m.type === 'signal')).data).toEqual({ n: 1 });
    expectCountedCode(t.metrics, 'SIGNAL_DROPPED', 0);
  });
});

describe('complaints through the server', () => {
  it('hears a producer about a holder it produces from (and a key that holder holds); NOT_NEIGHBOURS (soft) for a key it does not hold or from a peer that does not produce from it', async () => {
    // Holder mode from 3 viewers; one holder takes all 11 keys; no probation.
    const room = { holderModeAtViewers: 3, directModeAtViewers: 1, holderProbationMs: 0, maxKeysPerHolder: 11 };
    const { t, clock } = await tracker({ room, tickMs: 1e9 });
    const key = await generateStreamKey();
    const b = await raw(t);
    await sendPublish(t, b, key, { bitrateBps: 1e6 });
    await b.next((m) => m.type === 'joined');
    const vs: RawPeer[] = [];
    for (let i = 0; i < 4; i++) {
      const v = await raw(t);
      v.sendJson({ type: 'join', streamId: key.streamId, uploadBps: 8e6 });
      await v.next((m) => m.type === 'joined');
      vs.push(v);
    }
    for (const v of vs) await settle(v, clock);
    type Entry = { peerId: string; reasons: string[]; holderKeys?: number[] };
    const lastList = (p: RawPeer) => (p.messages.filter((m) => m.type === 'neighbours').at(-1)?.neighbours ?? []) as Entry[];
    const producer = vs.find((v) => lastList(v).some((n) => n.reasons.includes('holder')))!;
    expect(producer).toBeDefined();
    const holder = lastList(producer).find((n) => n.reasons.includes('holder'))!;
    const held = holder.holderKeys!;
    expect(held.length).toBeGreaterThan(0);
    const stranger = vs.find((v) => v !== producer && idOf(v) !== holder.peerId && !lastList(v).some((n) => n.peerId === holder.peerId && n.reasons.includes('holder')))!;
    expect(stranger).toBeDefined();
    const notHeld = [...Array(256).keys()].find((k) => !held.includes(k))!;
    const complain = async (p: RawPeer, k: number) => {
      await clock.advance(1000); // one complaint per complaintIntervalMs
      const since = p.messages.length;
      const n = t.metrics.messages.get('complaint') ?? 0;
      p.sendJson({ type: 'complaint', peerId: holder.peerId, reason: 'withholding', key: k });
      await until(() => t.metrics.messages.get('complaint') === n + 1, 5000, 'complaint handled');
      await settle(p, clock); // its room events and error answer, if any, went out before the probe's
      return p.messages.slice(since).filter((m) => m.type === 'error').map((m) => m.code);
    };
    expect(await complain(producer, held[0])).toEqual(['UNKNOWN_TYPE']); // heard: only the probe's answer
    expect(await complain(producer, notHeld)).toEqual(['NOT_NEIGHBOURS', 'UNKNOWN_TYPE']);
    expect(await complain(stranger, held[0])).toEqual(['NOT_NEIGHBOURS', 'UNKNOWN_TYPE']);
    expect(producer.ws.readyState).toBe(WebSocket.OPEN);
    expectCountedCode(t.metrics, 'NOT_NEIGHBOURS', 2);
  });
});

describe('signals to peers that are not there', () => {
  it('answers a signal to an id no socket holds with NOT_NEIGHBOURS (soft), and the sender stays', async () => {
    const { t, clock } = await tracker();
    const key = await generateStreamKey();
    const a = await raw(t);
    a.sendJson({ type: 'join', streamId: key.streamId });
    await a.next((m) => m.type === 'joined');
    a.sendJson({ type: 'signal', to: 'peerZZZZZZZZZZZZ', data: {} });
    await expectErrorMessageCode(a, 'NOT_NEIGHBOURS');
    await settle(a, clock);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    expectCountedCode(t.metrics, 'INTERNAL', 0);
  });
});

describe('error answers say which rule refused the message', () => {
  it('names the rule in its refusals (not joined, joined already, not neighbours, signal budget, complaint rate) and closes a leaving socket with the reason "leave"', async () => {
    const { t, clock } = await tracker({ limits: { pairSignalBurst: 1, pairSignalRatePerSec: 0.001 } });
    const key = await generateStreamKey();
    const q = await raw(t);
    q.sendJson({ type: 'join', streamId: key.streamId });
    await q.next((m) => m.type === 'joined');
    const p = await raw(t);
    /** Sends `msg` and returns the text of its error answer, which must carry `code`. */
    const refusal = async (msg: unknown, code: string): Promise<string> => {
      await clock.advance(201); // past the error-reply throttle
      const since = p.messages.length;
      p.sendJson(msg);
      return String((await expectErrorMessageCode(p, code, since)).message);
    };
    expect(await refusal({ type: 'heartbeat' }, 'NOT_JOINED')).toBe('heartbeat before join');
    p.sendJson({ type: 'join', streamId: key.streamId });
    await p.next((m) => m.type === 'joined');
    await p.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 1);
    expect(await refusal({ type: 'join', streamId: key.streamId }, 'ALREADY_JOINED')).toBe('this socket already joined a stream');
    expect(await refusal({ type: 'publish', streamId: key.streamId, publicKey: 'AQ', broadcastId: BID, signature: 'x'.repeat(86) }, 'ALREADY_JOINED')).toBe('this socket already joined a stream');
    expect(await refusal({ type: 'signal', to: 'peerZZZZZZZZZZZZ', data: {} }, 'NOT_NEIGHBOURS')).toBe('signals go only to peers the tracker introduced');
    p.sendJson({ type: 'signal', to: idOf(q), data: {} }); // the pair's one signal
    await q.next((m) => m.type === 'signal');
    expect(await refusal({ type: 'signal', to: idOf(q), data: {} }, 'SIGNAL_BUDGET')).toBe('too many signals to this peer');
    expect(await refusal({ type: 'complaint', peerId: idOf(q), reason: 'corrupt' }, 'NOT_NEIGHBOURS')).toBe('complaints go from a producer about a holder it uses');
    expect(await refusal({ type: 'complaint', peerId: idOf(q), reason: 'corrupt' }, 'RATE_LIMITED')).toBe('one complaint per second');
    p.sendJson({ type: 'leave' });
    expect(await p.closed).toEqual({ code: 1000, reason: 'leave' });
  });
});

describe('soft refusals', () => {
  it('refusing a complaint about a peer it does not produce from is no offence: with maxViolations 0 the socket stays', async () => {
    const { t } = await tracker({ limits: { maxViolations: 0 } });
    const key = await generateStreamKey();
    const a = await raw(t);
    a.sendJson({ type: 'join', streamId: key.streamId });
    await a.next((m) => m.type === 'joined');
    const b = await raw(t);
    b.sendJson({ type: 'join', streamId: key.streamId });
    await b.next((m) => m.type === 'joined');
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as unknown[]).length === 1);
    a.sendJson({ type: 'complaint', peerId: idOf(b), reason: 'corrupt' });
    await until(() => t.metrics.rejected.get('NOT_NEIGHBOURS') === 1, 5000, 'complaint refused');
    // Still open at the tracker: a signal to it is relayed (a closing socket is sent nothing).
    b.sendJson({ type: 'signal', to: idOf(a), data: { still: 'open' } });
    expect(await a.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: idOf(b), data: { still: 'open' } });
  });
});

describe('failed-pair reports', () => {
  it('ignores a report about a peer that is no neighbour of the reporter: the two are linked later as any pair', async () => {
    // One neighbour each: a and b link; c, joining last, finds both full and has none.
    const { t, clock } = await tracker({ room: { neighbourTarget: 1, neighbourMax: 1 } });
    const key = await generateStreamKey();
    const [a, b, c] = [await raw(t), await raw(t), await raw(t)];
    for (const p of [a, b, c]) {
      p.sendJson({ type: 'join', streamId: key.streamId });
      await p.next((m) => m.type === 'joined');
    }
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === idOf(b)));
    a.sendJson({ type: 'failed', peerId: idOf(c) });
    await until(() => t.metrics.messages.get('failed') === 1, 5000, 'report handled');
    b.ws.terminate();
    await until(() => t.stats().peers === 2, 5000, 'b gone');
    await clock.advance(1000, 1); // room ticks: the two left without neighbours are linked
    await a.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === idOf(c)));
  });
});
