// Tracker client for browsers and Node: one socket to the tracker, join or publish (with the stream
// key proof), heartbeats, signalling, and reconnect with backoff + jitter that re-announces held
// roles and neighbours. Imports no Node module and no `ws`: callers pass a WebSocket constructor
// (the browser global by default). Used by the session layer, the demo pages and tracker tests.

import { P2PError } from '../errors.ts';
import { base64url, fromBase64url, signBytes, type StreamKeyPair } from '../crypto/stream-key.ts';
import {
  BROADCAST_ID_RE,
  LIMITS,
  parseServerMessage,
  publishProofBytes,
  type IceServerInfo,
  type NeighbourInfo,
  type RoleEntry,
  type StreamState,
  type SwarmMode,
  type ComplaintReason,
  utf8Length,
} from '../tracker/messages.ts';

/** Complaints leave at most this often (the tracker takes one a second per socket, with a margin for jitter). */
export const COMPLAINT_SPACING_MS = 1100;
/** Complaints waiting for their turn at most (one per holder). */
const MAX_QUEUED_COMPLAINTS = 16;

/** The part of the WebSocket API the client uses; the browser global and `ws` both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface TrackerClientConfig {
  /** ws:// or wss:// URL of the tracker. */
  url: string;
  /**
   * Further URLs of the same tracker cluster (its other nodes). Each reconnect tries the next URL
   * of [url, ...urls] in turn, so a peer whose node died joins a surviving one.
   */
  urls?: string[];
  streamId: string;
  /** WebSocket constructor; default: globalThis.WebSocket. Node callers pass `ws`'s WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Given: publish the stream as its broadcaster (the key proves it). */
  broadcasterKey?: StreamKeyPair;
  /** Broadcaster: stream bitrate, bits per second. */
  bitrateBps?: number;
  /** Broadcaster of a lower rendition: its name; `streamId` is then the rendition's swarm id. */
  rendition?: string;
  /**
   * Broadcaster: this go-live's id, base64url of 8 bytes (11 characters). Default: drawn at random
   * when the client is made, so one client is one go-live; it is re-published after reconnects.
   */
  broadcastId?: string;
  /** Keeps the peer id across reconnects and tracker restarts. Default: made once per client. */
  peerSecret?: string;
  /** Measured upload, bits per second; sent with join and heartbeats. */
  uploadBps?: number;
  /** True when this peer's connections are relayed (TURN). */
  relayed?: boolean;
  /** Reconnect delay: doubles from min to max, each draw jittered to between half and all of it. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Random source for jitter and the peer secret (default Math.random / WebCrypto). */
  random?: () => number;
}

export interface TrackerClientEvents {
  joined: { peerId: string; broadcaster: boolean };
  /** `broadcastId`: the current go-live's id, as the broadcaster published it (absent before any). */
  stream: { state: StreamState; mode: SwarmMode; broadcastId: string | null };
  neighbours: { neighbours: NeighbourInfo[]; added: NeighbourInfo[]; removed: string[] };
  roles: { holderKeys: number[]; producerGroups: number[]; leaseMs: number };
  swarm: { mode: SwarmMode; viewers: number; holders: RoleEntry[]; producers: RoleEntry[] };
  signal: { from: string; data: unknown };
  /** STUN/TURN servers from the tracker (sent on join, renewed before the credentials expire). */
  ice: { iceServers: IceServerInfo[]; ttlMs: number };
  error: P2PError;
  disconnected: { code: number; reason: string; reconnectInMs: number | null };
}

type Listener<T> = (value: T) => void;

export class TrackerClient {
  readonly config: Readonly<TrackerClientConfig>;
  peerId: string | null = null;
  state: StreamState | null = null;
  mode: SwarmMode | null = null;
  /** The stream's current go-live id (the broadcaster's own from the start), or null. */
  broadcastId: string | null = null;
  neighbours: NeighbourInfo[] = [];
  holderKeys: number[] = [];
  producerGroups: number[] = [];
  /** The last STUN/TURN servers the tracker handed out (empty until then). */
  iceServers: IceServerInfo[] = [];
  private ws: WebSocketLike | null = null;
  private readonly listeners = new Map<keyof TrackerClientEvents, Set<Listener<never>>>();
  private readonly secret: string;
  private heartbeatMs = 5000;
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  /** Index in [url, ...urls] of the URL of the current (or next) connection. */
  private urlIndex = 0;
  private destroyed = false;
  private left = false;
  private maxSignalBytes: number = LIMITS.maxSignalBytes;
  private uploadBps: number | undefined;
  private measuredUploadBps: number | undefined;
  private uploadLimitedShare: number | undefined;
  /** The measured upload last sent, and when the last heartbeat went. */
  private sentUpload: { bps: number; limited: number | undefined } | null = null;
  private lastBeatMs = -Infinity;
  private relayed: boolean | undefined;
  /** Complaints waiting for their turn (holder id → message), and when the last one went. */
  private readonly complaints = new Map<string, string>();
  private complaintTimer: ReturnType<typeof setTimeout> | null = null;
  private lastComplaintMs = -Infinity;

