// Test page for cross-browser media checks: in one browser, encode a few seconds of the fake camera
// (video only) with the real broadcaster pipeline and hand out the init segment and fragments; in
// another, append those bytes to MSE and count the decoded frames. No network between browsers:
// the test carries the bytes.
import { MediaBroadcaster } from '../../src/broadcaster/media-broadcaster.ts';
import { FragmentAssembler } from '../../src/media/fragment-assembler.ts';
import { FRAME_INIT, type MediaFrame } from '../../src/media/frame-format.ts';
import { parseInitSegment } from '../../src/media/init-segment.ts';

const toB64 = (b: Uint8Array) => btoa(Array.from(b, (x) => String.fromCharCode(x)).join(''));
const fromB64 = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** Resolves true once `ok()` holds (checked at each of `events` and at the element's `error`), or false after `ms`. */
function until(video: HTMLVideoElement, ok: () => boolean, events: string[], ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (ok()) return resolve(true);
    const all = [...events, 'error'];
    const check = () => {
      if (ok() || video.error) done();
    };
    const done = () => {
      clearTimeout(timer);
      for (const e of all) video.removeEventListener(e, check);
      resolve(ok());
    };
    for (const e of all) video.addEventListener(e, check);
    const timer = setTimeout(done, ms);
  });
}

const api = {
  /** Encodes `seconds` of camera with the first codec of `codecs` this browser can; returns base64 init + fragments. */
  async encode(codecs: string[], seconds: number) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
    const b = new MediaBroadcaster({ video: { width: 320, height: 240, frameRate: 30, bitrateBps: 400_000, keyFrameIntervalS: 0.5, codecs: codecs as never }, audio: null });
    const frames: MediaFrame[] = [];
    b.on('frame', (f) => frames.push(f));
    await b.start(stream);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await b.stop();
    for (const t of stream.getTracks()) t.stop();
    const init = frames.find((f) => f.flags & FRAME_INIT)!;
    const assembler = new FragmentAssembler();
    assembler.pushFrame(init, 0);
    const fragments: string[] = [];
    for (const f of frames) {
      if (f.flags & FRAME_INIT) continue;
      assembler.pushFrame(f, 0);
      for (const o of assembler.poll(0, 0)) if (o.kind === 'fragment') fragments.push(toB64(o.fragment.bytes));
    }
    return { codec: b.stats.videoCodec, mimeType: parseInitSegment(init.bytes).mimeType, init: toB64(init.bytes), fragments };
  },
  /** Appends init + fragments to MSE, plays, and reports decoded frames and any error. */
  async play(init: string, fragments: string[]) {
    const video = document.getElementById('v') as HTMLVideoElement;
    const ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
    let appended = 0;
    const sb = ms.addSourceBuffer(parseInitSegment(fromB64(init)).mimeType);
    const append = (bytes: Uint8Array<ArrayBuffer>) =>
      new Promise<void>((resolve, reject) => {
        sb.addEventListener('updateend', () => resolve(), { once: true });
        sb.addEventListener('error', () => reject(new Error('append error')), { once: true });
        sb.appendBuffer(bytes);
        setTimeout(() => reject(new Error(`append not finished after 20 s (updating ${sb.updating})`)), 20_000);
      });
    let error: string | null = null;
    try {
      await append(fromB64(init));
      for (const f of fragments) {
        await append(fromB64(f));
        appended++;
      }
      ms.endOfStream();
    } catch (e) {
      error = `${String(e)} ${video.error?.message ?? ''}`;
    }
    // After a decode error the MediaSource closes and its SourceBuffer is removed: reading `buffered`
    // then throws InvalidStateError, so the range is read guarded and the error reported instead.
    const range = (): [number, number] | null => {
      try {
        return sb.buffered.length ? [sb.buffered.start(0), sb.buffered.end(sb.buffered.length - 1)] : null;
      } catch (e) {
        error ??= `${String(e)} ${video.error?.message ?? ''}`;
        return null;
      }
    };
    // Play only once the element can, as the player does (media-player.ts plays at readyState ≥ 2):
    // its metadata known, then the seek to the first buffered frame done and data at the playhead
    // (canplay). Each wait is bounded (5 s); what the element said at play() is reported.
    await until(video, () => video.readyState >= HTMLMediaElement.HAVE_METADATA, ['loadedmetadata'], 5000);
    video.currentTime = range()?.[0] ?? 0;
    await until(video, () => !video.seeking && video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA, ['seeked', 'canplay'], 5000);
    const atPlay = { readyState: video.readyState, networkState: video.networkState, seeking: video.seeking };
    await Promise.race([video.play().catch((e) => (error ??= String(e))), new Promise((r) => setTimeout(r, 5000))]);
    await new Promise((r) => setTimeout(r, 3000));
    return {
      error: error ?? video.error?.message ?? null,
      /** The media element's error (code 4: its source was found unplayable), if any. */
      mediaError: video.error ? { code: video.error.code, message: video.error.message } : null,
      atPlay,
      buffered: range(),
      currentTime: video.currentTime,
      decoded: video.getVideoPlaybackQuality().totalVideoFrames,
      appended,
      readyState: video.readyState,
    };
  },
};

declare global {
  interface Window {
    captureFrames: typeof api;
  }
}
window.captureFrames = api;
document.title = 'capture frames ready';
