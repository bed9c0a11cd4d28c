// The server's cluster branches, on the in-memory backend (two nodes in one process over one
// MemorySpace whose leases follow one manual clock; no redis-server, so these run in the mutation
// subsets): joins go to the stream's owner, signals only to neighbours the owner introduced
// (relayed through the neighbour's node), failed-pair reports and complaints only about current
// neighbours, and leaves reach the owner (a broadcaster's leave ends the stream, its dropped socket
// puts the viewers back to waiting). Real sockets on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { base64url, generateStreamKey, signBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import { MemorySpace, memoryBackend } from './memory-backend.ts';
import type { ClusterBackend } from './cluster-backend.ts';
import { publishProofBytes } from './messages.ts';
import type { Tracker } from './server.ts';
import { expectCountedCode, expectErrorMessageCode, manualClock, serverHarness, until, type ManualClock, type RawPeer } from './test-kit.ts';

const { tracker, raw } = serverHarness();
const BID = 'AAAAAAAAAAA';

/** Two nodes, `a` first (a stream's first join on `a` makes `a` its owner). */
async function twoNodes(): Promise<{ a: Tracker; b: Tracker; clock: ManualClock }> {
  const clock = manualClock();
  const space = new MemorySpace(() => clock.now());
  const node = async (nodeId: string) => (await tracker({ clock, cluster: { nodeId, backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } })).t;
  return { a: await node('n0'), b: await node('n1'), clock };
}

async function joined(t: Tracker, streamId: string, extra: Record<string, unknown> = {}): Promise<RawPeer & { id: string }> {
  const p = await raw(t);
  p.sendJson({ type: 'join', streamId, ...extra });
  const id = (await p.next((m) => m.type === 'joined')).peerId as string;
  return Object.assign(p, { id });
}

async function published(t: Tracker, key: StreamKeyPair, extra: Record<string, unknown> = {}): Promise<RawPeer & { id: string }> {
  const p = await raw(t);
  const nonce = Buffer.from(String(p.messages[0].nonce), 'base64url');
  const sig = await signBytes(key, publishProofBytes(nonce, key.streamId, BID, `127.0.0.1:${t.port}`));
  p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(sig), ...extra });
  const j = await p.next((m) => m.type === 'joined');
  expect(j.broadcaster).toBe(true);
  return Object.assign(p, { id: j.peerId as string });
}

/** A node's backend over `space` whose channel drops the owner's event batches while `held()` is true. */
function holdingBackend(space: MemorySpace, held: () => boolean): ClusterBackend {
  const inner = memoryBackend(space);
  return {
    kind: inner.kind,
    store: inner.store,
    get state() {
      return inner.state;
    },
    onState: (l) => inner.onState(l),
    onRoundTrip: (l) => inner.onRoundTrip(l),
    close: () => inner.close(),
    broker: {
      publish: (ch, m) => inner.broker.publish(ch, m),
      unsubscribe: (ch) => inner.broker.unsubscribe(ch),
      subscribe: (ch, h) => inner.broker.subscribe(ch, (m) => (held() && m.includes('"t":"ev"') ? undefined : h(m))),
    },
  };
}

/** A publish of `key`'s stream on `t` (the answer is not awaited). */
async function publishing(t: Tracker, key: StreamKeyPair, extra: Record<string, unknown> = {}): Promise<RawPeer> {
  const p = await raw(t);
  const nonce = Buffer.from(String(p.messages[0].nonce), 'base64url');
  const sig = await signBytes(key, publishProofBytes(nonce, key.streamId, BID, `127.0.0.1:${t.port}`));
  p.sendJson({ type: 'publish', streamId: key.streamId, publicKey: base64url(key.publicKeyBytes), broadcastId: BID, signature: base64url(sig), ...extra });
  return p;
}

/** The ids in the last neighbour list `p` received. */
const neighbourIds = (p: RawPeer): string[] => {
  const lists = p.messages.filter((m) => m.type === 'neighbours') as Array<{ neighbours: Array<{ peerId: string }> }>;
  return (lists.at(-1)?.neighbours ?? []).map((n) => n.peerId);
};
const knows = (p: RawPeer, id: string) => p.next((m) => m.type === 'neighbours' && (m.neighbours as Array<{ peerId: string }>).some((n) => n.peerId === id));

/**
 * Waits until the node has handled everything `p` sent so far (frames to one socket keep their
 * order): an unknown message type is sent and its error answer awaited. The clock moves past the
 * 200 ms error-reply throttle first.
 */