  constructor(config: TrackerClientConfig) {
    for (const u of [config.url, ...(config.urls ?? [])]) if (!/^wss?:\/\//.test(u)) throw new P2PError('BAD_CONFIG', `tracker url must be ws:// or wss://, got ${u}`);
    const Ctor = config.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new P2PError('BAD_CONFIG', 'no WebSocket constructor: pass config.WebSocket');
    this.config = { reconnectMinMs: 500, reconnectMaxMs: 15000, ...config, WebSocket: Ctor };
    this.secret = config.peerSecret ?? base64url(this.randomBytes(18));
    if (config.broadcasterKey) {
      this.broadcastId = config.broadcastId ?? base64url(this.randomBytes(8));
      if (!BROADCAST_ID_RE.test(this.broadcastId)) throw new P2PError('BAD_CONFIG', `broadcastId must be base64url of 8 bytes (11 characters), got ${this.broadcastId}`);
    }
    this.uploadBps = config.uploadBps;
    this.relayed = config.relayed;
    // A closing page's socket is torn down some 0.3–0.6 s after its peer connections (which the
    // transport closes on pagehide); closing it here too lets the tracker hand its roles on at
    // once. A page kept in the back-forward cache reconnects when it is shown again.
    if (typeof globalThis.addEventListener === 'function') globalThis.addEventListener('pagehide', this.onPageHide);
  }

  private onPageHide = (): void => {
    this.ws?.close(1000, 'page hidden');
  };

  /** Subscribes to an event; returns the unsubscribe function. A throwing listener is isolated. */
  on<K extends keyof TrackerClientEvents>(event: K, fn: Listener<TrackerClientEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set.delete(fn as Listener<never>);
  }

  /** Opens the socket (again). Called once by the owner; reconnects happen on their own. */
  connect(): void {
    if (this.destroyed || this.left) return;
    this.clearTimers();
    const ws = new (this.config.WebSocket as WebSocketConstructor)(this.url);
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws === ws) void this.onText(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.onClosed(ev?.code ?? 1006, ev?.reason ?? '');
    };
    ws.onerror = () => {};
  }

  /** The tracker URL of the current (or next) connection. */
  get url(): string {
    return this.urlIndex === 0 ? this.config.url : (this.config.urls as string[])[this.urlIndex - 1];
  }

  /** True while the socket is open and joined. */
  get connected(): boolean {
    return this.ws !== null && this.ws.readyState === 1 && this.peerId !== null;
  }

  /** Relays a signal to a neighbour. Returns false (and sends nothing) when not connected or too big. */
  signal(to: string, data: unknown): boolean {
    if (!this.connected) return false;
    const text = JSON.stringify({ type: 'signal', to, data });
    if (utf8Length(text) > this.maxSignalBytes + 100) {
      this.emit('error', new P2PError('SIGNAL_TOO_LARGE', `signal to ${to} over ${this.maxSignalBytes} bytes`));
      return false;
    }
    this.sendRaw(text);
    return true;
  }

  /** Reports that the connection to a neighbour failed; the tracker will not introduce the pair again. */
  reportFailed(peerId: string): void {
    if (this.connected) this.sendRaw(JSON.stringify({ type: 'failed', peerId }));
  }

  /**
   * A producer's complaint about a holder whose seeds it uses: they do not come (`withholding`) or
   * do not verify (`corrupt`), with the evidence (key, newest frame, frames). The tracker moves a
   * holder's keys when producers of enough networks complain. It takes one a second per socket (a
   * faster one is refused and counted as a violation), so complaints wait their turn here: one per
   * COMPLAINT_SPACING_MS, at most MAX_QUEUED_COMPLAINTS waiting (one per holder; the oldest dropped).
   */
  complain(peerId: string, reason: ComplaintReason, evidence: { key?: number; seq?: number; frames?: number } = {}): void {
    if (!this.connected) return;
    this.complaints.delete(peerId);
    this.complaints.set(peerId, JSON.stringify({ type: 'complaint', peerId, reason, ...evidence }));
    while (this.complaints.size > MAX_QUEUED_COMPLAINTS) this.complaints.delete(this.complaints.keys().next().value as string);
    this.sendComplaints();
  }

