// The tracker's thin WebSocket server: accepts sockets under hard limits, binds a peer id to each,
// validates every message, verifies broadcaster proofs, feeds the pure rooms and sends their events,
// relays signals between introduced peers, serves /health and /metrics. No swarm logic lives here.
// Called by the CLI (cli.ts) and by `npm start`, which may pass its own http.Server.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { P2PError, isP2PError } from '../errors.ts';
import { base64url } from '../crypto/stream-key.ts';
import { trackerIdentities, verifyPublishProof } from './publish-proof.ts';
import { LIMITS, TRACKER_PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type ParseOut, type ServerMessage } from './messages.ts';
import { DEFAULT_ROOM_CONFIG, Room, type JoinInfo, type RoomConfig } from './room.ts';
import type { SwarmMode } from './messages.ts';
import { ClusterNode, type LocalMember, type NodeEvent } from './cluster-node.ts';
import type { ClusterBackend } from './cluster-backend.ts';
import { redisBackend } from './redis-backend.ts';
import { TrackerMetrics } from './metrics.ts';
import { createHttpEndpoints, metricsReader } from './http-endpoints.ts';
import { SignalBudget } from './signal-budget.ts';
import { AddressBook, type AddressState } from './address-book.ts';
import { addressKeys, type AddressKeys } from './address-keys.ts';
import { DEFAULT_TRACKER_LIMITS, SYSTEM_CLOCK, peerIdFor, take, type Bucket, type Tracker, type TrackerLimits, type TrackerOptions } from './server-config.ts';
import { memoryBackend } from './memory-backend.ts';
import { IceIssuer } from './turn-credentials.ts';
import { Outbox, type OutFrame } from './outbox.ts';

export * from './server-config.ts';

/** Slots of the ping period; each checks and pings its own sockets. */
const PING_SLICES = 16;
/** Frames of room fan-out and pings written per event-loop turn. */
const OUTBOX_BATCH = 64;
/** The outbox entry of a ping (a control frame, not a message). */
const PING: OutFrame = { text: '', type: 'ping', relayed: false };

interface Conn {
  ws: WebSocket;
  id: string;
  /** Host and network keys of the remote address (address-keys.ts). */
  keys: AddressKeys;
  addr: AddressState;
  nonce: Uint8Array | null;
  /** The stream joined (or being joined), null before a join. */
  stream: string | null;
  /** Cluster mode: what this node knows of the peer (its routes, roles, join), else null. */
  cl: ClusterConn | null;
  broadcaster: boolean;
  busy: boolean;
  alive: boolean;
  bucket: Bucket;
  /** Multiplier of the socket's message budget (the broadcaster's is larger). */
  rateScale: number;
  violations: number;
  lastViolationMs: number;
  lastErrorMs: number;
  lastComplaintMs: number;
  openedMs: number;
  /** Signal budgets of this sender per receiver, made at its first signal. */
  signals: SignalBudget | null;
  /** Ping slot (0…15): which slice of the ping period checks this socket. */
  slot: number;
  /** Frames waiting in the outbox for this socket (null when none). */
  queue: OutFrame[] | null;
}

/** What a cluster node keeps of each of its peers: enough to relay locally and to join it again at a new owner. */
interface ClusterConn {
  info: JoinInfo;
  admitted: boolean;
  /** When the join went to the stream's owner: a join never admitted is closed after joinTimeoutMs. */
  joinSentMs: number;
  holderKeys: number[];
  producerGroups: number[];
  mode: SwarmMode | null;
  /** The peer's current neighbours → the node each is connected to (from the owner's neighbour events). */
  routes: Map<string, string>;
  /** Neighbours the peer announced at its join, until the owner's first neighbour list. */
  announced: string[];
}

