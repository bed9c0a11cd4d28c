// Follows the edge's frame feed (`/hls/<streamId>/frames-<seq>.bin`) over HTTP and hands every frame
// to a sink, in practice ViewerSession.addOutsideFrame, whose protocol core checks each frame's
// signature and digest before serving it to neighbours. A viewer playing from the edge runs it to
// hand what it gets over HTTP to the swarm. Each answer is read up to MAX_BUNDLE_BYTES at most;
// bad bundles are counted and the feed goes on after a pause. Uses fetch (browser or Node).

import type { Manifest } from '../protocol/wire.ts';
import { MAX_BUNDLE_BYTES, parseFrameBundle } from './frame-bundle.ts';

export interface HttpFrameFeedOptions {
  /** The stream's playlist URL (`…/hls/<streamId>/index.m3u8`); the feed lives beside it. */
  playlistUrl: string;
  /** Takes one frame as the edge sent it (unverified); returns whether the core took it for checking. */
  onFrame: (manifest: Manifest, frame: Uint8Array) => boolean;
  fetch?: typeof fetch;
  /** Pause after a failed or bad answer, ms. Default 1000. */
  retryMs?: number;
  /**
   * Each frame is handed to the sink this long after it arrived, ms. Default 0. A viewer whose swarm
   * may still deliver waits, so that a frame the swarm brings in time reaches its core from the swarm
   * (the sink then refuses the HTTP copy at once) and the feed fills only what the swarm missed.
   * A function is asked for each bundle (the wait can depend on whether the swarm delivers now).
   */
  delayMs?: number | (() => number);
  /**
   * Asked once, after the first (live) answer, with the newest sequence number in it: how many
   * positions behind that answer's next position the feed goes on from. Default 0 (the live frame on).
   * A viewer that plays from the feed asks for the frames its swarm did not bring before the switch.
   */
  rewind?: (liveSeq: number) => number;
}

export interface HttpFrameFeedStats {
  bundles: number;
  frames: number;
  /** Frames the sink refused at once (duplicates, out of window), or threw on (counted in sinkErrors too). */
  refused: number;
  sinkErrors: number;
  bytes: number;
  /** Answers that were not a well-formed bundle, or too large. */
  badBundles: number;
  errors: number;
}

export class HttpFrameFeed {
  readonly stats: HttpFrameFeedStats = { bundles: 0, frames: 0, refused: 0, sinkErrors: 0, bytes: 0, badBundles: 0, errors: 0 };
  readonly #base: string;
  readonly #opts: HttpFrameFeedOptions;
  #abort: AbortController | null = null;
  #running = false;
  #next: number | null = null;
  /** Frames waiting out `delayMs` (dropped by stop()). */
  readonly #held = new Set<ReturnType<typeof setTimeout>>();

  constructor(options: HttpFrameFeedOptions) {
    this.#opts = options;
    const u = new URL(options.playlistUrl);
    u.search = '';
    u.hash = '';
    this.#base = u.href.replace(/[^/]*$/, '');
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#next = null;
    void this.#loop();
  }

  stop(): void {
    this.#running = false;
    this.#abort?.abort();
    this.#abort = null;
    for (const t of this.#held) clearTimeout(t);
    this.#held.clear();
  }

  async #loop(): Promise<void> {
    const f = this.#opts.fetch ?? fetch;
    while (this.#running) {
      const ac = new AbortController();
      this.#abort = ac;
      let ok = false;
      try {
        const res = await f(`${this.#base}frames-${this.#next === null ? 'live' : this.#next}.bin`, { signal: ac.signal, cache: 'no-store' });
        if (res.status === 200) ok = await this.#take(res, this.#next === null);
        else {
          await res.body?.cancel();
          // 503: nothing new within the hold; 400: our sequence is too far ahead (start over live).
          if (res.status === 503) ok = true;
          else {
            if (res.status === 400) this.#next = null;
            this.stats.errors++;
          }
        }
      } catch {
        if (!this.#running) return;
        this.stats.errors++;
      }
      if (!ok && this.#running) await new Promise((r) => setTimeout(r, this.#opts.retryMs ?? 1000));
    }
  }

  async #take(res: Response, live: boolean): Promise<boolean> {
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_BUNDLE_BYTES || !res.body) {
      await res.body?.cancel();
      this.stats.badBundles++;
      return false;
    }
    const chunks: Uint8Array[] = [];
    let n = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > MAX_BUNDLE_BYTES) {
        await reader.cancel();
        this.stats.badBundles++;
        return false;
      }
      chunks.push(value);
    }
    const body = new Uint8Array(n);
    let o = 0;
    for (const c of chunks) {
      body.set(c, o);
      o += c.length;
    }
    this.stats.bytes += n;
    const r = parseFrameBundle(body);
    if (!r.ok || r.frames.length === 0) {
      this.stats.badBundles++;
      return false;
    }
    this.stats.bundles++;
    const d = this.#opts.delayMs ?? 0;
    const delay = typeof d === 'function' ? d() : d;
    for (const d of r.frames) {
      this.stats.frames++;
      if (delay <= 0) this.#hand(d.manifest, d.frame);
      else {
        const t = setTimeout(() => {
          this.#held.delete(t);
          if (this.#running) this.#hand(d.manifest, d.frame);
        }, delay);
        this.#held.add(t);
      }
    }
    // The next ask starts where the edge says its feed goes on (a made-up position only gets a 400,
    // after which the feed starts over live).
    this.#next = r.next;
    if (live && this.#opts.rewind) {
      let back = 0;
      try {
        back = this.#opts.rewind(Math.max(...r.frames.map((f) => f.manifest.seq)));
      } catch {
        // no rewind
      }
      if (Number.isInteger(back) && back > 0) this.#next = Math.max(0, r.next - back);
    }
    return true;
  }

  #hand(manifest: Manifest, frame: Uint8Array): void {
    let taken = false;
    try {
      taken = this.#opts.onFrame(manifest, frame);
    } catch {
      // a throwing sink refuses the frame; the feed goes on
      this.stats.sinkErrors++;
    }
    if (!taken) this.stats.refused++;
  }
}
