// Node peers end to end: a real tracker on port 0, a broadcaster and several Node peers over real
// WebRTC (@roamhq/wrtc through simple-peer), real codec and WebCrypto. Every peer must deliver
// every frame published once the swarm is up, byte for byte, verified against its signed manifest.
import { afterEach, describe, expect, it } from 'vitest';
import type { MediaFrame } from '../media/frame-format.ts';
import { startTracker } from '../tracker/server.ts';
import { NodeBroadcaster } from './node-broadcaster.ts';
import { formatStatsLine, NodePeer, parseWatchLink } from './node-peer.ts';
import { isP2PError } from '../errors.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('NodePeer', () => {
  it('parses watch links and rejects bad ones with BAD_CONFIG', () => {
    const id = 'A'.repeat(43);
    expect(parseWatchLink(`http://127.0.0.1:8080/watch/${id}`)).toEqual({ trackerUrl: 'ws://127.0.0.1:8080/tracker', streamId: id });
    expect(parseWatchLink(`https://tv.example/demo/embed.html?stream=${id}&tracker=wss://t.example/x`)).toEqual({ trackerUrl: 'wss://t.example/x', streamId: id });
    for (const bad of ['not a url', `ftp://x/watch/${id}`, 'http://x/watch/short']) {
      expect(() => parseWatchLink(bad)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
  });

  it('a broadcaster and four Node peers exchange a stream over WebRTC; every peer delivers every verified frame', async () => {
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', tickMs: 50 });
    cleanups.push(() => tracker.close());
    const trackerUrl = `ws://127.0.0.1:${tracker.port}`;
    const fast = { reconnectMinMs: 100, reconnectMaxMs: 400, statsIntervalMs: 100 };
    const b = await NodeBroadcaster.start({ trackerUrl, bitrateBps: 600_000, framesPerSec: 10, session: fast });
    cleanups.push(() => b.destroy());
    const watch = `http://127.0.0.1:${tracker.port}/watch/${b.key.streamId}`;
    const peers: Array<{ peer: NodePeer; frames: MediaFrame[] }> = [];
    for (let i = 0; i < 4; i++) {
      const peer = await NodePeer.start({ watchLink: watch, trackerUrl, session: fast });
      const entry = { peer, frames: [] as MediaFrame[] };
      peer.session.on('frame', (f) => entry.frames.push(f));
      cleanups.push(() => peer.destroy());
      peers.push(entry);
    }
    await until(() => b.session.stats.connected === 4 && peers.every((p) => p.peer.stats.peers >= 4), 'every link up', 30_000);
    // The stream key reaches each peer with its first neighbour; publish once all have it.
    b.publishNext();
    await until(() => peers.every((p) => p.peer.session.publicKey !== null), 'stream key everywhere');
    const sent: number[] = [];
    for (let i = 0; i < 30; i++) {
      sent.push(b.publishNext());
      await sleep(100);
    }
    await until(() => peers.every((p) => sent.every((seq) => p.frames.some((f) => f.seq === seq))), 'every frame at every peer', 20_000);
    for (const p of peers) {
      for (const seq of sent) {
        const got = p.frames.find((f) => f.seq === seq)!;
        expect(got.bytes).toEqual(b.expectedBytes(seq));
      }
      const s = p.peer.stats;
      expect(s.bans).toBe(0);
      expect(s.firstFrameMs).not.toBeNull();
      expect(formatStatsLine(s, 3)).toContain('frames');
    }
    // Viewers relay: some of the media every peer got came from other peers.
    expect(peers.some((p) => p.peer.stats.shareFromPeers > 0)).toBe(true);
  }, 60_000);

  it('refuses an upload limit below one media burst with BAD_CONFIG', async () => {
    const err = await NodePeer.start({ watchLink: `http://127.0.0.1:1/watch/${'A'.repeat(43)}`, uploadLimitBps: 100 }).catch((e: unknown) => e);
    expect(isP2PError(err, 'BAD_CONFIG')).toBe(true);
  });
});
