// Tracker counters and their Prometheus text form: messages by type, rejected messages by code,
// relayed signals and the relay latency histogram. Pure bookkeeping (no I/O, no clock); the
// server feeds it and serves `render()` at /metrics.

const LATENCY_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

export interface Gauges {
  sockets: number;
  peers: number;
  streams: number;
  liveStreams: number;
  residentBytes: number;
  heapUsedBytes: number;
  cpuSecondsTotal: number;
  uptimeSeconds: number;
  eventLoopDelayP99Seconds: number;
  eventLoopDelayMaxSeconds: number;
}

export class TrackerMetrics {
  readonly messages = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  /** Messages sent, by type. */
  readonly sent = new Map<string, number>();
  relayed = 0;
  bytesIn = 0;
  bytesOut = 0;
  connectionsTotal = 0;
  private readonly latencyCounts = new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0);
  private latencySum = 0;
  /** Longest slice of room ticks since the last scrape, seconds. */
  tickSliceMaxSeconds = 0;

  countMessage(type: string): void {
    this.messages.set(type, (this.messages.get(type) ?? 0) + 1);
  }

  countSent(type: string): void {
    this.sent.set(type, (this.sent.get(type) ?? 0) + 1);
  }

  /** Counts a rejected message or connection under its stable error code. */
  reject(code: string): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
  }

  /** Records one relayed signal and the time the tracker held it, in seconds. */
  observeRelay(seconds: number): void {
    this.relayed++;
    this.latencySum += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[i]) i++;
    this.latencyCounts[i]++;
  }

  /** Records the duration of one slice of room ticks. */
  observeTickSlice(seconds: number): void {
    if (seconds > this.tickSliceMaxSeconds) this.tickSliceMaxSeconds = seconds;
  }

  /** Upper bound of the bucket holding quantile q (0…1) of relay latency, seconds; 0 with no data. */
  relayQuantile(q: number): number {
    const total = this.relayed;
    if (total === 0) return 0;
    let acc = 0;
    for (let i = 0; i < this.latencyCounts.length; i++) {
      acc += this.latencyCounts[i];
      if (acc >= q * total) return LATENCY_BUCKETS_S[i] ?? Infinity;
    }
    return Infinity;
  }

  totalRejected(): number {
    let n = 0;
    for (const v of this.rejected.values()) n += v;
    return n;
  }

  render(g: Gauges): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
    const counter = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
    gauge('p2p_tracker_sockets', 'Open WebSocket connections.', g.sockets);
    gauge('p2p_tracker_peers', 'Peers joined to a stream.', g.peers);
    gauge('p2p_tracker_streams', 'Streams with at least one peer.', g.streams);
    gauge('p2p_tracker_live_streams', 'Streams whose broadcaster is connected.', g.liveStreams);
    counter('p2p_tracker_connections_total', 'WebSocket connections accepted.', this.connectionsTotal);
    lines.push('# HELP p2p_tracker_messages_total Valid messages received, by type.', '# TYPE p2p_tracker_messages_total counter');
    for (const [t, v] of [...this.messages].sort()) lines.push(`p2p_tracker_messages_total{type="${t}"} ${v}`);
    lines.push('# HELP p2p_tracker_rejected_total Rejected messages and connections, by error code.', '# TYPE p2p_tracker_rejected_total counter');
    for (const [c, v] of [...this.rejected].sort()) lines.push(`p2p_tracker_rejected_total{code="${c}"} ${v}`);
    lines.push('# HELP p2p_tracker_sent_messages_total Messages sent to peers, by type.', '# TYPE p2p_tracker_sent_messages_total counter');
    for (const [t, v] of [...this.sent].sort()) lines.push(`p2p_tracker_sent_messages_total{type="${t}"} ${v}`);
    counter('p2p_tracker_relayed_total', 'Signals relayed between introduced peers.', this.relayed);
    counter('p2p_tracker_received_bytes_total', 'Bytes of text frames received.', this.bytesIn);
    counter('p2p_tracker_sent_bytes_total', 'Bytes of text frames sent.', this.bytesOut);
    lines.push('# HELP p2p_tracker_relay_latency_seconds Time from receiving a signal to handing it to the target socket.', '# TYPE p2p_tracker_relay_latency_seconds histogram');
    let acc = 0;
    LATENCY_BUCKETS_S.forEach((b, i) => {
      acc += this.latencyCounts[i];
      lines.push(`p2p_tracker_relay_latency_seconds_bucket{le="${b}"} ${acc}`);
    });
    lines.push(`p2p_tracker_relay_latency_seconds_bucket{le="+Inf"} ${this.relayed}`);
    lines.push(`p2p_tracker_relay_latency_seconds_sum ${this.latencySum}`, `p2p_tracker_relay_latency_seconds_count ${this.relayed}`);
    gauge('process_resident_memory_bytes', 'Resident memory of the tracker process.', g.residentBytes);
    gauge('nodejs_heap_used_bytes', 'V8 heap in use.', g.heapUsedBytes);
    counter('process_cpu_seconds_total', 'User and system CPU time of the tracker process.', g.cpuSecondsTotal);
    gauge('p2p_tracker_event_loop_delay_p99_seconds', 'Event loop delay, 99th percentile since the last scrape.', g.eventLoopDelayP99Seconds);
    gauge('p2p_tracker_event_loop_delay_max_seconds', 'Event loop delay, maximum since the last scrape.', g.eventLoopDelayMaxSeconds);
    gauge('p2p_tracker_tick_slice_max_seconds', 'Longest uninterrupted slice of room ticks since the last scrape.', this.tickSliceMaxSeconds);
    this.tickSliceMaxSeconds = 0;
    gauge('process_uptime_seconds', 'Seconds since the tracker started.', g.uptimeSeconds);
    return lines.join('\n') + '\n';
  }
}
