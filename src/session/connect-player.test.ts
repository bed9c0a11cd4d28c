// The player's session connector when a session cannot start: an error that is not a P2PError
// (here the browser refusing to open the tracker's WebSocket, as it does for ws:// from an https
// page) reaches the element as `playererror` with SESSION_FAILED, and the half-started session
// leaves nothing running. RTCPeerConnection and WebSocket are stand-ins (Node has neither).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectReportedCode } from '../expect-code.ts';
import { MediaPlayer } from '../player/media-player.ts';
import type { SessionRequest } from '../player/p2p-player-element.ts';
import { playerSessionConnector } from './connect-player.ts';

const STREAM = 'A'.repeat(43);

class RefusedWebSocket {
  constructor() {
    throw new DOMException('An insecure WebSocket connection may not be initiated from a page loaded over HTTPS.', 'SecurityError');
  }
}

/** Runs the connector for one element; resolves with the first `playererror` detail. */
function connect(stream: string): { error: Promise<{ code: string; message: string }>; destroy(): void } {
  const element = new EventTarget();
  const error = new Promise<{ code: string; message: string }>((resolve) =>
    element.addEventListener('playererror', (e) => resolve((e as CustomEvent).detail), { once: true }));
  const connector = playerSessionConnector({ session: { WebSocket: RefusedWebSocket as never } });
  const player = new MediaPlayer();
  const handle = connector({ element, player, tracker: 'ws://127.0.0.1:9/tracker', stream, icePolicy: 'all' } as unknown as SessionRequest);
  return { error, destroy: () => (handle.destroy(), player.destroy()) };
}

describe('playerSessionConnector when the session cannot start', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('reports SESSION_FAILED for an error that is not a P2PError, and leaves no timer running', async () => {
    vi.stubGlobal('RTCPeerConnection', function RTCPeerConnection() {});
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const c = connect(STREAM);
    const detail = await c.error;
    expectReportedCode(detail, 'SESSION_FAILED');
    expect(detail.message).toContain('SecurityError');
    expect(vi.getTimerCount()).toBe(0);
    c.destroy();
  });

  it('passes a P2PError through with its own code', async () => {
    vi.stubGlobal('RTCPeerConnection', function RTCPeerConnection() {});
    const c = connect('not-a-stream-id');
    expectReportedCode(await c.error, 'BAD_CONFIG');
    c.destroy();
  });
});