  private sendComplaints(): void {
    if (this.complaintTimer || this.complaints.size === 0) return;
    const wait = this.lastComplaintMs + COMPLAINT_SPACING_MS - Date.now();
    if (wait > 0) {
      this.complaintTimer = setTimeout(() => {
        this.complaintTimer = null;
        this.sendComplaints();
      }, wait);
      return;
    }
    const [peerId, text] = this.complaints.entries().next().value as [string, string];
    this.complaints.delete(peerId);
    if (!this.connected) return;
    this.lastComplaintMs = Date.now();
    this.sendRaw(text);
    this.sendComplaints();
  }

  /**
   * Updates the measurements sent with the heartbeats. A measured upload that changed much since
   * the last one sent (the first; a factor of 1.5 either way; the limited share crossing 0.25, where
   * the tracker tells a lower bound from a capacity) goes out at once, at most once a second: the
   * tracker gives roles only on measurement and moves them off a peer that falls behind, and a
   * peer without roles heartbeats only every 15 s.
   */
  setStats(stats: { uploadBps?: number; measuredUploadBps?: number; uploadLimitedShare?: number; relayed?: boolean }): void {
    if (stats.uploadBps !== undefined) this.uploadBps = stats.uploadBps;
    if (stats.measuredUploadBps !== undefined) this.measuredUploadBps = stats.measuredUploadBps;
    if (stats.uploadLimitedShare !== undefined) this.uploadLimitedShare = stats.uploadLimitedShare;
    if (stats.relayed !== undefined) this.relayed = stats.relayed;
    const m = this.measuredUploadBps;
    if (m === undefined || this.peerId === null || !this.connected || Date.now() - this.lastBeatMs < 1000) return;
    const was = this.sentUpload;
    const limited = (x: number | undefined) => (x ?? 1) > 0.25;
    const moved = !was || m > was.bps * 1.5 || m < was.bps / 1.5 || limited(was.limited) !== limited(this.uploadLimitedShare);
    if (!moved) return;
    this.sendHeartbeat();
    this.scheduleHeartbeat();
  }

  /** Leaves the stream for good (a broadcaster ends it) and closes the socket. */
  leave(): void {
    if (this.connected) this.sendRaw('{"type":"leave"}');
    this.left = true;
    this.clearTimers();
    this.ws?.close(1000, 'leave'); // the close event then reports `disconnected` with no reconnect
  }

