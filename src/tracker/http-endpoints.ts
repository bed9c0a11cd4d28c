// The tracker's HTTP endpoints: GET /health (JSON) and GET /metrics (Prometheus text, with process
// gauges: memory, CPU, uptime, event-loop delay). Node-only; created by server.ts, which routes
// HTTP requests here and owns everything else.

import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { timingSafeEqual } from 'node:crypto';
import type { TrackerMetrics } from './metrics.ts';

export interface TrackerCounts {
  sockets: number;
  peers: number;
  streams: number;
  liveStreams: number;
}

/** A cluster node's part of /health and /metrics. */
export interface ClusterReport {
  /** `stream`: one stream (or cell unit) to report on, from `/health?stream=<id>`. */
  health(stream?: string): Record<string, unknown>;
  metrics(): string;
}

export interface HttpEndpoints {
  /** Answers /health, /healthz and /metrics; returns false for any other request. */
  handleHttp(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  close(): void;
}

const isLoopback = (address: string): boolean => /^(127\.|::1$|::ffff:127\.)/.test(address);

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Who may read /metrics: anyone with access 'public'; a request bearing the token (compared in
 * constant time); otherwise only the tracker's own host (`addressOf` applies the proxy rule).
 */
export function metricsReader(config: { metricsAccess?: 'loopback' | 'public'; metricsToken?: string }, addressOf: (req: http.IncomingMessage) => string): (req: http.IncomingMessage) => boolean {
  return (req) => {
    if (config.metricsAccess === 'public') return true;
    if (config.metricsToken && sameText(String(req.headers.authorization ?? ''), `Bearer ${config.metricsToken}`)) return true;
    return isLoopback(addressOf(req));
  };
}

export function createHttpEndpoints(metrics: TrackerMetrics, counts: () => TrackerCounts, mayReadMetrics: (req: http.IncomingMessage) => boolean = () => true, cluster: () => ClusterReport | null = () => null): HttpEndpoints {
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  const gauges = () => {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage(cpu0);
    return {
      ...counts(),
      residentBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      cpuSecondsTotal: (cpu.user + cpu.system) / 1e6,
      uptimeSeconds: (Date.now() - started) / 1000,
      eventLoopDelayP99Seconds: loopDelay.percentile(99) / 1e9,
      eventLoopDelayMaxSeconds: loopDelay.max / 1e9,
    };
  };

  return {
    handleHttp(req, res) {
      const p = (req.url ?? '/').split('?')[0];
      if (p === '/health' || p === '/healthz') {
        const { sockets, peers, streams } = counts();
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        // A node cut off from Redis still serves its local peers: it stays ok (no restart by a
        // health check), and says so under `cluster`.
        const cl = cluster();
        // `?stream=<id>`: that stream's owner as this node knows it (the owned list is cut at 100).
        const q = (req.url ?? '').indexOf('?');
        const asked = q < 0 ? null : new URLSearchParams((req.url as string).slice(q + 1, q + 1 + 512)).get('stream');
        res.end(JSON.stringify({ ok: true, sockets, peers, streams, uptimeS: Math.round((Date.now() - started) / 1000), ...(cl ? { cluster: cl.health(asked ?? undefined) } : {}) }));
        return true;
      }
      if (p === '/metrics') {
        if (!mayReadMetrics(req)) {
          res.writeHead(403, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
          res.end('metrics are private: ask from the tracker host, or with the metrics token\n');
          return true;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' });
        res.end(metrics.render(gauges()) + (cluster()?.metrics() ?? ''));
        loopDelay.reset(); // delays are reported per scrape interval
        return true;
      }
      return false;
    },
    close() {
      loopDelay.disable();
    },
  };
}
