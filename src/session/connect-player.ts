// Browser glue between <p2p-player> and a ViewerSession: the session connector the element calls
// (WebRtcTransport, the page's WebSocket), verified frames into player.pushFrame, statuses into
// setStatus, swarm numbers into setStats. No protocol logic. Used by p2p-player-entry.ts and pages.

import { P2PError } from '../errors.ts';
import { setSessionConnector, type SessionConnector, type SessionRequest } from '../player/p2p-player-element.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { WebRtcTransport } from '../transport/web-rtc-transport.ts';
import { splitTrackerList, type SessionOptions } from './session-config.ts';
import { ViewerSession } from './viewer-session.ts';
import { RenditionSwitcher } from './rendition-switcher.ts';

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
    let switcher: RenditionSwitcher | null = null;
    req.player.setStatus('waiting-for-broadcaster');
    const transport = () => new WebRtcTransport({ ...options.transport, ...(req.icePolicy === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}) });
    let first = true;
    try {
      switcher = new RenditionSwitcher({
        player: req.player,
        streamId: req.stream,
        quality: req.quality,
        downlinkBps: browserDownlinkBps,
        makeSession: (swarmId, extra) => ViewerSession.create({ ...options.session, ...splitTrackerList(req.tracker), streamId: swarmId, ...extra, ...(req.streamKey ? { streamKey: req.streamKey } : {}), transport: transport() }),
        onActive: (s) => {
          // Status and swarm numbers come from the session that plays (one rendition's swarm).
          s.on('status', (st) => s === switcher?.active && req.player.setStatus(st));
          s.on('stats', (st) => s === switcher?.active && req.player.setStats({ peers: st.peers, shareFromPeers: st.shareFromPeers, bytesUp: st.bytesUp, bytesDown: st.bytesDown, mediaBytesDown: st.mediaBytesDown, framesOnTime: st.framesOnTime }));
          req.player.setStatus(s.status);
          if (first) req.element.dispatchEvent(new CustomEvent(SESSION_READY_EVENT, { detail: s }));
          first = false;
        },
        onError: (e: unknown) => {
          const err = e instanceof P2PError ? e : new P2PError('SESSION_FAILED', String(e));
          req.element.dispatchEvent(new CustomEvent('playererror', { detail: { code: err.code, message: err.message } }));
        },
      });
    } catch (e) {
      const err = e instanceof P2PError ? e : new P2PError('SESSION_FAILED', String(e));
      req.element.dispatchEvent(new CustomEvent('playererror', { detail: { code: err.code, message: err.message } }));
    }
    return {
      destroy() {
        switcher?.destroy();
        switcher = null;
      },
      setQuality(q: string) {
        switcher?.setQuality(q);
      },
      get qualities() {
        return switcher?.qualities ?? [];
      },
      // Frames from the edge's frame feed while HTTP plays go to the playing rendition's session.
      outside: {
        add: (manifest, frame) => switcher?.active?.addOutsideFrame(manifest, frame) ?? false,
        linked: () => {
          const s = switcher?.active;
          return !!s && s.publicKey !== null && s.connectedPeers > 0;
        },
        taken: () => switcher?.active?.core.stats.outsideFrames ?? 0,
        // The edge serves the top rendition's swarm: only its session can check the edge's frames.
        verifiable: () => {
          const s = switcher?.active;
          return !!s && s.publicKey !== null && s.streamId === req.stream;
        },
        resumeSeq: () => switcher?.active?.resumeFrameSeq ?? null,
        streamKey: () => switcher?.active?.publicKey ?? null,
      },
    };
  };
}

/** The browser's download estimate (Network Information API), bits per second; null where there is none. */
function browserDownlinkBps(): number | null {
  const c = (globalThis.navigator as { connection?: { downlink?: number } } | undefined)?.connection;
  return c && typeof c.downlink === 'number' && c.downlink > 0 ? c.downlink * 1e6 : null;
}

/** Installs the swarm session for every <p2p-player> on the page. */
export function installPlayerSessions(options: PlayerSessionOptions = {}): void {
  setSessionConnector(playerSessionConnector(options));
}
