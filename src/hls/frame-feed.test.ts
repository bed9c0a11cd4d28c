// The edge's frame feed (`frames-<seq>.bin`): the bundle format against hostile bytes, the ring's
// bounds, and the route end to end: an HTTP viewer's feed hands the edge's frames to a protocol core
// that checks each against the broadcaster's key and delivers exactly the frames the edge verified.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec } from '../codec/index.ts';
import { createCryptoRunner } from '../protocol/crypto-jobs.ts';
import { PeerCore } from '../protocol/peer-core.ts';
import { MANIFEST_BODY_BYTES, type Manifest } from '../protocol/wire.ts';
import {
  encodeFrameBundle, FRAME_BUNDLE_TYPE, FrameRing, MAX_BUNDLE_BYTES, MAX_BUNDLE_FRAME_BYTES, MAX_BUNDLE_FRAMES, parseFrameBundle,
} from './frame-bundle.ts';
import { HttpFrameFeed } from './http-frame-feed.ts';
import { startEdgeRig, type EdgeRig } from './test-edge-rig.ts';
import { makeTestFmp4, splitFmp4, type SplitFmp4 } from './test-media.ts';

const manifest = (seq: number, length: number, flags = 0): Manifest => ({
  seq, length, captureTimeMs: 1000 + seq, flags, broadcastId: new Uint8Array(8).fill(7),
  digest: new Uint8Array(32).fill(seq & 0xff), signature: new Uint8Array(64).fill(9),
});
const frame = (seq: number, length: number, flags = 0) => ({ manifest: manifest(seq, length, flags), frame: new Uint8Array(length).fill(seq & 0xff) });

describe('frame bundles (hostile bytes)', () => {
  it('round-trips and refuses truncation, trailing bytes, a bad version, too many frames and bad manifests', () => {
    const list = [frame(1, 100), frame(2, 5000, 1)];
    const b = encodeFrameBundle(list, 77);
    expect(b.length).toBe(7 + 2 * MANIFEST_BODY_BYTES + 5100);
    const r = parseFrameBundle(b);
    expect(r).toEqual({ ok: true, next: 77, frames: list });
    expect(parseFrameBundle(b.subarray(0, b.length - 1))).toEqual({ ok: false, reason: 'frame truncated' });
    expect(parseFrameBundle(b.subarray(0, 7 + 50))).toEqual({ ok: false, reason: 'manifest body truncated' });
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect(parseFrameBundle(longer)).toEqual({ ok: false, reason: 'bytes after the last frame' });
    const v2 = b.slice();
    v2[0] = 2;
    expect(parseFrameBundle(v2).ok).toBe(false);
    const many = b.slice();
    many[1] = MAX_BUNDLE_FRAMES + 1;
    expect(parseFrameBundle(many)).toEqual({ ok: false, reason: 'too many frames in a bundle' });
    const zeroLength = b.slice();
    new DataView(zeroLength.buffer).setUint32(7 + 4, 0, true);
    expect(parseFrameBundle(zeroLength)).toEqual({ ok: false, reason: 'manifest length out of range' });
    const hugeLength = b.slice();
    new DataView(hugeLength.buffer).setUint32(7 + 4, 65537, true);
    expect(parseFrameBundle(hugeLength)).toEqual({ ok: false, reason: 'manifest length out of range' });
    expect(parseFrameBundle(new Uint8Array(6)).ok).toBe(false);
    expect(parseFrameBundle(new Uint8Array(3 << 20)).ok).toBe(false);
    expect(parseFrameBundle(Uint8Array.of(1, 0, 0, 5, 0, 0, 0))).toEqual({ ok: true, next: 5, frames: [] });
  });

  it('the ring keeps the newest frames in delivery order within its bounds and answers at most a bundle\'s worth', () => {
    const ring = new FrameRing({ maxFrames: 100, maxBytes: 3 << 20 });
    ring.push(frame(0, 500, 2), true);
    for (let s = 1; s <= 150; s++) ring.push(frame(s, 30_000), false);
    ring.push(frame(150, 10), false); // a sequence kept already is ignored
    ring.push(frame(152, 100), false); // delivered before 151 (a smaller frame decodes sooner)
    ring.push(frame(151, 100), false);
    expect(ring.size).toBe(100);
    expect(ring.next).toBe(153);
    expect(ring.from(0).frames[0].manifest.seq).toBe(53); // older than kept: from the oldest kept
    const burst = ring.from(60);
    expect(burst.frames.length).toBe(Math.floor(MAX_BUNDLE_FRAME_BYTES / 30_000));
    expect(burst.frames.map((d) => d.manifest.seq)).toEqual(Array.from({ length: burst.frames.length }, (_, i) => 60 + i));
    expect(burst.next).toBe(60 + burst.frames.length);
    // In delivery order, so a reader that goes on from `next` misses neither.
    expect(ring.from(151).frames.map((d) => d.manifest.seq)).toEqual([152, 151]);
    expect(ring.from(153)).toEqual({ frames: [], next: 153 });
    // live: the newest init segment (kept aside, whatever the ring dropped) and the newest frame.
    expect(ring.from('live').frames.map((d) => d.manifest.seq)).toEqual([0, 151]);
    const small = new FrameRing({ maxFrames: 1000, maxBytes: 100_000 });
    for (let s = 0; s < 10; s++) small.push(frame(s, 30_000), false);
    expect(small.size).toBe(3);
    const tiny = new FrameRing();
    for (let s = 0; s < 200; s++) tiny.push(frame(s, 10), false);
    expect(tiny.from(0).frames.length).toBe(MAX_BUNDLE_FRAMES);
  });
});