  destroy(): void {
    if (typeof globalThis.removeEventListener === 'function') globalThis.removeEventListener('pagehide', this.onPageHide);
    this.destroyed = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'destroy');
    this.listeners.clear();
  }

  // ---- internals ----------------------------------------------------------------------------

  private emit<K extends keyof TrackerClientEvents>(event: K, value: TrackerClientEvents[K]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        (fn as Listener<TrackerClientEvents[K]>)(value);
      } catch {
        // A listener's bug must not break the client.
      }
    }
  }

  private sendRaw(text: string): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(text);
  }

  private randomBytes(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor((this.config?.random ?? Math.random)() * 256);
    return bytes;
  }

  private stats() {
    return { ...(this.uploadBps !== undefined ? { uploadBps: this.uploadBps } : {}), ...(this.measuredUploadBps !== undefined ? { measuredUploadBps: this.measuredUploadBps } : {}), ...(this.uploadLimitedShare !== undefined ? { uploadLimitedShare: this.uploadLimitedShare } : {}), ...(this.relayed !== undefined ? { relayed: this.relayed } : {}) };
  }

  private announce() {
    const a: Record<string, unknown> = {};
    if (this.holderKeys.length) a.holderKeys = this.holderKeys;
    if (this.producerGroups.length) a.producerGroups = this.producerGroups;
    if (this.neighbours.length) a.neighbours = this.neighbours.slice(0, LIMITS.maxAnnouncedNeighbours).map((n) => n.peerId);
    if (this.config.broadcasterKey && this.mode) a.mode = this.mode;
    return Object.keys(a).length ? { announce: a } : {};
  }

  private async onText(data: unknown): Promise<void> {
    if (typeof data !== 'string') return this.emit('error', new P2PError('BAD_MESSAGE', 'tracker sent a binary frame'));
    let m;
    try {
      m = parseServerMessage(data);
    } catch (e) {
      return this.emit('error', e as P2PError);
    }
    const c = this.config;
    switch (m.type) {
      case 'welcome': {
        this.heartbeatMs = m.heartbeatMs || 5000;
        this.maxSignalBytes = m.maxSignalBytes;
        const base = { streamId: c.streamId, peerSecret: this.secret, ...this.stats(), ...this.announce() };
        if (this.measuredUploadBps !== undefined) this.sentUpload = { bps: this.measuredUploadBps, limited: this.uploadLimitedShare };
        if (c.broadcasterKey) {
          const origin = new URL(this.url).host;
          const broadcastId = this.broadcastId as string;
          const sig = await signBytes(c.broadcasterKey, publishProofBytes(fromBase64url(m.nonce), c.streamId, broadcastId, origin));
          this.sendRaw(JSON.stringify({ type: 'publish', ...base, publicKey: base64url(c.broadcasterKey.publicKeyBytes), broadcastId, signature: base64url(sig), ...(c.bitrateBps ? { bitrateBps: c.bitrateBps } : {}), ...(c.rendition !== undefined ? { rendition: c.rendition } : {}) }));
        } else {
          this.sendRaw(JSON.stringify({ type: 'join', ...base }));
        }
        return;
      }
      case 'joined':
        this.peerId = m.peerId;
        this.attempt = 0;
        this.scheduleHeartbeat();
        return this.emit('joined', { peerId: m.peerId, broadcaster: m.broadcaster });
      case 'stream':
        this.state = m.state;
        this.mode = m.mode;
        if (m.broadcastId !== undefined) this.broadcastId = m.broadcastId;
        return this.emit('stream', { state: m.state, mode: m.mode, broadcastId: this.broadcastId });
      case 'neighbours': {
        const before = new Set(this.neighbours.map((n) => n.peerId));
        const after = new Set(m.neighbours.map((n) => n.peerId));
        const added = m.neighbours.filter((n) => !before.has(n.peerId));
        const removed = [...before].filter((id) => !after.has(id));
        this.neighbours = m.neighbours;
        return this.emit('neighbours', { neighbours: m.neighbours, added, removed });
      }
      case 'roles':
        this.holderKeys = m.holderKeys;
        this.producerGroups = m.producerGroups;
        if (m.heartbeatMs && m.heartbeatMs !== this.heartbeatMs) {
          this.heartbeatMs = m.heartbeatMs;
          this.scheduleHeartbeat();
        }
        return this.emit('roles', { holderKeys: m.holderKeys, producerGroups: m.producerGroups, leaseMs: m.leaseMs });
      case 'swarm':
        return this.emit('swarm', { mode: m.mode, viewers: m.viewers, holders: m.holders, producers: m.producers });
      case 'signal':
        return this.emit('signal', { from: m.from, data: m.data });
      case 'ice':
        this.iceServers = m.iceServers;
        return this.emit('ice', { iceServers: m.iceServers, ttlMs: m.ttlMs });
      case 'error':
        return this.emit('error', new P2PError(m.code, m.message));
    }
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      if (!this.connected) return;
      this.sendHeartbeat();
      this.scheduleHeartbeat();
    }, Math.max(100, this.heartbeatMs));
  }

  private sendHeartbeat(): void {
    this.sendRaw(JSON.stringify({ type: 'heartbeat', ...this.stats() }));
    this.lastBeatMs = Date.now();
    if (this.measuredUploadBps !== undefined) this.sentUpload = { bps: this.measuredUploadBps, limited: this.uploadLimitedShare };
  }

  private onClosed(code: number, reason: string): void {
    this.ws = null;
    this.peerId = null;
    this.clearTimers();
    this.complaints.clear(); // about links of this connection's roles: stale after a reconnect
    // Closed for good: told to leave, replaced by a newer socket of the same peer, or by the owner.
    const final = this.destroyed || this.left || reason === 'replaced' || reason === 'auth failed';
    let delay: number | null = null;
    if (!final) {
      const c = this.config;
      const cap = Math.min(c.reconnectMaxMs as number, (c.reconnectMinMs as number) * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 30);
      delay = Math.round(cap / 2 + ((c.random ?? Math.random)() * cap) / 2);
      this.urlIndex = (this.urlIndex + 1) % (1 + (c.urls?.length ?? 0));
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    }
    this.emit('disconnected', { code, reason, reconnectInMs: delay });
  }

  private clearTimers(): void {
    if (this.complaintTimer) clearTimeout(this.complaintTimer);
    this.complaintTimer = null;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.heartbeatTimer = null;
    this.reconnectTimer = null;
  }
}
