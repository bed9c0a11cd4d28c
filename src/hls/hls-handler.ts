// Serves the LL-HLS writers of the edge over HTTP: /hls/<streamId>/index.m3u8 (with blocking
// playlist reload, `_HLS_msn` / `_HLS_part`, RFC 8216bis 6.2.5.2), init segments, segments and
// parts (a request for the hinted next part is held until it exists), with MIME types, CORS and
// cache headers. The only I/O here is node:http; the writers stay pure. Mounted by `npm start --edge`.

import type http from 'node:http';
import { encodeFrameBundle, FRAME_BUNDLE_TYPE, MAX_BUNDLE_FRAMES, type FrameRing } from './frame-bundle.ts';
import type { LlHlsWriter } from './ll-hls-writer.ts';

const FRAMES_ROUTE = /^frames-(live|\d{1,10})\.bin$/;

export const HLS_PATH_PREFIX = '/hls/';
const ROUTE = /^\/hls\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_.-]{1,80})$/;
const MAX_URL = 2048;
/** Requests held at once over all streams; beyond it a blocking request is answered 503 at once. */
const MAX_WAITERS = 10_000;

export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';

export interface HlsHandlerConfig {
  /** Longest a blocking request is held, ms; by default three target durations (RFC 8216bis). */
  blockTimeoutMs?: number;
  /** Called for a stream without a writer; the edge may start one (join on demand) before the answer. */
  onUnknownStream?: (streamId: string) => void;
}

export interface HlsHandlerCounters {
  requests: number;
  playlists: number;
  blockingPlaylists: number;
  media: number;
  badRequests: number;
  notFound: number;
  timeouts: number;
  bytesOut: number;
  /** Frame bundles answered (`frames-<seq>.bin`), and their bytes (counted in bytesOut too). */
  frameBundles: number;
  frameBytesOut: number;
}

interface Waiter {
  check(): boolean;
  final(): void;
  timer: ReturnType<typeof setTimeout>;
}

export class HlsHandler {
  readonly counters: HlsHandlerCounters = { requests: 0, playlists: 0, blockingPlaylists: 0, media: 0, badRequests: 0, notFound: 0, timeouts: 0, bytesOut: 0, frameBundles: 0, frameBytesOut: 0 };
  #writers = new Map<string, LlHlsWriter>();
  #rings = new Map<string, FrameRing>();
  #waiters = new Map<string, Set<Waiter>>();
  #waiterCount = 0;
  #closed = false;

  constructor(readonly config: HlsHandlerConfig = {}) {}

  /** Publishes (or replaces) the writer of a stream. */
  setWriter(streamId: string, writer: LlHlsWriter): void {
    this.#writers.set(streamId, writer);
    this.notify(streamId);
  }

  /** Publishes (or replaces) the frame feed of a stream (`frames-<seq>.bin`); call notify when it grows. */
  setFrameRing(streamId: string, ring: FrameRing): void {
    this.#rings.set(streamId, ring);
    this.notify(streamId);
  }

  removeWriter(streamId: string): void {
    this.#writers.delete(streamId);
    this.#rings.delete(streamId);
    this.notify(streamId);
  }

  writer(streamId: string): LlHlsWriter | undefined {
    return this.#writers.get(streamId);
  }

  /** The writer of a stream changed: answer the requests it was holding that can be answered now. */
  notify(streamId: string): void {
    const set = this.#waiters.get(streamId);
    if (!set) return;
    for (const w of [...set]) if (w.check()) this.#dropWaiter(streamId, w);
  }

  /** Answers requests under /hls/; returns false for any other path. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = req.url ?? '';
    if (!url.startsWith(HLS_PATH_PREFIX)) return false;
    this.counters.requests++;
    if (url.length > MAX_URL) return this.#status(res, 414, 'URI too long'), true;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'access-control-max-age': '86400' });
      res.end();
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.#status(res, 405, 'method not allowed', { allow: 'GET, HEAD, OPTIONS' }), true;
    const q = url.indexOf('?');
    const route = ROUTE.exec(q < 0 ? url : url.slice(0, q));
    if (!route) return this.#notFound(res), true;
    const [, streamId, name] = route;
    const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const frames = FRAMES_ROUTE.exec(name);
    if (name === 'index.m3u8') this.#playlist(req, res, streamId, params);
    else if (frames) this.#frames(req, res, streamId, frames[1] === 'live' ? 'live' : Number(frames[1]));
    else this.#media(req, res, streamId, name);
    return true;
  }

  /** Answers every held request with 503 and stops holding new ones. */
  close(): void {
    this.#closed = true;
    for (const [streamId, set] of this.#waiters) {
      for (const w of [...set]) {
        this.#dropWaiter(streamId, w);
        w.final();
      }
    }
  }