/** Starts a tracker. Resolves once it listens (standalone) or is attached (shared server). */
export async function startTracker(options: TrackerOptions = {}): Promise<Tracker> {
  const limits: TrackerLimits = { ...DEFAULT_TRACKER_LIMITS, ...options.limits };
  const clock = options.clock ?? SYSTEM_CLOCK;
  if (options.publicUrl !== undefined && !/^(wss?|https?):\/\/[^/]/.test(options.publicUrl)) throw new P2PError('BAD_CONFIG', `publicUrl must be a ws://, wss://, http:// or https:// URL, got ${options.publicUrl}`);
  const now = () => clock.now();
  const log = options.log ?? (() => {});
  const metrics = new TrackerMetrics();
  const ice = options.ice ? new IceIssuer(options.ice) : null;
  const rooms = new Map<string, Room>();
  const peers = new Map<string, Conn>();
  const conns = new Set<Conn>();
  /** The sockets of each ping slot. */
  const pingSlots = Array.from({ length: PING_SLICES }, () => new Set<Conn>());
  const addresses = new AddressBook(limits);
  let cluster: ClusterNode | null = null;
  let ownBackend: ClusterBackend | null = null;
  const ownServer = !options.server;
  const server = options.server ?? http.createServer();
  const path = options.path ?? (ownServer ? undefined : '/tracker');
  if (ownServer) {
    // Slow or oversized upgrade requests are cut short (the handshake is one small request).
    server.maxHeadersCount = 64;
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    maxFragments: limits.maxFragments,
    maxBufferedChunks: limits.maxBufferedChunks,
    perMessageDeflate: false,
    clientTracking: false,
  } as ConstructorParameters<typeof WebSocketServer>[0]);

  /** The remote address limits count against: the socket's, or the proxy's X-Forwarded-For client. */
  const addressOf = (req: http.IncomingMessage): string => {
    const fwd = options.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim();
    return (first || req.socket.remoteAddress || 'unknown').slice(0, 64);
  };

  /**
   * Sends one message. A socket that leaves more than maxSendBufferBytes of the tracker's own
   * messages unread is dropped (SLOW_CONSUMER); relayed signals never count against their receiver
   * here (their backlog is bounded before they are sent, and charged to the sender).
   */
  const write = (c: Conn, f: OutFrame): void => {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (f === PING) return c.ws.ping();
    if (!f.relayed && c.ws.bufferedAmount > limits.maxSendBufferBytes) {
      metrics.reject('SLOW_CONSUMER');
      c.ws.terminate();
      return;
    }
    metrics.bytesOut += f.text.length;
    metrics.countSent(f.type);
    c.ws.send(f.text);
  };
  // Answers and relays go out at once; room fan-out and pings go through the outbox, a batch per
  // turn, so relays are never held up behind them. A socket's frames keep their order either way.
  const outbox = new Outbox<Conn>(write, OUTBOX_BATCH);
  const frame = (msg: object, relayed: boolean): OutFrame => ({ text: JSON.stringify(msg), type: (msg as { type: string }).type, relayed });
  const send = (c: Conn, msg: object, relayedSignal = false): void => {
    if (c.ws.readyState === WebSocket.OPEN) outbox.now(c, frame(msg, relayedSignal));
  };
  /**
   * Relays a signal whose data the parser already serialised: the frame is the text
   * JSON.stringify({ type: 'signal', from, data }) would give, without serialising data again.
   */
  const relaySignal = (c: Conn, from: string, dataText: string): void => {
    if (c.ws.readyState === WebSocket.OPEN) outbox.now(c, { text: `{"type":"signal","from":${JSON.stringify(from)},"data":${dataText}}`, type: 'signal', relayed: true });
  };
  /** Room fan-out: written in a later batch. */
  const sendLater = (c: Conn, msg: object): void => {
    if (c.ws.readyState === WebSocket.OPEN) outbox.later(c, frame(msg, false));
  };
  /** Closes a socket after what waits for it in the outbox. */
  const closeConn = (c: Conn, code: number, reason: string): void => {
    outbox.flush(c);
    c.ws.close(code, reason);
  };

  /**
   * Rejects one message: counted, answered (throttled), and a violation unless `soft`. Violations
   * decay by one per second, so only a sustained stream of bad messages closes the socket.
   */
  const fail = (c: Conn, code: string, message: string, soft = false): void => {
    metrics.reject(code);
    const t = now();
    if (!soft) {
      c.violations = Math.max(0, c.violations - (t - c.lastViolationMs) / 1000) + 1;
      c.lastViolationMs = t;
    }
    // Errors are answered at most a few per second, so a flood cannot turn the tracker into an amplifier.
    if (t - c.lastErrorMs > 200) {
      c.lastErrorMs = t;
      send(c, { type: 'error', code, message: message.slice(0, LIMITS.maxErrorText) });
    }
    if (c.violations > limits.maxViolations) closeConn(c, 1008, 'too many bad messages');
  };

  /** Hands one room event (or a cluster owner's answer to a join) to its local peer; false when it is not here. */
  const deliver = (streamId: string, ev: NodeEvent, routes?: string[]): boolean => {
    const c = peers.get(ev.to);
    if (!c || c.stream !== streamId) return false;
    if (ev.type === 'admit') {
      if (!ev.ok) {
        peers.delete(c.id);
        c.stream = null;
        c.cl = null;
        c.broadcaster = false;
        c.rateScale = 1;
        fail(c, ev.code ?? 'JOIN_FAILED', ev.message ?? 'the stream refused the join');
        return true;
      }
      // One 'joined' per join: a join admitted again (owner change, or the same join reaching a
      // new owner twice) changes nothing for the peer.
      if (c.cl?.admitted) return true;
      if (c.cl) c.cl.admitted = true;
      if (ice) send(c, ice.issue(c, c.id, Date.now()));
      send(c, { type: 'joined', streamId, peerId: c.id, broadcaster: c.broadcaster });
      return true;
    }
    if (ev.type === 'close') {
      peers.delete(ev.to);
      c.stream = null;
      c.cl = null;
      send(c, { type: 'error', code: ev.reason === 'replaced' ? 'REPLACED' : 'TIMEOUT', message: `removed from the stream: ${ev.reason}` });
      closeConn(c, 1000, ev.reason);
      return true;
    }
    // The message budget grows with the fan-out the tracker itself gave the peer (a holder
    // linked to many producers signals to all of them at once).
    if (ev.type === 'neighbours') {
      c.rateScale = Math.max(c.broadcaster ? limits.broadcasterRateScale : 1, Math.ceil(ev.neighbours.length / 12));
      if (c.cl && cluster) {
        const r = new Map<string, string>();
        ev.neighbours.forEach((n, i) => r.set(n.peerId, routes?.[i] || (cluster as ClusterNode).nodeId));
        c.cl.routes = r;
      }
    } else if (c.cl && ev.type === 'roles') {
      c.cl.holderKeys = ev.holderKeys;
      c.cl.producerGroups = ev.producerGroups;
    } else if (c.cl && ev.type === 'stream') c.cl.mode = ev.mode;
    const { to: _to, ...msg } = ev;
    sendLater(c, msg);
    return true;
  };

  const dispatch = (room: Room): void => {
    if (cluster) return cluster.dispatch(room);
    for (let ev = room.pollEvent(); ev; ev = room.pollEvent()) deliver(room.streamId, ev);
    if (room.size === 0) rooms.delete(room.streamId);
  };

  /** A new room; throws TOO_MANY_STREAMS when the tracker holds its maximum. */
  const makeRoom = (streamId: string, broadcaster: boolean, cell?: { key: string; room: Partial<RoomConfig> }): Room => {
    // Waiting rooms (viewers, no broadcaster yet) have their own cap, so viewers asking for made-up
    // streams can never keep a real broadcaster from publishing.
    let waiting = 0;
    for (const r of rooms.values()) if (r.streamState !== 'live') waiting++;
    if (rooms.size - waiting >= limits.maxStreams || (!broadcaster && waiting >= limits.maxWaitingStreams)) {
      throw new P2PError('TOO_MANY_STREAMS', 'the tracker holds its maximum of streams');
    }
    const room = new Room(streamId, { maxPeers: limits.maxPeersPerStream, seed: rooms.size + 1, ...options.room, ...cell?.room });
    rooms.set(cell?.key ?? streamId, room);
    return room;
  };

  const leaveRoom = (c: Conn, ended: boolean): void => {
    const s = c.stream;
    if (!s) return;
    c.stream = null;
    c.cl = null;
    if (peers.get(c.id) === c) peers.delete(c.id);
    if (cluster) return cluster.leave(s, c.id, ended);
    const room = rooms.get(s);
    if (!room) return;
    room.leave(c.id, now(), ended);
    dispatch(room);
  };

  const enter = (c: Conn, streamId: string, secret: string | undefined, info: JoinInfo): void => {
    // Joins are budgeted per address (and IPv6 /64), so fresh ids cannot be minted at socket speed.
    if (!addresses.takeJoin(c.addr, now())) return fail(c, 'JOIN_RATE_LIMITED', 'too many joins from this address');
    info = { ...info, hostKey: c.keys.host, networkKey: c.keys.network };
    let room = cluster ? undefined : rooms.get(streamId);
    if (!room && !cluster) {
      try {
        room = makeRoom(streamId, !!info.broadcaster);
      } catch (e) {
        return fail(c, isP2PError(e) ? e.code : 'JOIN_FAILED', String((e as Error).message));
      }
    }
    const id = secret ? peerIdFor(secret) : c.id;
    const old = peers.get(id);
    if (old && old !== c) {
      // The same peer reconnected (its old socket may be half-open): the new socket wins.
      leaveRoom(old, false);
      send(old, { type: 'error', code: 'REPLACED', message: 'the same peer connected again' });
      closeConn(old, 1000, 'replaced');
      // The old socket may have been the room's last peer: its leave dropped the room, which this join keeps.
      if (room && !rooms.has(streamId)) rooms.set(streamId, room);
    }
    if (cluster) {
      // The stream's owner (maybe another node) admits the peer; 'joined' follows its answer.
      // What the peer announced is what it holds until the owner says otherwise (a new owner may
      // be asked to restore it before the first answer).
      const { announce: a, ...base } = info;
      c.id = id;
      c.stream = streamId;
      c.cl = { info: base, admitted: false, joinSentMs: now(), holderKeys: a?.holderKeys ?? [], producerGroups: a?.producerGroups ?? [], mode: a?.mode ?? null, routes: new Map(), announced: a?.neighbours ?? [] };
      c.nonce = null;
      c.broadcaster = !!info.broadcaster;
      if (c.broadcaster) c.rateScale = limits.broadcasterRateScale;
      peers.set(id, c);
      cluster.join(streamId, id, info);
      return;
    }
    room = room as Room;
    try {
      room.join(id, info, now());
    } catch (e) {
      if (room.size === 0) rooms.delete(streamId);
      return fail(c, isP2PError(e) ? e.code : 'JOIN_FAILED', String((e as Error).message));
    }
    c.id = id;
    c.stream = streamId;
    c.nonce = null; // one stream per socket: no publish after a join
    c.broadcaster = !!info.broadcaster;
    // A proven broadcaster signals to up to directMaxViewers peers at once: it gets a larger budget.
    if (c.broadcaster) c.rateScale = limits.broadcasterRateScale;
    peers.set(id, c);
    if (ice) send(c, ice.issue(c, id, Date.now()));
    send(c, { type: 'joined', streamId, peerId: id, broadcaster: c.broadcaster });
    dispatch(room);
  };

  /**
   * A signal from a peer on another node to one of ours. The sender's node let it through only to a
   * neighbour the owner gave its peer; it is not checked against our peer's list again, as the
   * owner's neighbour lists reach the two nodes at slightly different times (a first offer must
   * not be lost to that race).
   */
  const relayIn = (streamId: string, from: string, to: string, data: unknown): void => {
    const t = peers.get(to);
    if (!t || t.stream !== streamId) return metrics.reject('NOT_NEIGHBOURS');
    if (t.ws.bufferedAmount > limits.maxSignalBacklogBytes) return metrics.reject('SIGNAL_DROPPED');
    send(t, { type: 'signal', from, data }, true);
  };

  /** The identities publish proofs are checked against: configured, or the listening address (never request headers). */
  let identities: string[] | null = null;
  const identitiesNow = (): string[] => identities ?? (identities = trackerIdentities(options, server.address()));

  const publish = async (c: Conn, m: Extract<ClientMessage, { type: 'publish' }>): Promise<void> => {
    const nonce = c.nonce;
    c.nonce = null;
    const ok = nonce !== null && (await verifyPublishProof(nonce, m, identitiesNow()));
    c.busy = false;
    if (c.ws.readyState !== WebSocket.OPEN) return;
    if (!ok) {
      fail(c, 'AUTH_FAILED', `the stream key proof does not verify (nonce ‖ streamId ‖ broadcastId ‖ tracker identity; this tracker is ${identitiesNow().slice(0, 3).join(', ')})`);
      closeConn(c, 1008, 'auth failed');
      return;
    }
    enter(c, m.streamId, m.peerSecret, { broadcaster: true, broadcastId: m.broadcastId, bitrateBps: m.bitrateBps, uploadBps: m.uploadBps, measuredUploadBps: m.measuredUploadBps, uploadLimitedShare: m.uploadLimitedShare, announce: m.announce });
  };

  /** Filled by each parse (one object for all messages: parsing is synchronous). */
  const parsed: ParseOut = {};
  const onMessage = (c: Conn, data: RawData, isBinary: boolean): void => {
    const received = performance.now();
    const t0 = now();
    c.alive = true;
    if (!take(c.bucket, limits.socketRatePerSec * c.rateScale, limits.socketBurst * c.rateScale, t0) || !addresses.takeMessage(c.addr, t0)) {
      return fail(c, 'RATE_LIMITED', 'too many messages');
    }
    if (isBinary) return fail(c, 'BAD_MESSAGE', 'binary frames are not accepted');
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    metrics.bytesIn += text.length;
    let m: ClientMessage;
    parsed.dataText = undefined;
    try {
      m = parseClientMessage(text, limits.maxPayloadBytes, limits.maxSignalBytes, parsed);
    } catch (e) {
      return fail(c, isP2PError(e) ? e.code : 'BAD_MESSAGE', String((e as Error).message));
    }
    metrics.countMessage(m.type);
    if (c.busy) return fail(c, 'BUSY', 'the previous publish is still being verified');
    const nowMs = t0;
    switch (m.type) {
      case 'join':
        if (c.stream) return fail(c, 'ALREADY_JOINED', 'this socket already joined a stream');
        return enter(c, m.streamId, m.peerSecret, { uploadBps: m.uploadBps, measuredUploadBps: m.measuredUploadBps, uploadLimitedShare: m.uploadLimitedShare, relayed: m.relayed, announce: m.announce });
      case 'publish':
        if (c.stream) return fail(c, 'ALREADY_JOINED', 'this socket already joined a stream');
        if (!c.nonce) return fail(c, 'AUTH_FAILED', 'one publish attempt per connection');
        c.busy = true;
        void publish(c, m);
        return;
      case 'leave':
        leaveRoom(c, c.broadcaster);
        closeConn(c, 1000, 'leave');
        return;
    }
    const s = c.stream;
    if (!s) return fail(c, 'NOT_JOINED', `${m.type} before join`);
    // In a cluster every room operation goes to the stream's owner (maybe this node) through the
    // cluster node; alone, the room is here.
    const room = cluster ? null : (rooms.get(s) as Room);
    if (m.type === 'heartbeat') {
      const stats = { uploadBps: m.uploadBps, measuredUploadBps: m.measuredUploadBps, uploadLimitedShare: m.uploadLimitedShare, relayed: m.relayed };
      if (cluster) cluster.heartbeat(s, c.id, stats);
      else (room as Room).heartbeat(c.id, stats, nowMs);
      const renewed = ice?.renew(c, c.id, Date.now()); // TURN expiry is wall-clock (coturn checks Unix time)
      if (renewed) send(c, renewed);
      if (room) dispatch(room);
    } else if (m.type === 'failed') {
      // Only a current neighbour can be reported; otherwise the pair was unlinked already (a race,
      // not an offence) and the report is dropped, so nobody fills other peers' failed-pair lists.
      if (cluster) {
        if (c.cl?.routes.has(m.peerId)) cluster.failed(s, c.id, m.peerId);
      } else if (room) {
        if (room.areNeighbours(c.id, m.peerId)) room.reportFailedPair(c.id, m.peerId, nowMs);
        dispatch(room);
      }
    } else if (m.type === 'complaint') {
      // One complaint per socket per complaintIntervalMs; only a producer about a holder it uses counts.
      if (t0 - c.lastComplaintMs < limits.complaintIntervalMs) return fail(c, 'RATE_LIMITED', 'one complaint per second');
      c.lastComplaintMs = t0;
      if (cluster) {
        // The owner checks the rest (producer about a holder it uses) and ignores what does not count.
        if (!c.cl?.routes.has(m.peerId)) return fail(c, 'NOT_NEIGHBOURS', 'complaints go from a producer about a holder it uses', true);
        cluster.complaint(s, c.id, m.peerId, m.key);
      } else if (room) {
        if (!room.complain(c.id, m.peerId, nowMs, { key: m.key })) return fail(c, 'NOT_NEIGHBOURS', 'complaints go from a producer about a holder it uses', true);
        dispatch(room);
      }
    } else if (m.type === 'signal') {
      const target = peers.get(m.to);
      const local = target !== undefined && target.stream === s;
      // Cluster: the neighbour's node comes with the owner's neighbour list; a neighbour on this
      // node is relayed here, one on another node goes to that node's channel.
      let node: string | null = null;
      if (cluster) {
        const at = c.cl?.routes.get(m.to);
        if (at === undefined || (!local && at === cluster.nodeId)) return fail(c, 'NOT_NEIGHBOURS', 'signals go only to peers the tracker introduced', true);
        if (!local) node = at;
      } else if (!local || !(room as Room).areNeighbours(c.id, m.to)) {
        // Soft: a late ICE candidate to a neighbour just unlinked is a race, not an offence.
        return fail(c, 'NOT_NEIGHBOURS', 'signals go only to peers the tracker introduced', true);
      }
      // Budgeted per pair and charged to the sender: a flood never reaches, nor disconnects, its receiver.
      const budget = (c.signals ??= new SignalBudget(limits));
      const cost = budget.cost(text.length);
      if (node === null && (target as Conn).ws.bufferedAmount > limits.maxSignalBacklogBytes) {
        budget.charge(m.to, cost, t0);
        return fail(c, 'SIGNAL_DROPPED', 'the receiver is not reading; signal dropped', true);
      }
      if (!budget.spend(m.to, cost, t0)) return fail(c, 'SIGNAL_BUDGET', 'too many signals to this peer');
      if (node === null) {
        if (parsed.dataText !== undefined) relaySignal(target as Conn, c.id, parsed.dataText);
        else send(target as Conn, { type: 'signal', from: c.id, data: m.data }, true);
      }
      else (cluster as ClusterNode).relay(node, s, c.id, m.to, m.data);
      metrics.observeRelay((performance.now() - received) / 1000);
    }
  };

  /** A socket's first message: its provisional id, the proof nonce and the limits it must keep. */
  const welcomeFor = (c: Conn): ServerMessage => ({
    type: 'welcome',
    version: TRACKER_PROTOCOL_VERSION,
    peerId: c.id,
    nonce: base64url(c.nonce as Uint8Array),
    heartbeatMs: options.room?.heartbeatMs ?? DEFAULT_ROOM_CONFIG.heartbeatMs,
    maxSignalBytes: limits.maxSignalBytes,
  });

  const onConnection = (ws: WebSocket, req: http.IncomingMessage): void => {
    const keys = addressKeys(addressOf(req));
    const t = now();
    const c: Conn = {
      ws,
      id: peerIdFor(),
      keys,
      addr: addresses.open(keys.host, t),
      nonce: randomBytes(16),
      stream: null,
      cl: null,
      broadcaster: false,
      busy: false,
      alive: true,
      bucket: { tokens: limits.socketBurst, lastMs: t },
      rateScale: 1,
      violations: 0,
      lastViolationMs: t,
      lastErrorMs: -Infinity,
      lastComplaintMs: -Infinity,
      openedMs: now(),
      signals: null,
      slot: metrics.connectionsTotal % PING_SLICES,
      queue: null,
    };
    conns.add(c);
    pingSlots[c.slot].add(c);
    metrics.connectionsTotal++;
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(c, data, isBinary);
      } catch (e) {
        // A bug must not take the process down; count it and drop the socket.
        metrics.reject('INTERNAL');
        log(`tracker: internal error ${String((e as Error)?.stack ?? e)}`);
        ws.terminate();
      }
    });
    ws.on('pong', () => (c.alive = true));
    ws.on('error', (e: Error & { code?: string }) => {
      metrics.reject(e.code ?? 'SOCKET_ERROR');
      ws.terminate();
    });
    ws.on('close', () => {
      conns.delete(c);
      pingSlots[c.slot].delete(c);
      addresses.close(keys.host);
      leaveRoom(c, false);
    });
    send(c, welcomeFor(c));
  };

  // Not an arrow inside onUpgrade: a closure made there shares its scope with the one that hands
  // `req` to onConnection, so the socket's error listener would hold the upgrade request (its
  // headers, about 1.5 KB) for the life of the connection.
  const ignoreError = (): void => {};
  const onUpgrade = (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void => {
    const url = req.url ?? '/';
    if (path !== undefined && url.split('?')[0] !== path) {
      if (ownServer) socket.destroy();
      return;
    }
    socket.on('error', ignoreError);
    const origin = req.headers.origin;
    if (options.allowedOrigins && origin !== undefined && !options.allowedOrigins.includes(origin)) {
      metrics.reject('ORIGIN_REFUSED');
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const perAddress = addresses.sockets(addressKeys(addressOf(req)).host);
    if (conns.size >= limits.maxSockets || perAddress >= limits.maxSocketsPerAddress) {
      metrics.reject('TOO_MANY_SOCKETS');
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  };

  const endpoints = createHttpEndpoints(metrics, () => {
    let liveStreams = 0;
    for (const r of rooms.values()) if (r.streamState === 'live') liveStreams++;
    return { sockets: conns.size, peers: peers.size, streams: rooms.size, liveStreams };
  }, metricsReader(options, addressOf), () => cluster && {
    health: (stream?: string) => {
      const cl = cluster as ClusterNode;
      const owned = cl.ownedStreams();
      const hosted = new Set<string>();
      for (const c of peers.values()) if (c.stream) hosted.add(c.stream);
      const asked = stream === undefined ? {} : { stream: { streamId: stream, owner: cl.ownerOf(stream) } };
      return { nodeId: cl.nodeId, backend: cl.backendKind, redis: cl.backendState, hostedStreams: hosted.size, ownedStreams: owned.length, owned: owned.slice(0, 100).map((streamId) => ({ streamId, epoch: cl.ownerOf(streamId)?.epoch ?? 0 })), ...asked };
    },
    metrics: () => (cluster as ClusterNode).metrics.render((cluster as ClusterNode).ownedStreams().length),
  });
  const handleHttp = endpoints.handleHttp;

  if (options.cluster) {
    const co = options.cluster;
    const backend = co.backend ?? (co.redisUrl ? (ownBackend = await redisBackend({ url: co.redisUrl, log })) : (ownBackend = memoryBackend()));
    const localMember = (c: Conn, cl: ClusterConn): LocalMember => ({ id: c.id, info: cl.info, admitted: cl.admitted, holderKeys: cl.holderKeys, producerGroups: cl.producerGroups, neighbours: cl.routes.size ? [...cl.routes.keys()] : cl.announced, mode: cl.mode });
    const node = new ClusterNode({ backend, nodeId: co.nodeId, leaseMs: co.leaseMs, renewMs: co.renewMs, prefix: co.prefix, cellSize: co.cellSize, maxCells: co.maxCells, cellGroups: co.cellGroups, cellKeys: options.room?.segmentKeys?.length, crossLinks: co.crossLinks }, {
      rooms,
      makeRoom,
      deliver,
      relayIn,
      localMembers: (streamId) => {
        const out: LocalMember[] = [];
        for (const c of peers.values()) if (c.stream === streamId && c.cl) out.push(localMember(c, c.cl));
        return out;
      },
      localMember: (streamId, id) => {
        const c = peers.get(id);
        return c && c.stream === streamId && c.cl ? localMember(c, c.cl) : null;
      },
      hostedStreams: () => {
        const out = new Set<string>();
        for (const c of peers.values()) if (c.stream) out.add(c.stream);
        return out;
      },
      log,
    }, clock);
    try {
      await node.start();
    } catch (e) {
      await ownBackend?.close();
      throw e;
    }
    cluster = node;
  }

  server.on('upgrade', onUpgrade);
  if (ownServer) {
    server.on('request', (req, res) => {
      if (!handleHttp(req, res)) {
        if (req.url?.startsWith('/hls/')) {
          // A page asks the tracker for the HTTP path while no edge runs here: say so readably from
          // any origin (without the CORS header the page only sees a network error).
          res.writeHead(404, { 'content-type': 'text/plain', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
          res.end('p2p-player tracker: no HLS edge runs with this tracker\n');
          return;
        }
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('p2p-player tracker: WebSocket endpoint; see /health and /metrics\n');
      }
    });
    server.on('clientError', (_e, socket) => socket.destroy());
  }

  // Room ticks run in slices of at most TICK_SLICE_MS, yielding between slices, so a tick over
  // many rooms (lease expiry, refills after a burst of lapsed heartbeats) never holds up relays.
  const TICK_SLICE_MS = 4;
  let tickQueue: Array<[string, Room]> = [];
  const runTicks = (): void => {
    const start = performance.now();
    while (tickQueue.length) {
      const [key, room] = tickQueue.pop() as [string, Room];
      if (rooms.get(key) !== room) continue;
      room.tick(now());
      dispatch(room);
      if (tickQueue.length && performance.now() - start > TICK_SLICE_MS) {
        metrics.observeTickSlice((performance.now() - start) / 1000);
        setImmediate(runTicks);
        return;
      }
    }
    metrics.observeTickSlice((performance.now() - start) / 1000);
  };
  const tickTimer = clock.setInterval(() => {
    if (tickQueue.length) return; // the previous round is still being sliced
    tickQueue = [...rooms.entries()];
    runTicks();
  }, options.tickMs ?? 250);
  // Pings are spread over PING_SLICES slots of the period, so 10 000 sockets never ping at once;
  // a slot's checks run at its time and its pings go out through the outbox, a batch per turn
  // (each is a socket write), so a slot's 600 pings at 10 000 sockets do not hold up relays either.
  let pingSlot = 0;
  const pingTimer = clock.setInterval(() => {
    const t = now();
    pingSlot = (pingSlot + 1) % PING_SLICES;
    if (pingSlot === 0) addresses.prune(t);
    for (const c of pingSlots[pingSlot]) {
      if (!c.alive || (!c.stream && t - c.openedMs > limits.joinTimeoutMs)) {
        metrics.reject(c.alive ? 'JOIN_TIMEOUT' : 'HALF_OPEN');
        c.ws.terminate();
        continue;
      }
      // A join the cluster never answered (lost among nodes while the stream changed hands): the
      // socket is closed, not left waiting, and the client's reconnect joins again.
      if (c.cl && !c.cl.admitted && t - c.cl.joinSentMs > limits.joinTimeoutMs) {
        metrics.reject('JOIN_TIMEOUT');
        c.ws.close(1013, 'not admitted in time');
        continue;
      }
      c.alive = false;
      outbox.later(c, PING);
    }
  }, Math.max(1, Math.round(limits.pingIntervalMs / PING_SLICES)));

  if (ownServer && !server.listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const host = options.host ?? '127.0.0.1';
  log(`tracker listening on ${host}:${port}`);

  return {
    port,
    url: ownServer ? `ws://${host.includes(':') ? `[${host}]` : host}:${port}` : undefined,
    metrics,
    handleHttp,
    stats: () => ({ sockets: conns.size, peers: peers.size, streams: rooms.size }),
    get cluster() {
      return cluster;
    },
    close: () => stop(false),
    halt: () => stop(true),
  };

  async function stop(crash: boolean): Promise<void> {
    clock.clearInterval(tickTimer);
    clock.clearInterval(pingTimer);
    endpoints.close();
    server.off('upgrade', onUpgrade);
    // A clean stop hands the streams over first (snapshot written, leases released); a crash does not.
    if (cluster) {
      if (crash) cluster.halt();
      else await cluster.close();
    }
    if (crash && options.cluster?.backend) await options.cluster.backend.close();
    await ownBackend?.close();
    for (const c of conns) c.ws.terminate();
    conns.clear();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    if (ownServer) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