describe('HttpFrameFeed against a hostile edge', () => {
  it('reads no answer past the bundle bound, hands on nothing of a bad bundle, and follows the position it is given', async () => {
    const asked: string[] = [];
    let turn = 0;
    const server = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      const t = turn++;
      if (t === 0) {
        // Larger than any bundle, without a content-length: streamed until the reader gives up.
        res.writeHead(200);
        const chunk = new Uint8Array(1 << 16);
        let sent = 0;
        const more = (): void => {
          while (sent <= MAX_BUNDLE_BYTES + (1 << 17)) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        res.on('error', () => {});
        more();
      } else if (t === 1) {
        res.writeHead(200);
        res.end(Buffer.from('not a bundle'));
      } else {
        res.writeHead(200);
        res.end(encodeFrameBundle([frame(5, 100)], 4242));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const got: number[] = [];
    const feed = new HttpFrameFeed({ playlistUrl: `http://127.0.0.1:${port}/hls/s/index.m3u8`, retryMs: 20, onFrame: (m) => (got.push(m.seq), true) });
    try {
      feed.start();
      for (let i = 0; i < 400 && asked.length < 4; i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      feed.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    expect(feed.stats.badBundles).toBe(2);
    expect(feed.stats.bytes).toBeLessThan(MAX_BUNDLE_BYTES + 1 + 16); // the oversized one is not counted as read
    expect(asked.slice(0, 4)).toEqual(['/hls/s/frames-live.bin', '/hls/s/frames-live.bin', '/hls/s/frames-live.bin', '/hls/s/frames-4242.bin']);
    expect(got[0]).toBe(5); // well formed, so handed on: the core's checks decide (never the feed)
  });
});

describe('HttpFrameFeed with a delay (a viewer whose swarm may still deliver)', () => {
  it('hands each frame on only after delayMs, and stop() drops the frames still held', async () => {
    let seq = 0;
    const server = http.createServer((req, res) => {
      res.writeHead(200);
      res.end(encodeFrameBundle([frame(seq++, 100)], seq));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const playlistUrl = `http://127.0.0.1:${port}/hls/s/index.m3u8`;
    try {
      // A long delay: fetched, not handed on; stopped, never handed on.
      const held: number[] = [];
      const slow = new HttpFrameFeed({ playlistUrl, delayMs: 60_000, onFrame: (m) => (held.push(m.seq), true) });
      slow.start();
      for (let i = 0; i < 400 && slow.stats.frames < 2; i++) await new Promise((r) => setTimeout(r, 5));
      slow.stop();
      expect(slow.stats.frames).toBeGreaterThanOrEqual(2);
      expect(held).toEqual([]);
      await new Promise((r) => setTimeout(r, 50));
      expect(held).toEqual([]);
      // A short one: handed on, in the order fetched; a refusal is counted.
      const got: number[] = [];
      const fast = new HttpFrameFeed({ playlistUrl, delayMs: 20, onFrame: (m) => (got.push(m.seq), got.length > 1) });
      fast.start();
      for (let i = 0; i < 400 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      fast.stop();
      expect(got.length).toBeGreaterThanOrEqual(3);
      expect(got).toEqual([...got].sort((x, y) => x - y));
      expect(fast.stats.refused).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

let media: SplitFmp4;
beforeAll(() => {
  media = splitFmp4(makeTestFmp4({ seconds: 6 }));
});
let rig: EdgeRig | null = null;
afterEach(async () => {
  await rig?.stop();
  rig = null;
});

describe('the frame feed route (real swarm, real HTTP)', () => {
  it('serves the verified frames with their signed manifests; an HTTP viewer\'s core checks and takes each', async () => {
    rig = await startEdgeRig(media);
    const edgeFrames = new Map<number, Uint8Array>();
    rig.edgeSession!.on('delivered', (d) => edgeFrames.set(d.manifest.seq, d.frame));
    const publicKey = rig.edgeSession!.publicKey!;
    expect(publicKey).toBeTruthy();
    const base = `${rig.baseUrl}/hls/${rig.streamId}`;
    // A core with no links at all: everything it delivers came over HTTP and passed its own checks.
    const core = new PeerCore({ peerId: 'http-viewer', codec: createReferenceCodec() });
    const run = createCryptoRunner({ publicKeyBytes: publicKey, streamId: rig.streamId });
    const delivered: Array<{ manifest: Manifest; frame: Uint8Array }> = [];
    const drain = (): void => {
      for (let o = core.pollOutput(); o; o = core.pollOutput()) {
        if (o.type === 'crypto') void run(o.job).then((r) => (core.handleCryptoResult(r, performance.now()), drain()));
        else if (o.type === 'frame') delivered.push({ manifest: o.manifest, frame: o.frame });
      }
    };
    const feed = new HttpFrameFeed({
      playlistUrl: `${base}/index.m3u8?x=1`,
      onFrame: (m, f) => {
        const ok = core.handleOutsideFrame(m, f, performance.now());
        drain();
        return ok;
      },
    });
    feed.start();
    await rig.done;
    await new Promise((r) => setTimeout(r, 800));
    feed.stop();
    expect(feed.stats.badBundles).toBe(0);
    expect(feed.stats.bundles).toBeGreaterThan(3);
    expect(delivered.length).toBeGreaterThan(10);
    expect(core.stats.outsideRefused).toBe(0);
    expect(core.stats.outsideFrames).toBe(delivered.length);
    for (const d of delivered) expect(d.frame).toEqual(edgeFrames.get(d.manifest.seq));
    // The feed began live (the init segment first), then followed every frame after it.
    const seqs = delivered.map((d) => d.manifest.seq).sort((a, b) => a - b);
    expect(delivered[0].manifest.flags & 2).toBe(2);
    const newest = Math.max(...edgeFrames.keys());
    expect(seqs[seqs.length - 1]).toBe(newest);
    expect(seqs.filter((s) => s >= seqs[1]).length).toBe(newest - seqs[1] + 1);
    expect(rig.edge.handler.counters.frameBundles).toBe(feed.stats.bundles);

    // The route's answers: type, CORS, HEAD, bounds.
    const r = await fetch(`${base}/frames-0.bin`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(FRAME_BUNDLE_TYPE);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const again = parseFrameBundle(new Uint8Array(await r.arrayBuffer()));
    expect(again.ok && again.frames.length).toBeGreaterThan(0);
    const next = again.ok ? again.next : 0;
    expect((await fetch(`${base}/frames-0.bin`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/frames-${next + MAX_BUNDLE_FRAMES + 100}.bin`)).status).toBe(400);
    expect((await fetch(`${base}/frames-99999999999.bin`)).status).toBe(404); // 11 digits: no such route
    expect((await fetch(`${base}/frames-4294967296.bin`)).status).toBe(400);
    expect((await fetch(`${base}/frames--1.bin`)).status).toBe(404);
    expect((await fetch(`${rig.baseUrl}/hls/nostream/frames-live.bin`)).status).toBe(404);
  }, 40_000);

  it('holds a request for the next frame until the edge has it', async () => {
    rig = await startEdgeRig(splitFmp4(makeTestFmp4({ seconds: 8 })));
    for (let i = 0; i < 200 && rig.edge.streams[0].framesIn < 3; i++) await new Promise((r) => setTimeout(r, 25));
    rig.pause();
    await new Promise((r) => setTimeout(r, 700));
    const live = parseFrameBundle(new Uint8Array(await (await fetch(`${rig.baseUrl}/hls/${rig.streamId}/frames-live.bin`)).arrayBuffer()));
    expect(live.ok).toBe(true);
    const next = live.ok ? live.next : 0;
    const before = new Set(live.ok ? live.frames.map((d) => d.manifest.seq) : []);
    let answered = false;
    const held = fetch(`${rig.baseUrl}/hls/${rig.streamId}/frames-${next}.bin`).then(async (r) => {
      answered = true;
      return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) };
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(answered).toBe(false);
    rig.resume();
    const got = await held;
    expect(got.status).toBe(200);
    const b = parseFrameBundle(got.body);
    expect(b.ok && b.frames.length).toBeGreaterThan(0);
    expect(b.ok && b.frames.every((d) => !before.has(d.manifest.seq))).toBe(true);
    expect(b.ok && b.next).toBe(next + (b.ok ? b.frames.length : 0));
  }, 30_000);
});
