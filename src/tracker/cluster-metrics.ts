// Counters of a tracker node in a cluster and their Prometheus text: messages to and from other
// nodes by kind, ownership changes, events of deposed owners dropped, the shared engine's state and
// round-trip times. Pure bookkeeping; cluster-node.ts feeds it, http-endpoints.ts serves it.

const RTT_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class ClusterMetrics {
  /** Messages to other nodes by kind (join, leave, hb, failed, complaint, ev, sig; lost: nobody received them). */
  readonly out = new Map<string, number>();
  /** Messages from other nodes by kind (bad: malformed, dropped). */
  readonly in = new Map<string, number>();
  /** Ownership changes: acquired, lost, reacquired (after the engine restarted empty), moved (another node took over). */
  readonly ownershipChanges = new Map<string, number>();
  crossNodeBytes = 0;
  /** Events of an owner whose epoch is behind the one this node knows, dropped. */
  staleDropped = 0;
  /** Cells opened by this node as a stream's owner (a stream split). */
  cellsOpened = 0;
  backendUp = false;
  private readonly rttCounts = new Array<number>(RTT_BUCKETS_S.length + 1).fill(0);
  private rttSum = 0;
  private rttCount = 0;

  crossNode(dir: 'in' | 'out', kind: string, n = 1): void {
    const m = dir === 'in' ? this.in : this.out;
    m.set(kind, (m.get(kind) ?? 0) + n);
  }

  ownership(kind: 'acquired' | 'lost' | 'reacquired' | 'moved'): void {
    this.ownershipChanges.set(kind, (this.ownershipChanges.get(kind) ?? 0) + 1);
  }

  observeRoundTrip(seconds: number): void {
    this.rttCount++;
    this.rttSum += seconds;
    let i = 0;
    while (i < RTT_BUCKETS_S.length && seconds > RTT_BUCKETS_S[i]) i++;
    this.rttCounts[i]++;
  }

  /** Operations on the shared engine so far. */
  get roundTrips(): number {
    return this.rttCount;
  }

  /** Upper bound of the bucket holding quantile q of round-trip times, seconds; 0 with no data. */
  roundTripQuantile(q: number): number {
    if (this.rttCount === 0) return 0;
    let acc = 0;
    for (let i = 0; i < this.rttCounts.length; i++) {
      acc += this.rttCounts[i];
      if (acc >= q * this.rttCount) return RTT_BUCKETS_S[i] ?? Infinity;
    }
    return Infinity;
  }

  render(ownedStreams: number): string {
    const lines: string[] = [];
    lines.push('# HELP p2p_tracker_cluster_backend_up 1 while the shared engine (Redis) is reachable.', '# TYPE p2p_tracker_cluster_backend_up gauge', `p2p_tracker_cluster_backend_up ${this.backendUp ? 1 : 0}`);
    lines.push('# HELP p2p_tracker_cluster_owned_streams Streams whose room this node owns.', '# TYPE p2p_tracker_cluster_owned_streams gauge', `p2p_tracker_cluster_owned_streams ${ownedStreams}`);
    lines.push('# HELP p2p_tracker_cluster_messages_total Messages between tracker nodes, by direction and kind.', '# TYPE p2p_tracker_cluster_messages_total counter');
    for (const [k, v] of [...this.out].sort()) lines.push(`p2p_tracker_cluster_messages_total{direction="out",kind="${k}"} ${v}`);
    for (const [k, v] of [...this.in].sort()) lines.push(`p2p_tracker_cluster_messages_total{direction="in",kind="${k}"} ${v}`);
    lines.push('# HELP p2p_tracker_cluster_sent_bytes_total Bytes published to other nodes.', '# TYPE p2p_tracker_cluster_sent_bytes_total counter', `p2p_tracker_cluster_sent_bytes_total ${this.crossNodeBytes}`);
    lines.push('# HELP p2p_tracker_cluster_ownership_changes_total Stream ownership changes of this node, by kind.', '# TYPE p2p_tracker_cluster_ownership_changes_total counter');
    for (const [k, v] of [...this.ownershipChanges].sort()) lines.push(`p2p_tracker_cluster_ownership_changes_total{kind="${k}"} ${v}`);
    lines.push('# HELP p2p_tracker_cluster_stale_events_total Events of a deposed owner (older epoch) dropped.', '# TYPE p2p_tracker_cluster_stale_events_total counter', `p2p_tracker_cluster_stale_events_total ${this.staleDropped}`);
    lines.push('# HELP p2p_tracker_cluster_cells_opened_total Cells opened by this node for streams it owns (a stream split over nodes).', '# TYPE p2p_tracker_cluster_cells_opened_total counter', `p2p_tracker_cluster_cells_opened_total ${this.cellsOpened}`);
    lines.push('# HELP p2p_tracker_cluster_roundtrip_seconds Duration of operations on the shared engine.', '# TYPE p2p_tracker_cluster_roundtrip_seconds histogram');
    let acc = 0;
    RTT_BUCKETS_S.forEach((b, i) => {
      acc += this.rttCounts[i];
      lines.push(`p2p_tracker_cluster_roundtrip_seconds_bucket{le="${b}"} ${acc}`);
    });
    lines.push(`p2p_tracker_cluster_roundtrip_seconds_bucket{le="+Inf"} ${this.rttCount}`, `p2p_tracker_cluster_roundtrip_seconds_sum ${this.rttSum}`, `p2p_tracker_cluster_roundtrip_seconds_count ${this.rttCount}`);
    return lines.join('\n') + '\n';
  }
}
