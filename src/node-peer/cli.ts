// Command line of the Node peer: joins a stream from its watch link as a headless viewer that
// decodes, verifies and relays, and prints its stats once a second (a line, or JSON with --json;
// --stats-interval changes the cadence). Run by bin/p2p-player-peer.js; holds no session logic.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { isP2PError } from '../errors.ts';
import type { TransportStats } from '../transport/transport.ts';
import { formatStatsLine, NodePeer } from './node-peer.ts';

const HELP = `p2p-player-peer: watch a p2p-player stream headless (decode, verify, relay) and print stats

Usage: p2p-player-peer <watch link> [options]

  --tracker URL          tracker ws:// or wss:// URL (default: the watch link's host /tracker,
                         or its ?tracker=); given again, more nodes of the same tracker
                         deployment, tried in turn when the connection is lost
  --relay-only           connect to neighbours only through the tracker's TURN server, so they
                         never learn this machine's addresses
  --upload-limit BPS     cap media upload at BPS bits per second (also told to the tracker)
  --seconds N            leave after N seconds (default: run until SIGINT/SIGTERM)
  --stats-interval MS    print stats every MS milliseconds, 100 … 60000 (default 1000)
  --json                 one JSON object of stats per line instead of text; it adds the
                         process's CPU time (cpuMs) and how late its event loop ran since the
                         last line (loopDelayP99Ms, loopDelayMaxMs), to see a starved machine,
                         and the media, control and requests messages sent and the datachannel
                         messages they took (mediaMessagesOut, mediaLinkMessagesOut,
                         controlMessagesOut, controlLinkMessagesOut, requestsMessagesOut,
                         requestsLinkMessagesOut; batching packs several in one)
  --help                 this text

STUN/TURN servers come from the tracker; none are configured here.`;

/** The message counters of the JSON stats line. */
function messageCounts(t: TransportStats): Pick<TransportStats, 'mediaMessagesOut' | 'mediaLinkMessagesOut' | 'controlMessagesOut' | 'controlLinkMessagesOut' | 'requestsMessagesOut' | 'requestsLinkMessagesOut'> {
  return {
    mediaMessagesOut: t.mediaMessagesOut,
    mediaLinkMessagesOut: t.mediaLinkMessagesOut,
    controlMessagesOut: t.controlMessagesOut,
    controlLinkMessagesOut: t.controlLinkMessagesOut,
    requestsMessagesOut: t.requestsMessagesOut,
    requestsLinkMessagesOut: t.requestsLinkMessagesOut,
  };
}

export async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        tracker: { type: 'string', multiple: true },
        'relay-only': { type: 'boolean' },
        'upload-limit': { type: 'string' },
        seconds: { type: 'string' },
        'stats-interval': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`p2p-player-peer: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  const o = parsed.values;
  if (o.help) {
    console.log(HELP);
    return;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`p2p-player-peer: give exactly one watch link\n\n${HELP}`);
    process.exit(2);
  }
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      console.error(`p2p-player-peer: --${name} must be a positive number, got ${v}`);
      process.exit(2);
    }
    return n;
  };
  const seconds = num(o.seconds, 'seconds');
  const statsMs = num(o['stats-interval'], 'stats-interval') ?? 1000;
  if (statsMs < 100 || statsMs > 60_000) {
    console.error(`p2p-player-peer: --stats-interval must be 100 … 60000 ms, got ${statsMs}`);
    process.exit(2);
  }
  let peer: NodePeer;
  try {
    peer = await NodePeer.start({
      watchLink: parsed.positionals[0],
      trackerUrl: o.tracker?.[0],
      ...(o.tracker && o.tracker.length > 1 ? { trackerUrls: o.tracker.slice(1) } : {}),
      relayOnly: o['relay-only'],
      uploadLimitBps: num(o['upload-limit'], 'upload-limit'),
    });
  } catch (e) {
    console.error(`p2p-player-peer: ${(e as Error).message}`);
    process.exit(isP2PError(e, 'BAD_CONFIG') ? 2 : 1);
  }
  const started = performance.now();
  peer.session.on('error', (e) => {
    if (!o.json) console.error(`p2p-player-peer: tracker: ${e.code}: ${e.message}`);
  });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const print = () => {
    const elapsed = (performance.now() - started) / 1000;
    const s = peer.stats;
    if (!o.json) {
      console.log(formatStatsLine(s, elapsed));
      return;
    }
    const cpu = process.cpuUsage();
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e5) / 10 : 0);
    console.log(JSON.stringify({
      t: Number(elapsed.toFixed(2)),
      ...s,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      ...messageCounts(peer.transport.transportStats()),
      loopDelayP99Ms: ms(loop.percentile(99)),
      loopDelayMaxMs: ms(loop.max),
    }));
    loop.reset();
  };
  const timer = setInterval(print, statsMs);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    print();
    loop.disable();
    peer.destroy();
    // The native WebRTC threads can keep the loop alive a moment after every connection closed.
    setTimeout(() => process.exit(0), 200).unref();
  };
  if (seconds !== undefined) setTimeout(stop, seconds * 1000);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main(process.argv.slice(2));
