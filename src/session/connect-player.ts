// Browser glue between <p2p-player> and a ViewerSession: the session connector the element calls
// (WebRtcTransport, the page's WebSocket), verified frames into player.pushFrame, statuses into
// setStatus, swarm numbers into setStats. No protocol logic. Used by p2p-player-entry.ts and pages.

import { P2PError } from '../errors.ts';
import { setSessionConnector, type SessionConnector, type SessionRequest } from '../player/p2p-player-element.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { WebRtcTransport } from '../transport/web-rtc-transport.ts';
import type { SessionOptions } from './session-config.ts';
import { ViewerSession } from './viewer-session.ts';

/** Options for every player session on the page (ICE servers, core tuning). */
export interface PlayerSessionOptions {
  transport?: Partial<TransportConfig>;
  session?: Partial<Omit<SessionOptions, 'trackerUrl' | 'transport'>>;
}

/** Dispatched on the element once its session runs (detail: the ViewerSession), for pages and tests. */
export const SESSION_READY_EVENT = 'sessionready';

/** Makes the connector that gives each <p2p-player> its own ViewerSession. */
export function playerSessionConnector(options: PlayerSessionOptions = {}): SessionConnector {
  return (req: SessionRequest) => {
    let session: ViewerSession | null = null;
    let destroyed = false;
    req.player.setStatus('waiting-for-broadcaster');
    void ViewerSession.create({
      ...options.session,
      trackerUrl: req.tracker,
      streamId: req.stream,
      transport: new WebRtcTransport({ ...options.transport, ...(req.icePolicy === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}) }),
    }).then((s) => {
      if (destroyed) return s.destroy();
      session = s;
      s.on('frame', (f) => req.player.pushFrame(f));
      s.on('status', (st) => req.player.setStatus(st));
      s.on('stats', (st) => req.player.setStats({ peers: st.peers, shareFromPeers: st.shareFromPeers, bytesUp: st.bytesUp, bytesDown: st.bytesDown, framesOnTime: st.framesOnTime }));
      req.player.setStatus(s.status);
      req.element.dispatchEvent(new CustomEvent(SESSION_READY_EVENT, { detail: s }));
    }, (e: unknown) => {
      const err = e instanceof P2PError ? e : new P2PError('SESSION_FAILED', String(e));
      req.element.dispatchEvent(new CustomEvent('playererror', { detail: { code: err.code, message: err.message } }));
    });
    return {
      destroy() {
        destroyed = true;
        session?.destroy();
        session = null;
      },
    };
  };
}

/** Installs the swarm session for every <p2p-player> on the page. */
export function installPlayerSessions(options: PlayerSessionOptions = {}): void {
  setSessionConnector(playerSessionConnector(options));
}
