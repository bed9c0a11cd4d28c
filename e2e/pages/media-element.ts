// Test page for <p2p-player>: a session connector that feeds the element's player from the real
// in-page broadcaster pipeline (no network), standing where the swarm session will attach.
import '../../src/player/define-p2p-player.ts';
import { setSessionConnector, type SessionRequest } from '../../src/player/p2p-player-element.ts';
import { MediaBroadcaster } from '../../src/broadcaster/media-broadcaster.ts';
import { openCapture } from '../../src/broadcaster/media-devices.ts';

const events: string[] = [];
const requests: Array<{ tracker: string; stream: string }> = [];
let statsEvents = 0;
const a = document.getElementById('a')!;
for (const type of ['playing', 'timeupdate', 'statuschange']) a.addEventListener(type, () => events.includes(type) || events.push(type));
a.addEventListener('stats', () => statsEvents++);

const api = {
  connect() {
    setSessionConnector((req: SessionRequest) => {
      requests.push({ tracker: req.tracker, stream: req.stream });
      const b = new MediaBroadcaster({ video: { width: 320, height: 240, frameRate: 30, bitrateBps: 500_000, keyFrameIntervalS: 0.5, codecs: ['avc', 'vp9'] }, audio: null });
      let stream: MediaStream | null = null;
      b.on('frame', (f) => req.player.pushFrame(f));
      void openCapture({ width: 320, height: 240, frameRate: 30, microphoneId: null }).then((s) => {
        stream = s;
        req.player.setStatus('playing');
        req.player.setStats({ peers: 3, shareFromPeers: 0.9, bytesDown: 123456, bytesUp: 654321, framesOnTime: 1 });
        return b.start(s);
      });
      return {
        destroy() {
          void b.stop();
          for (const t of stream?.getTracks() ?? []) t.stop();
        },
      };
    });
  },
  state(id: string) {
    const el = document.getElementById(id) as HTMLElementTagNameMap['p2p-player'];
    const shadow = el.shadowRoot!;
    const stateBox = shadow.querySelector('.state') as HTMLElement;
    const overlay = shadow.querySelector('.overlay') as HTMLElement;
    return {
      upgraded: el.player !== undefined,
      status: el.status,
      stateText: stateBox.hidden ? '' : stateBox.textContent,
      overlayText: overlay.hidden ? null : overlay.querySelector('pre')!.textContent,
      currentTime: el.currentTime,
      paused: el.paused,
      muted: el.muted,
      volume: el.volume,
      targetLatency: el.targetLatency,
      decoded: el.getVideoPlaybackQuality().totalVideoFrames,
      events: events.slice(),
      statsEvents,
      requests: requests.slice(),
    };
  },
  setStatus(id: string, s: 'waiting-for-broadcaster' | 'ended' | 'tracker-unreachable' | 'no-peers' | 'playing') {
    (document.getElementById(id) as HTMLElementTagNameMap['p2p-player']).player!.setStatus(s);
  },
  destroy(id: string) {
    (document.getElementById(id) as HTMLElementTagNameMap['p2p-player']).destroy();
  },
};

declare global {
  interface Window {
    elementTest: typeof api;
  }
}
window.elementTest = api;
document.title = 'element ready';
