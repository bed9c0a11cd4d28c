// Test page: media-chrome's controls (<media-controller> with <p2p-player slot="media">) driving the
// element, fed by the real in-page broadcaster pipeline through the session seam (no network).
import 'media-chrome';
import '../../src/player/define-p2p-player.ts';
import { setSessionConnector, type SessionRequest } from '../../src/player/p2p-player-element.ts';
import { MediaBroadcaster } from '../../src/broadcaster/media-broadcaster.ts';
import { openCapture } from '../../src/broadcaster/media-devices.ts';
import { FRAME_INIT } from '../../src/media/frame-format.ts';

const el = document.getElementById('p') as HTMLElementTagNameMap['p2p-player'];
const mc = document.getElementById('mc')!;
const events: string[] = [];
for (const type of ['enterpictureinpicture', 'leavepictureinpicture', 'error', 'ratechange', 'statuschange']) el.addEventListener(type, () => events.push(type));
const statuses: string[] = [];
let errorAtFailure: { code: number; message: string } | null = null;
el.addEventListener('statuschange', (e) => {
  const st = (e as CustomEvent<string>).detail;
  statuses.push(st);
  if (st === 'error' && el.error) errorAtFailure = { code: el.error.code, message: el.error.message };
});
const controllerErrorCodes: string[] = [];
new MutationObserver(() => {
  const v = mc.getAttribute('mediaerrorcode');
  if (v !== null) controllerErrorCodes.push(v);
}).observe(mc, { attributes: true, attributeFilter: ['mediaerrorcode'] });
let frameCallbacks = 0;
const pageErrors: string[] = [];
window.addEventListener('error', (e) => pageErrors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => pageErrors.push(String(e.reason)));

setSessionConnector((req: SessionRequest) => {
  const b = new MediaBroadcaster({ video: { width: 320, height: 240, frameRate: 30, bitrateBps: 400_000, keyFrameIntervalS: 0.5, codecs: ['avc', 'vp9'] }, audio: null });
  let stream: MediaStream | null = null;
  b.on('frame', (f) => req.player.pushFrame(f));
  void openCapture({ width: 320, height: 240, frameRate: 30, microphoneId: null }).then((s) => {
    stream = s;
    req.player.setStatus('playing');
    return b.start(s);
  });
  return {
    destroy() {
      void b.stop();
      for (const t of stream?.getTracks() ?? []) t.stop();
    },
  };
});

const click = (selector: string) => (mc.querySelector(selector)!.shadowRoot!.querySelector('button, [role=button]') as HTMLElement | null ?? mc.querySelector(selector) as HTMLElement).click();

const api = {
  state() {
    const s = el.seekable;
    return {
      status: el.status,
      currentTime: el.currentTime,
      duration: el.duration,
      seekable: s.length ? [s.start(0), s.end(s.length - 1)] : null,
      atLiveEdge: el.atLiveEdge,
      playbackRate: el.playbackRate,
      paused: el.paused,
      error: el.error ? { code: el.error.code, message: el.error.message } : null,
      controller: Object.fromEntries([...mc.attributes].filter((a) => a.name.startsWith('media')).map((a) => [a.name, a.value])),
      events: events.slice(),
      pageErrors: pageErrors.slice(),
      pip: document.pictureInPictureElement === el,
      frameCallbacks,
      statuses: statuses.slice(),
      errorAtFailure,
      controllerErrorCodes: controllerErrorCodes.slice(),
    };
  },
  surface() {
    return {
      poster: el.poster, innerPoster: el.video.poster, preload: el.preload, playsInline: el.playsInline, targetLatency: el.targetLatency,
      defaultMuted: el.defaultMuted, networkState: el.networkState, played: el.played.length, seeking: el.seeking,
      textTracks: el.textTracks.length, canPlay: el.canPlayType('video/mp4; codecs="avc1.42e01e"'), cannotPlay: el.canPlayType('video/x-nothing'),
      streamType: el.streamType, ownProps: Object.getOwnPropertyNames(el),
    };
  },
  frameCallback() {
    el.requestVideoFrameCallback(() => frameCallbacks++);
  },
  seekBack(seconds: number) {
    const s = el.seekable;
    el.currentTime = s.end(s.length - 1) - seconds;
  },
  click,
  async pip() {
    click('media-pip-button');
  },
  async leavePip() {
    if (document.pictureInPictureElement) await document.exitPictureInPicture();
  },
  badInit() {
    const bytes = new Uint8Array([0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 0, 0]);
    el.player!.pushFrame({ seq: 1e9, bytes, flags: FRAME_INIT, captureTimeMs: Date.now() });
  },
  remove() {
    el.remove();
  },
};

declare global {
  interface Window {
    chromeTest: typeof api;
  }
}
window.chromeTest = api;
document.title = 'media-chrome ready';
