// The HLS handler over real node:http on port 0: MIME types, CORS, cache headers, blocking playlist
// reload woken by new parts, 400 for bad delivery directives, 503 after the bounded wait, the hinted
// part held until it exists, 404s. Frames are ffmpeg-made fMP4 cut by the media layer's cutter.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { M3U8Parser } from 'hls.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MediaFrame } from '../media/frame-format.ts';
import { HlsHandler } from './hls-handler.ts';
import { LlHlsWriter } from './ll-hls-writer.ts';
import { checkLlHlsPlaylist } from './playlist-rules.ts';
import { asDelivered, cutFrames, fragmentsIn, makeTestFmp4, splitFmp4, type SplitFmp4 } from './test-media.ts';

let media: SplitFmp4;
beforeAll(() => {
  media = splitFmp4(makeTestFmp4({ seconds: 6 }));
});
const T0 = Date.UTC(2026, 0, 1);
const STREAM = 'abcDEF123_-';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function serve(handler: HlsHandler): Promise<string> {
  const server = http.createServer((req, res) => {
    if (!handler.handle(req, res)) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => {
    handler.close();
    server.closeAllConnections();
    server.close(() => r(undefined));
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A writer with fragments 0 … upTo fed, and a function to feed more. */
function writerUpTo(upTo: number) {
  const frames = cutFrames(media, T0);
  const w = new LlHlsWriter();
  let now = 0;
  let at = 0;
  const feedTo = (last: number, handler?: HlsHandler) => {
    while (at < frames.length && fragmentsIn(frames[at]).every((i) => i <= last)) {
      w.push(asDelivered(frames[at] as MediaFrame), (now += 100));
      at++;
    }
    handler?.notify(STREAM);
  };
  feedTo(upTo);
  return { w, feedTo };
}

describe('HlsHandler', () => {
  it('serves the playlist, init, segments and parts with MIME types, CORS and cache headers', async () => {
    const h = new HlsHandler();
    const { w } = writerUpTo(9); // segments 1, 2 closed; segment 3 has parts 0, 1
    h.setWriter(STREAM, w);
    const base = `${await serve(h)}/hls/${STREAM}`;
    const pl = await fetch(`${base}/index.m3u8`);
    expect(pl.status).toBe(200);
    expect(pl.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(pl.headers.get('cache-control')).toBe('no-cache');
    expect(pl.headers.get('access-control-allow-origin')).toBe('*');
    const text = await pl.text();
    expect(checkLlHlsPlaylist(text).violations).toEqual([]);
    const d = M3U8Parser.parseLevelPlaylist(text, `${base}/index.m3u8`, 0, 'main' as never, 0, null);
    expect(d.fragments.length).toBe(2);
    // Every URI in the playlist resolves on the server to the writer's bytes.
    for (const url of [d.fragments[0].initSegment!.url, ...d.fragments.map((f) => f.url), ...d.partList!.map((p) => p.url)]) {
      const r = await fetch(url);
      expect(r.status, url).toBe(200);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(r.headers.get('content-type')).toBe(url.endsWith('.mp4') ? 'video/mp4' : 'video/iso.segment');
      const body = new Uint8Array(await r.arrayBuffer());
      expect(Buffer.from(body).equals(Buffer.from(w.resource(url.split('/').pop()!)!.bytes))).toBe(true);
    }
    const head = await fetch(`${base}/seg-1.m4s`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(w.resource('seg-1.m4s')!.bytes.length);
    const pre = await fetch(`${base}/index.m3u8`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect((await fetch(`${base}/index.m3u8`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/seg-7.m4s`)).status).toBe(404);
    expect((await fetch(`${base.replace(STREAM, 'unknown')}/index.m3u8`)).status).toBe(404);
    expect(h.counters.notFound).toBe(2);
  });

  it('holds a blocking playlist request until the asked part exists, then answers with it', async () => {
    const h = new HlsHandler({ blockTimeoutMs: 60_000 });
    const { w, feedTo } = writerUpTo(5); // segment 2 has parts 0, 1
    h.setWriter(STREAM, w);
    const base = `${await serve(h)}/hls/${STREAM}`;
    const ready = await fetch(`${base}/index.m3u8?_HLS_msn=2&_HLS_part=1`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('cache-control')).toBe('public, max-age=6');
    let answered = false;
    const waiting = fetch(`${base}/index.m3u8?_HLS_msn=2&_HLS_part=3`).then(async (r) => {
      answered = true;
      return { status: r.status, text: await r.text() };
    });
    const hinted = fetch(`${base}/part-2-2.m4s`).then(async (r) => ({ status: r.status, bytes: new Uint8Array(await r.arrayBuffer()) }));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    feedTo(6, h); // part 2-2 appears: the hinted part request is answered, the playlist one still waits
    const part = await hinted;
    expect(part.status).toBe(200);
    expect(Buffer.from(part.bytes).equals(Buffer.from(media.fragments[6].bytes))).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    feedTo(7, h);
    const r = await waiting;
    expect(r.status).toBe(200);
    expect(r.text).toContain('URI="part-2-3.m4s"');
    expect(checkLlHlsPlaylist(r.text).violations).toEqual([]);
    expect(h.counters.blockingPlaylists).toBe(2);
  });

  it('answers 400 for bad delivery directives and 503 when the bounded wait runs out', async () => {
    const h = new HlsHandler({ blockTimeoutMs: 200 });
    const { w } = writerUpTo(5);
    h.setWriter(STREAM, w);
    const base = `${await serve(h)}/hls/${STREAM}`;
    for (const q of ['_HLS_part=1', '_HLS_msn=-1', '_HLS_msn=1.5', '_HLS_msn=x', '_HLS_msn=1&_HLS_part=a', '_HLS_msn=5', '_HLS_msn=2&_HLS_part=9']) {
      const r = await fetch(`${base}/index.m3u8?${q}`);
      expect(r.status, q).toBe(400);
    }
    const late = await fetch(`${base}/index.m3u8?_HLS_msn=3`);
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${base}/part-2-2.m4s`)).status).toBe(503); // hinted, never came
    expect((await fetch(`${base}/part-2-1.m4s`)).status).toBe(200);
    expect(h.counters.badRequests).toBe(7);
    expect(h.counters.timeouts).toBe(2);
  });

  it('asks the edge for an unknown stream and holds the first request until its playlist exists', async () => {
    const asked: string[] = [];
    const empty = writerUpTo(-1);
    const h = new HlsHandler({
      blockTimeoutMs: 60_000,
      onUnknownStream: (id) => {
        asked.push(id);
        h.setWriter(id, empty.w);
      },
    });
    const base = `${await serve(h)}/hls/${STREAM}`;
    const first = fetch(`${base}/index.m3u8`);
    await new Promise((r) => setTimeout(r, 100));
    expect(asked).toEqual([STREAM]);
    empty.feedTo(0, h);
    const r = await first;
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('part-1-0.m4s');
  });
});
