// TURN through a real coturn (Debian package `coturn`) with the REST shared secret: credentials
// made by the tracker's code pass coturn's check, a relay-only pair connects through it and moves
// datachannel messages, wrong credentials do not connect, and Node peers that take their ICE
// servers from the tracker get a stream relayed. Skipped (with a message) where coturn is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaFrame } from '../media/frame-format.ts';
import { startTracker } from '../tracker/server.ts';
import { IceIssuer } from '../tracker/turn-credentials.ts';
import { relaySignals } from '../transport/relay-signals.ts';
import type { WebRtcTransport } from '../transport/web-rtc-transport.ts';
import { coturnInstalled, startCoturn, type Coturn } from './coturn.ts';
import { NodeBroadcaster } from './node-broadcaster.ts';
import { NodePeer } from './node-peer.ts';
import { createNodeTransport } from './node-webrtc.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const installed = coturnInstalled();
if (!installed) console.warn('turn.test.ts skipped: coturn is not installed (apt-get install coturn)');

describe.skipIf(!installed)('TURN through coturn', () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn({ port: 20_000 + (process.pid % 10_000), minPort: 41000, maxPort: 41999 });
  });
  afterAll(async () => coturn?.stop());

  /** Two relay-only transports with credentials from the tracker's issuer (or a wrong secret). */
  function pair(secret: string): { a: WebRtcTransport; b: WebRtcTransport; stop: () => void } {
    const issuer = new IceIssuer({ turnUrls: [coturn.turnUrl], turnSecret: secret, ttlSec: 600 });
    const cfg = (peer: string) => ({ iceTransportPolicy: 'relay' as const, connectTimeoutMs: 4000, iceServers: issuer.issue({}, peer, Date.now()).iceServers });
    const a = createNodeTransport(cfg('peerAAAAAAAA'));
    const b = createNodeTransport(cfg('peerBBBBBBBB'));
    const unwire = relaySignals({ A: a, B: b });
    return { a, b, stop: () => { unwire(); a.destroy(); b.destroy(); } };
  }

  it('a relay-only pair with tracker-made credentials connects through coturn and exchanges messages', async () => {
    const { a, b, stop } = pair(coturn.secret);
    try {
      const got: Array<[string, number[]]> = [];
      b.on('message', (_p, channel, bytes) => got.push([channel, [...bytes]]));
      a.connect('B', { initiator: true });
      await new Promise<void>((resolve, reject) => {
        a.on('connected', () => resolve());
        a.on('failed', (_p, reason, detail) => reject(new Error(`${reason}: ${detail}`)));
      });
      a.send('B', 'control', new Uint8Array([1, 2, 3]));
      for (let i = 0; i < 20; i++) a.send('B', 'media', new Uint8Array(1000).fill(i));
      await until(() => got.some(([c]) => c === 'control') && got.some(([c]) => c === 'media'), 'messages through the relay', 10_000);
      expect(got.find(([c]) => c === 'control')![1]).toEqual([1, 2, 3]);
      const info = await a.linkInfo('B');
      expect(info?.relayed).toBe(true);
      expect(info?.localCandidateType).toBe('relay');
    } finally {
      stop();
    }
  });

  it('credentials made with another secret do not get through', async () => {
    const { a, stop } = pair('not-the-coturn-secret');
    try {
      a.connect('B', { initiator: true });
      const reason = await new Promise<string>((resolve) => {
        a.on('connected', () => resolve('connected'));
        a.on('failed', (_p, r) => resolve(r));
      });
      expect(reason).not.toBe('connected');
    } finally {
      stop();
    }
  });

  it('relay-only Node peers take their servers from the tracker and get a stream relayed', async () => {
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50, ice: { turnUrls: [coturn.turnUrl], turnSecret: coturn.secret, ttlSec: 600 } });
    const trackerUrl = `ws://127.0.0.1:${tracker.port}`;
    const fast = { reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
    const b = await NodeBroadcaster.start({ trackerUrl, bitrateBps: 400_000, transport: { iceTransportPolicy: 'relay' }, session: fast });
    const peers: Array<{ peer: NodePeer; frames: MediaFrame[] }> = [];
    try {
      for (let i = 0; i < 2; i++) {
        const peer = await NodePeer.start({ watchLink: `http://127.0.0.1:${tracker.port}/watch/${b.key.streamId}`, trackerUrl, relayOnly: true, session: fast });
        const entry = { peer, frames: [] as MediaFrame[] };
        peer.session.on('frame', (f) => entry.frames.push(f));
        peers.push(entry);
      }
      await until(() => peers.every((p) => p.peer.stats.peers >= 2), 'links up through the relay', 30_000);
      b.publishNext();
      await until(() => peers.every((p) => p.peer.session.publicKey !== null), 'stream key');
      const sent: number[] = [];
      for (let i = 0; i < 10; i++) {
        sent.push(b.publishNext());
        await sleep(100);
      }
      await until(() => peers.every((p) => sent.every((s) => p.frames.some((f) => f.seq === s))), 'frames through the relay');
      await until(() => peers.every((p) => p.peer.stats.relayedPeers >= 2 && p.peer.stats.relayedPeers === p.peer.stats.peers), 'stats say relayed', 5000);
    } finally {
      for (const p of peers) p.peer.destroy();
      b.destroy();
      await tracker.close();
    }
  }, 60_000);
});
