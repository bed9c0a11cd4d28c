// Command line of the tracker: parses flags, starts the server, prints where it listens, stops
// cleanly on SIGINT/SIGTERM. Run by bin/p2p-player-tracker.js; holds no tracker logic itself.

import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { startTracker, type TrackerLimits } from './server.ts';
import type { RoomConfig } from './room.ts';

const HELP = `p2p-player-tracker: WebSocket tracker of p2p-player (signalling, neighbours, roles)

Usage: p2p-player-tracker [options]

  --port N                     port to listen on (default: $PORT or 8787; 0 picks a free port)
  --host ADDR                  address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --path /P                    WebSocket path (default: any path)
  --public-url URL             the URL clients reach this tracker at (wss://tracker.example/tracker):
                               broadcaster proofs must name its host[:port]. Default: the
                               listening address (with --host 0.0.0.0: loopback names and every
                               interface address). Set it behind a proxy or a DNS name.
  --origin HOST[:PORT]         a further tracker identity accepted in broadcaster proofs (repeatable)
  --max-sockets N              open sockets in all (default 20000)
  --max-sockets-per-address N  open sockets per remote address, IPv6 per /64 (default 16)
  --join-rate N                joins per second per remote address, IPv6 per /64 (default 1)
  --join-burst N               joins at once per remote address before the rate applies (default 20)
  --max-streams N              live streams held at once (default 1000)
  --max-waiting-streams N      streams viewers wait for, not yet published (default 1000)
  --max-peers-per-stream N     peers in one stream (default 10001)
  --socket-rate N              messages per second per socket (default 50, burst 4x)
  --address-rate N             messages per second per remote address (default 2000, burst 4x)
  --neighbours N               swarm neighbours per viewer (default 8)
  --holder-at N                switch to holder mode at N viewers (default 40)
  --direct-at N                switch back to direct feed at N viewers (default 24)
  --holder-keys N              code-segment keys 0…N-1 handed to holders, 8…256 (default 11)
  --min-role-upload R          holders and producers must have measured an upload of at least R ×
                               the stream bitrate (default 1; 0 lets any peer that reported one in)
  --stun-url URL               STUN server handed to peers (repeatable), e.g. stun:stun.example.org:3478
  --turn-url URL               TURN server handed to peers (repeatable), e.g. turn:turn.example.org:3478
  --turn-secret S              the TURN server's shared secret (coturn use-auth-secret); default
                               $P2P_TURN_SECRET. Peers get credentials valid for --turn-ttl seconds
  --turn-ttl N                 TURN credential lifetime, seconds (default 3600)
  --trust-proxy                behind a reverse proxy: per-address limits use X-Forwarded-For
  --allow-origin URL           page origin allowed to open sockets from a browser (repeatable;
                               default: any; sockets without an Origin header are always let in)
  --public-metrics             serve /metrics to anyone (default: only to the tracker's own host)
  --metrics-token T            also serve /metrics to requests with 'Authorization: Bearer T'
                               (or set P2P_TRACKER_METRICS_TOKEN, which ps does not show)
  --redis URL                  run as one node of a cluster sharing this Redis (redis://host:6379;
                               default $P2P_TRACKER_REDIS): streams are owned by one node each,
                               peers may connect to any node (docs/tracker.md, Scale-out)
  --node-id ID                 this node's name, unique in the cluster (letters, digits, . _ -;
                               default: host name and port)
  --cluster-lease N            stream ownership lease, ms (default 6000): a dead node's streams
                               get a new owner within about this long
  --cell-size N                split a stream into cells of N peers, each owned by one node
                               (default 0: never; docs/tracker.md, Cells)
  --max-cells N                cells per stream at most (default 4, also the ceiling)
  --quiet                      print only the listening line
  --help                       this text

HTTP: GET /health (JSON) and GET /metrics (Prometheus text) on the same port.`;

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`p2p-player-tracker: --${name} must be a non-negative integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        path: { type: 'string' },
        origin: { type: 'string', multiple: true },
        'public-url': { type: 'string' },
        'max-sockets': { type: 'string' },
        'max-sockets-per-address': { type: 'string' },
        'max-streams': { type: 'string' },
        'join-rate': { type: 'string' },
        'join-burst': { type: 'string' },
        'max-waiting-streams': { type: 'string' },
        'max-peers-per-stream': { type: 'string' },
        'socket-rate': { type: 'string' },
        'address-rate': { type: 'string' },
        neighbours: { type: 'string' },
        'holder-at': { type: 'string' },
        'direct-at': { type: 'string' },
        'holder-keys': { type: 'string' },
        'min-role-upload': { type: 'string' },
        'stun-url': { type: 'string', multiple: true },
        'turn-url': { type: 'string', multiple: true },
        'turn-secret': { type: 'string' },
        'turn-ttl': { type: 'string' },
        quiet: { type: 'boolean' },
        redis: { type: 'string' },
        'node-id': { type: 'string' },
        'cluster-lease': { type: 'string' },
        'cell-size': { type: 'string' },
        'max-cells': { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        'allow-origin': { type: 'string', multiple: true },
        'public-metrics': { type: 'boolean' },
        'metrics-token': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`p2p-player-tracker: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  const o = parsed.values;
  if (o.help) {
    console.log(HELP);
    return;
  }
  const limits: Partial<TrackerLimits> = {};
  const set = (k: keyof TrackerLimits, flag: string) => {
    const v = int(o[flag as keyof typeof o] as string | undefined, flag);
    if (v !== undefined) limits[k] = v;
  };
  set('maxSockets', 'max-sockets');
  set('maxSocketsPerAddress', 'max-sockets-per-address');
  set('maxStreams', 'max-streams');
  set('addressJoinRatePerSec', 'join-rate');
  set('addressJoinBurst', 'join-burst');
  set('maxWaitingStreams', 'max-waiting-streams');
  set('maxPeersPerStream', 'max-peers-per-stream');
  const socketRate = int(o['socket-rate'], 'socket-rate');
  if (socketRate !== undefined) Object.assign(limits, { socketRatePerSec: socketRate, socketBurst: socketRate * 4 });
  const addressRate = int(o['address-rate'], 'address-rate');
  if (addressRate !== undefined) Object.assign(limits, { addressRatePerSec: addressRate, addressBurst: addressRate * 4 });
  const room: Partial<RoomConfig> = {};
  const n = int(o.neighbours, 'neighbours');
  if (n !== undefined) Object.assign(room, { neighbourTarget: n, neighbourMax: Math.ceil(n * 1.5) });
  const holderAt = int(o['holder-at'], 'holder-at');
  if (holderAt !== undefined) room.holderModeAtViewers = holderAt;
  const directAt = int(o['direct-at'], 'direct-at');
  if (directAt !== undefined) room.directModeAtViewers = directAt;
  if (room.holderModeAtViewers !== undefined && room.holderModeAtViewers > 48) room.directMaxViewers = room.holderModeAtViewers;
  const holderKeys = int(o['holder-keys'], 'holder-keys');
  if (holderKeys !== undefined) {
    if (holderKeys < 8 || holderKeys > 256) {
      console.error(`p2p-player-tracker: --holder-keys must be 8…256, got ${holderKeys}`);
      process.exit(2);
    }
    room.segmentKeys = Array.from({ length: holderKeys }, (_, c) => c);
  }

  if (o['min-role-upload'] !== undefined) {
    const r = Number(o['min-role-upload']);
    if (o['min-role-upload'].trim() === '' || !Number.isFinite(r) || r < 0 || r > 100) {
      console.error(`p2p-player-tracker: --min-role-upload must be a number 0…100, got ${o['min-role-upload']}`);
      process.exit(2);
    }
    room.minRoleUploadRatio = r;
  }

  const turnSecret = o['turn-secret'] ?? process.env.P2P_TURN_SECRET;
  const ice = o['stun-url'] || o['turn-url'] ? { stunUrls: o['stun-url'], turnUrls: o['turn-url'], turnSecret, ttlSec: int(o['turn-ttl'], 'turn-ttl') } : undefined;

  const port = int(o.port, 'port') ?? int(process.env.PORT, 'PORT') ?? 8787;
  const host = o.host ?? '127.0.0.1';
  const log = o.quiet ? undefined : (line: string) => console.error(line);
  const redisUrl = o.redis ?? process.env.P2P_TRACKER_REDIS;
  const lease = int(o['cluster-lease'], 'cluster-lease');
  const nodeId = o['node-id'] ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48)}-${port}`;
  const cellSize = int(o['cell-size'], 'cell-size');
  const maxCells = int(o['max-cells'], 'max-cells');
  if (!redisUrl && (o['node-id'] !== undefined || lease !== undefined || cellSize !== undefined || maxCells !== undefined)) {
    console.error('p2p-player-tracker: --node-id and --cluster-lease need --redis, as do --cell-size and --max-cells');
    process.exit(2);
  }
  const cluster = redisUrl ? { redisUrl, nodeId, ...(lease !== undefined ? { leaseMs: lease } : {}), ...(cellSize !== undefined ? { cellSize } : {}), ...(maxCells !== undefined ? { maxCells } : {}) } : undefined;
  let tracker;
  try {
    tracker = await startTracker({ port, host, path: o.path, publicUrl: o['public-url'], origins: o.origin, trustProxy: o['trust-proxy'], allowedOrigins: o['allow-origin'], metricsAccess: o['public-metrics'] ? 'public' : 'loopback', metricsToken: o['metrics-token'] ?? process.env.P2P_TRACKER_METRICS_TOKEN, limits, room, ice, cluster, log });
  } catch (e) {
    console.error(`p2p-player-tracker: cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  // Stop cleanly from here on: a supervisor (or a test) that reads the lines below may stop the
  // tracker at once, and a signal before the handlers would end the process uncleanly.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await tracker.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(`p2p-player tracker listening on ${tracker.url}${o.path ?? ''} (health: http://${host.includes(':') ? `[${host}]` : host}:${tracker.port}/health, metrics: /metrics)${cluster ? ` as cluster node ${cluster.nodeId}` : ''}`);
  if (ice) log?.(`ICE: stun ${ice.stunUrls?.join(' ') ?? 'none'}, turn ${ice.turnUrls?.join(' ') ?? 'none'}${ice.turnUrls ? `, credentials for ${ice.ttlSec ?? 3600} s` : ''}`);
  if (Object.keys(limits).length + Object.keys(room).length > 0) log?.(`limits: ${JSON.stringify(limits)} room: ${JSON.stringify(room)}`);
}

await main(process.argv.slice(2));
