// Browser glue between the broadcast page's MediaBroadcaster and a BroadcastSession: listens for the
// page's 'p2p-broadcaster' window event, publishes every frame (frames made before the session is
// ready are held), ends the stream when the broadcaster stops, and reports swarm numbers back with
// 'p2p-broadcaster-stats' window events. No protocol logic. Used by demo/broadcast.ts.

import type { MediaBroadcaster } from '../broadcaster/media-broadcaster.ts';
import type { StreamKeyPair } from '../crypto/stream-key.ts';
import type { MediaFrame } from '../media/frame-format.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import { WebRtcTransport } from '../transport/web-rtc-transport.ts';
import { BroadcastSession } from './broadcast-session.ts';
import { splitTrackerList } from './session-config.ts';
import { signBytes } from '../crypto/stream-key.ts';
import { encodeRenditionBody, encodeRenditionMessage, renditionSignedBytes, renditionSwarmId, type RenditionInfo } from '../media/renditions.ts';

export interface BroadcastRequest {
  broadcaster: MediaBroadcaster;
  key: StreamKeyPair;
  tracker: string;
}

/**
 * The broadcaster hands each viewer a burst of feed packets per frame (up to 16 × 1033 bytes, the
 * core's mediaBudgetBytes): the channel must take that burst, or the transport drops the tail.
 */
export const BROADCASTER_TRANSPORT: Partial<TransportConfig> = { mediaHighWaterBytes: 20 * 1163, mediaLowWaterBytes: 4 * 1163 };

/** Runs a BroadcastSession for one MediaBroadcaster until it stops; resolves with the session. */
export async function attachBroadcastSession(req: BroadcastRequest, transport: Partial<TransportConfig> = {}): Promise<BroadcastSession> {
  const held: MediaFrame[] = [];
  const hold = (f: MediaFrame) => void held.push(f);
  req.broadcaster.on('frame', hold);
  const session = await BroadcastSession.create({
    ...splitTrackerList(req.tracker),
    key: req.key,
    transport: new WebRtcTransport({ ...BROADCASTER_TRANSPORT, ...transport }),
    bitrateBps: (req.broadcaster.config.video?.bitrateBps ?? 0) + (req.broadcaster.config.audio?.bitrateBps ?? 0) || undefined,
  });
  req.broadcaster.off('frame', hold);
  for (const f of held.splice(0)) session.publishFrame(f);
  req.broadcaster.on('frame', (f) => session.publishFrame(f));
  req.broadcaster.on('state', (s) => {
    if (s === 'stopped' || s === 'failed') void session.end();
  });
  if (req.broadcaster.lower.length > 0) await attachRenditions(req, session, transport);
  session.on('stats', (s) => {
    window.dispatchEvent(new CustomEvent('p2p-broadcaster-stats', {
      detail: {
        viewers: `${s.viewers} (${s.connected} linked, ${s.mode === 'direct' ? 'direct feed' : 'holders'})`,
        holders: String(s.holders),
        producers: String(s.producers),
        uploadRatio: s.streamBytes > 0 ? s.uploadRatio.toFixed(2) : '–',
        // Raw counters: the page counts upload / stream only while viewers watch.
        counters: { viewers: s.viewers, streamBytes: s.streamBytes, bytesUp: s.bytesUp },
      },
    }));
  });
  return session;
}

/**
 * A broadcaster with renditions: one more session per lower rendition, each publishing its own swarm
 * (renditionSwarmId(streamId, name)) with the same key, and the rendition list, signed with the key,
 * handed to every session to send to each neighbour.
 */
async function attachRenditions(req: BroadcastRequest, top: BroadcastSession, transport: Partial<TransportConfig>): Promise<BroadcastSession[]> {
  const all = [req.broadcaster, ...req.broadcaster.lower];
  const list: RenditionInfo[] = all.map((b) => ({ name: b.rendition!.name, height: b.rendition!.height, bitrateBps: b.rendition!.bitrateBps }));
  const body = encodeRenditionBody(top.broadcastId, list);
  const message = encodeRenditionMessage(body, await signBytes(req.key, renditionSignedBytes(req.key.streamId, body)));
  top.setRenditionMessage(message);
  const sessions: BroadcastSession[] = [];
  for (const b of req.broadcaster.lower) {
    const r = b.rendition!;
    const held: MediaFrame[] = [];
    const hold = (f: MediaFrame) => void held.push(f);
    b.on('frame', hold);
    const s = await BroadcastSession.create({
      ...splitTrackerList(req.tracker),
      key: req.key,
      transport: new WebRtcTransport({ ...BROADCASTER_TRANSPORT, ...transport }),
      bitrateBps: r.bitrateBps + (b.config.audio?.bitrateBps ?? 0),
      rendition: { name: r.name, swarmId: await renditionSwarmId(req.key.streamId, r.name) },
    });
    b.off('frame', hold);
    for (const f of held.splice(0)) s.publishFrame(f);
    b.on('frame', (f) => s.publishFrame(f));
    b.on('state', (st) => {
      if (st === 'stopped' || st === 'failed') void s.end();
    });
    s.setRenditionMessage(message);
    sessions.push(s);
  }
  return sessions;
}

/** Attaches a session to every broadcast the page starts (its 'p2p-broadcaster' window event). */
export function listenForBroadcasts(onSession?: (s: BroadcastSession, req: BroadcastRequest) => void): void {
  window.addEventListener('p2p-broadcaster', (e) => {
    const detail = (e as CustomEvent<BroadcastRequest>).detail;
    attachBroadcastSession(detail).then((s) => onSession?.(s, detail), (err: unknown) => console.error('broadcast session failed', err));
  });
}