async function settle(p: RawPeer, clock: ManualClock): Promise<void> {
  await clock.advance(201);
  const since = p.messages.length;
  p.sendJson({ type: 'settle-probe' });
  await expectErrorMessageCode(p, 'UNKNOWN_TYPE', since);
}

describe('tracker cluster: the server’s side (in-memory backend)', () => {
  it('relays a signal to a neighbour on this node and through the other node, and refuses one to a peer not introduced (soft)', async () => {
    const { a, b, clock } = await twoNodes();
    const key = await generateStreamKey();
    const va = await joined(a, key.streamId);
    const vb = await joined(b, key.streamId);
    const va2 = await joined(a, key.streamId);
    await knows(va, vb.id);
    await knows(va, va2.id);
    va.sendJson({ type: 'signal', to: vb.id, data: { to: 'b' } });
    expect(await vb.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: va.id, data: { to: 'b' } });
    va.sendJson({ type: 'signal', to: va2.id, data: { to: 'a' } });
    expect(await va2.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: va.id, data: { to: 'a' } });
    // Only the signal to the other node's peer left node a; the one between its own peers did not.
    expect(a.cluster!.metrics.out.get('sig')).toBe(1);
    const stranger = await raw(a); // on the same node, in no stream
    va.sendJson({ type: 'signal', to: String(stranger.messages[0].peerId), data: {} });
    expect((await expectErrorMessageCode(va, 'NOT_NEIGHBOURS')).message).toBe('signals go only to peers the tracker introduced');
    await settle(va, clock);
    expect(va.ws.readyState).toBe(WebSocket.OPEN);
    expect(a.metrics.relayed).toBe(2);
  });

  it('takes a failed-pair report about a current neighbour to the owner, which unlinks the pair', async () => {
    const { a, b, clock } = await twoNodes();
    const key = await generateStreamKey();
    const va = await joined(a, key.streamId);
    const vb = await joined(b, key.streamId);
    await knows(vb, va.id);
    vb.sendJson({ type: 'failed', peerId: va.id });
    await settle(vb, clock);
    await until(() => !neighbourIds(vb).includes(va.id), 5000, 'pair unlinked');
    expect(neighbourIds(va)).not.toContain(vb.id);
  });

  it('answers a complaint about a peer that is no neighbour with NOT_NEIGHBOURS (soft); one about a neighbour is not refused', async () => {
    const { a, b, clock } = await twoNodes();
    const key = await generateStreamKey();
    const va = await joined(a, key.streamId);
    const vb = await joined(b, key.streamId);
    await knows(vb, va.id);
    vb.sendJson({ type: 'complaint', peerId: va.id, reason: 'withholding', key: 0 });
    await settle(vb, clock);
    expectCountedCode(b.metrics, 'NOT_NEIGHBOURS', 0);
    await clock.advance(1000); // one complaint per complaintIntervalMs
    const since = vb.messages.length;
    vb.sendJson({ type: 'complaint', peerId: 'peerZZZZZZZZZZZZ', reason: 'withholding' });
    expect((await expectErrorMessageCode(vb, 'NOT_NEIGHBOURS', since)).message).toBe('complaints go from a producer about a holder it uses');
    expectCountedCode(b.metrics, 'NOT_NEIGHBOURS', 1);
    expect(vb.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('takes a heartbeat to the owner: the upload it reports there gets its sender fed by the broadcaster', async () => {
    // Direct feed with no join trial and no minimum of fed viewers: fed only once it reported enough.
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    const room = { directMinFeeds: 0, joinFeedTrialMs: 0 };
    const node = async (nodeId: string) => (await tracker({ clock, room, cluster: { nodeId, backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } })).t;
    const [a, b] = [await node('n0'), await node('n1')];
    const key = await generateStreamKey();
    const caster = await published(a, key, { bitrateBps: 1e6 });
    const vb = await joined(b, key.streamId);
    await vb.next((m) => m.type === 'neighbours');
    await settle(vb, clock);
    const fedBy = () => (vb.messages.filter((m) => m.type === 'neighbours').at(-1)!.neighbours as Array<{ peerId: string; reasons: string[] }>).filter((n) => n.reasons.includes('broadcaster')).map((n) => n.peerId);
    expect(fedBy()).toEqual([]);
    vb.sendJson({ type: 'heartbeat', uploadBps: 1e6 });
    await until(() => fedBy().length > 0, 5000, 'fed');
    expect(fedBy()).toEqual([caster.id]);
  });

  it('takes leaves to the owner: a broadcaster on the other node that drops puts the stream back to waiting, its leave ends it', async () => {
    const { a, b } = await twoNodes();
    const key = await generateStreamKey();
    const va = await joined(a, key.streamId); // the first join: node a owns the stream
    expect(a.cluster!.ownedStreams()).toEqual([key.streamId]);
    const caster = await published(b, key);
    await va.next((m) => m.type === 'stream' && m.state === 'live');
    caster.ws.terminate();
    await va.next((m) => m.type === 'stream' && m.state === 'waiting');
    const caster2 = await published(b, key);
    const wasWaiting = va.messages.findIndex((m) => m.type === 'stream' && m.state === 'waiting');
    await va.next((m) => m.type === 'stream' && m.state === 'live' && va.messages.indexOf(m) > wasWaiting);
    caster2.sendJson({ type: 'leave' });
    await va.next((m) => m.type === 'stream' && m.state === 'ended');
  });

  it('replaces a peer that connects again with its secret to a node that does not own the stream; that node keeps serving it', async () => {
    const { a, b, clock } = await twoNodes();
    const key = await generateStreamKey();
    const va = await joined(a, key.streamId); // node a owns the stream
    const old = await joined(b, key.streamId, { peerSecret: 's'.repeat(22) });
    const again = await joined(b, key.streamId, { peerSecret: 's'.repeat(22) });
    expect(again.id).toBe(old.id);
    await expectErrorMessageCode(old, 'REPLACED');
    expect((await old.closed).reason).toBe('replaced');
    await clock.advance(1000, 5); // node b's room ticks and lease checks run
    await knows(va, again.id);
    va.sendJson({ type: 'signal', to: again.id, data: { hi: 1 } });
    expect(await again.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: va.id, data: { hi: 1 } });
    expect(b.stats()).toMatchObject({ peers: 1, streams: 0 });
  });

  it('refuses (soft) a signal to a neighbour listed on this node whose socket is gone before the owner’s new list came', async () => {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    const a = (await tracker({ clock, cluster: { nodeId: 'n0', backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } })).t;
    // Node b's channel holds back the owner's event batches while `hold` is set.
    let hold = false;
    const backend = holdingBackend(space, () => hold);
    const b = (await tracker({ clock, cluster: { nodeId: 'n1', backend } })).t;
    const key = await generateStreamKey();
    await joined(a, key.streamId); // node a owns the stream
    const vb = await joined(b, key.streamId);
    const vb2 = await joined(b, key.streamId);
    await knows(vb, vb2.id);
    hold = true;
    vb2.ws.terminate();
    await until(() => b.stats().peers === 1, 5000, 'vb2 gone from node b');
    const since = vb.messages.length;
    vb.sendJson({ type: 'signal', to: vb2.id, data: {} });
    expect((await expectErrorMessageCode(vb, 'NOT_NEIGHBOURS', since)).message).toBe('signals go only to peers the tracker introduced');
    expect(neighbourIds(vb)).toContain(vb2.id); // its list still named vb2
    expect(vb.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('refusing a complaint or a signal about a peer that is no neighbour is no offence (soft): with maxViolations 0 the socket stays', async () => {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    const node = async (nodeId: string) => (await tracker({ clock, limits: { maxViolations: 0 }, cluster: { nodeId, backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } })).t;
    const [a, b] = [await node('n0'), await node('n1')];
    const key = await generateStreamKey();
    const va = await joined(a, key.streamId);
    const vb = await joined(b, key.streamId);
    await knows(vb, va.id);
    vb.sendJson({ type: 'complaint', peerId: 'peerZZZZZZZZZZZZ', reason: 'corrupt' });
    vb.sendJson({ type: 'signal', to: 'peerZZZZZZZZZZZZ', data: {} });
    await until(() => b.metrics.rejected.get('NOT_NEIGHBOURS') === 2, 5000, 'both refused');
    // Still open at the tracker: a signal to it is relayed (a closing socket is sent nothing).
    va.sendJson({ type: 'signal', to: vb.id, data: { still: 'open' } });
    expect(await vb.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: va.id, data: { still: 'open' } });
  });
  it('gives a broadcaster its larger message budget at its join, before the owner on another node answers; a viewer the normal one', async () => {
    // The owner's answers never reach node b here: the budgets are those `enter` set, not the
    // ones a neighbour list sets later. Burst 5, the broadcaster's × 4; refilled for a second.
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    const limits = { socketRatePerSec: 1000, socketBurst: 5, broadcasterRateScale: 4, addressRatePerSec: 100_000, addressBurst: 100_000, maxViolations: 1000 };
    const a = (await tracker({ clock, limits, cluster: { nodeId: 'n0', backend: memoryBackend(space), leaseMs: 10_000, renewMs: 2000 } })).t;
    const b = (await tracker({ clock, limits, cluster: { nodeId: 'n1', backend: holdingBackend(space, () => true), leaseMs: 10_000, renewMs: 2000 } })).t;
    const key = await generateStreamKey();
    await joined(a, key.streamId); // node a owns the stream
    const viewer = await raw(b);
    viewer.sendJson({ type: 'join', streamId: key.streamId });
    const caster = await publishing(b, key);
    await until(() => b.stats().peers === 2, 5000, 'both entered on node b');
    expect(viewer.messages.some((m) => m.type === 'joined' || m.type === 'neighbours')).toBe(false);
    await clock.advance(1000);
    const probes = (p: RawPeer) => {
      for (let i = 0; i < 10; i++) p.sendJson({ type: 'probe' });
    };
    const handled = () => (b.metrics.rejected.get('UNKNOWN_TYPE') ?? 0) + (b.metrics.rejected.get('RATE_LIMITED') ?? 0);
    probes(caster);
    await until(() => handled() === 10, 5000, 'the broadcaster’s probes handled');
    expectCountedCode(b.metrics, 'RATE_LIMITED', 0); // 10 within its burst of 20
    probes(viewer);
    await until(() => handled() === 20, 5000, 'the viewer’s probes handled');
    expectCountedCode(b.metrics, 'RATE_LIMITED', 5); // 5 beyond its burst of 5
  });

  /**
   * A peer joins on node b while node a owns the stream, and the owner's answers never reach b.
   * Node a then stops without any cleanup; b takes the stream over and joins its peer again with
   * what b kept of the peer's join, as the first peer of the new room. The room restores (honours
   * claims for modeHoldMs) only when that first peer announced something: a joiner's claim of keys
   * 7, 9, 10 in holder mode shows whether it did.
   */
  async function claimAfterOwnerChange(announce: Record<string, unknown> | null): Promise<number[]> {
    const clock = manualClock();
    const space = new MemorySpace(() => clock.now());
    let hold = true;
    const cluster = { leaseMs: 3000, renewMs: 1000 };
    const a = (await tracker({ clock, cluster: { nodeId: 'n0', backend: memoryBackend(space), ...cluster } })).t;
    const b = (await tracker({ clock, cluster: { nodeId: 'n1', backend: holdingBackend(space, () => hold), ...cluster } })).t;
    const key = await generateStreamKey();
    await joined(a, key.streamId); // node a owns the stream
    const first = await raw(b);
    first.sendJson({ type: 'join', streamId: key.streamId, uploadBps: 8e6, ...(announce ? { announce } : {}) });
    await until(() => b.stats().peers === 1, 5000, 'the first peer entered on node b');
    a.cluster!.halt();
    hold = false;
    await clock.advance(5000, 5); // a's leases expire; b's renewals find the stream without owner
    await first.next((m) => m.type === 'joined');
    expect(b.cluster!.ownedStreams()).toEqual([key.streamId]);
    const caster = await publishing(b, key, { bitrateBps: 1e6, announce: { mode: 'holder' } });
    await caster.next((m) => m.type === 'joined');
    const claimer = await joined(b, key.streamId, { uploadBps: 8e6, announce: { holderKeys: [7, 9, 10] } });
    await settle(claimer, clock);
    const roles = claimer.messages.filter((m) => m.type === 'roles');
    return [...((roles[0]?.holderKeys as number[] | undefined) ?? [])].sort((x, y) => x - y);
  }

  it('joins its peers again at a new owner with what they announced: a mode alone restores the room there', async () => {
    expect(await claimAfterOwnerChange({ mode: 'holder' })).toEqual([7, 9, 10]);
  });

  it('joins its peers again at a new owner with what they announced: nothing announced, no restore (a joiner’s claim is not honoured)', async () => {
    expect(await claimAfterOwnerChange(null)).toEqual([]); // a joiner in probation gets no key at its join
  });
});