  #playlist(req: http.IncomingMessage, res: http.ServerResponse, streamId: string, params: URLSearchParams): void {
    this.counters.playlists++;
    const msnRaw = params.get('_HLS_msn');
    const partRaw = params.get('_HLS_part');
    // RFC 8216bis 6.2.5.2: _HLS_part without _HLS_msn, or values that are not decimal integers: 400.
    if ((partRaw !== null && msnRaw === null) || (msnRaw !== null && !/^\d{1,12}$/.test(msnRaw)) || (partRaw !== null && !/^\d{1,6}$/.test(partRaw))) {
      this.counters.badRequests++;
      return this.#status(res, 400, 'bad _HLS_msn / _HLS_part');
    }
    const msn = msnRaw === null ? null : Number(msnRaw);
    const part = partRaw === null ? null : Number(partRaw);
    if (msn !== null) this.counters.blockingPlaylists++;
    const attempt = (final: boolean): boolean => {
      const w = this.#writers.get(streamId);
      if (!w) {
        if (!final) return false;
        this.#notFound(res);
        return true;
      }
      const text = w.playlist();
      if (text === null) {
        if (!final) return false;
        this.#timeout(res);
        return true;
      }
      if (msn !== null) {
        const state = w.blockingState(msn, part);
        if (state === 'bad-request') {
          this.counters.badRequests++;
          this.#status(res, 400, 'the requested segment or part is too far ahead');
          return true;
        }
        if (state === 'wait') {
          if (!final) return false;
          this.#timeout(res);
          return true;
        }
      }
      const cache = msn === null ? 'no-cache' : `public, max-age=${3 * w.targetDurationS}`;
      this.#send(req, res, PLAYLIST_TYPE, new TextEncoder().encode(text), cache);
      return true;
    };
    if (!this.#writers.has(streamId)) {
      try {
        this.config.onUnknownStream?.(streamId);
      } catch {
        // the edge's trouble; the answer is 404 below
      }
      if (!this.#writers.has(streamId)) return this.#notFound(res);
    }
    if (attempt(false)) return;
    this.#hold(req, res, streamId, () => attempt(false), () => attempt(true));
  }

  #media(req: http.IncomingMessage, res: http.ServerResponse, streamId: string, name: string): void {
    const attempt = (final: boolean): boolean => {
      const w = this.#writers.get(streamId);
      const r = w?.resource(name);
      if (r) {
        this.counters.media++;
        this.#send(req, res, r.contentType, r.bytes, 'public, max-age=31536000, immutable');
        return true;
      }
      const mayCome = w?.partMayCome(name) ?? false;
      if (!final && mayCome) return false;
      if (mayCome) this.#timeout(res);
      else this.#notFound(res);
      return true;
    };
    if (attempt(false)) return;
    // The hinted next part (or one just after it): held until the writer has it (RFC 8216bis 6.2.5.3).
    this.#hold(req, res, streamId, () => attempt(false), () => attempt(true));
  }

  /**
   * Verified frames with their signed manifests from position `at` of the edge's feed on (or the
   * newest init segment and frame: 'live'); held until one exists like a blocking playlist request.
   * 400 for a position more than MAX_BUNDLE_FRAMES past the next one, or beyond u32.
   */
  #frames(req: http.IncomingMessage, res: http.ServerResponse, streamId: string, at: number | 'live'): void {
    if (!this.#rings.has(streamId)) return this.#notFound(res);
    if (at !== 'live' && at > 0xffffffff) {
      this.counters.badRequests++;
      return this.#status(res, 400, 'position out of range');
    }
    const attempt = (final: boolean): boolean => {
      const ring = this.#rings.get(streamId);
      if (!ring) {
        this.#notFound(res);
        return true;
      }
      if (at !== 'live' && at > ring.next + MAX_BUNDLE_FRAMES) {
        this.counters.badRequests++;
        this.#status(res, 400, 'the requested position is too far ahead');
        return true;
      }
      const r = ring.from(at);
      if (r.frames.length === 0) {
        if (final) this.#timeout(res);
        return final;
      }
      const body = encodeFrameBundle(r.frames, r.next);
      this.counters.frameBundles++;
      if (req.method !== 'HEAD') this.counters.frameBytesOut += body.length;
      this.#send(req, res, FRAME_BUNDLE_TYPE, body, 'no-cache');
      return true;
    };
    if (attempt(false)) return;
    this.#hold(req, res, streamId, () => attempt(false), () => attempt(true));
  }

  #hold(req: http.IncomingMessage, res: http.ServerResponse, streamId: string, check: () => boolean, final: () => void): void {
    if (this.#closed || this.#waiterCount >= MAX_WAITERS) return this.#timeout(res);
    const td = this.#writers.get(streamId)?.targetDurationS ?? 2;
    const w: Waiter = {
      check,
      final,
      timer: setTimeout(() => {
        this.#dropWaiter(streamId, w);
        final();
      }, this.config.blockTimeoutMs ?? 3000 * td),
    };
    let set = this.#waiters.get(streamId);
    if (!set) this.#waiters.set(streamId, (set = new Set()));
    set.add(w);
    this.#waiterCount++;
    req.on('close', () => {
      if (!res.writableEnded) this.#dropWaiter(streamId, w);
    });
  }

  #dropWaiter(streamId: string, w: Waiter): void {
    const set = this.#waiters.get(streamId);
    if (!set?.delete(w)) return;
    clearTimeout(w.timer);
    this.#waiterCount--;
    if (set.size === 0) this.#waiters.delete(streamId);
  }

  #send(req: http.IncomingMessage, res: http.ServerResponse, type: string, body: Uint8Array, cache: string): void {
    if (res.writableEnded) return;
    res.writeHead(200, { ...CORS, 'content-type': type, 'content-length': String(body.length), 'cache-control': cache });
    if (req.method === 'HEAD') res.end();
    else {
      this.counters.bytesOut += body.length;
      res.end(body);
    }
  }

  #timeout(res: http.ServerResponse): void {
    this.counters.timeouts++;
    this.#status(res, 503, 'not available yet', { 'retry-after': '1' });
  }

  #notFound(res: http.ServerResponse): void {
    this.counters.notFound++;
    this.#status(res, 404, 'not found');
  }

  #status(res: http.ServerResponse, code: number, text: string, extra: Record<string, string> = {}): void {
    if (res.writableEnded) return;
    res.writeHead(code, { ...CORS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', ...extra });
    res.end(`${text}\n`);
  }
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'range, content-type',
  'access-control-expose-headers': 'content-length, content-type, age, date',
};
