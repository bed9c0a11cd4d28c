// Command line of the swarm simulator: parses the flags, runs one simulation and prints the
// issue's figures as lines, or as JSON with --json. The only file of src/sim that touches
// process (argv, stdout). Run with `npm run sim -- --peers 1000 --seconds 120 …`.

import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { createCodec } from '../codec/index.ts';
import { isP2PError } from '../errors.ts';
import { ATTACK_KINDS } from './adversary.ts';
import { LINK_PRESETS, type SimOptions } from './sim-options.ts';
import { formatReport } from './sim-report.ts';
import { simulateParallel } from './parallel.ts';
import { simulate } from './simulator.ts';

const HELP = `npm run sim -- [flags]
  --peers N            viewers (default 8)
  --bitrate BPS        stream bitrate, bits/s (default 2500000)
  --seconds S          stream length (default 30)
  --rtt MIN-MAX        round-trip time per pair, ms (default 50-150)
  --jitter MS          extra one-way jitter, ms (default 5)
  --loss P             mean loss, 0…0.5 (real: 0.05, bursty)
  --churn P            share of viewers leaving per minute (real: 0.1, half of them crashing)
  --up MIN-MAX         viewer upload limits, bits/s (kind presets only; real draws per class)
  --down BPS           viewer download limit, bits/s (kind presets only)
  --preset NAME        world preset: ${Object.keys(LINK_PRESETS).join(', ')} (default real: the harsh
                       world of sim-world.ts; flags after it override its numbers)
  --frame-ms MS        frame closing period (default 150)
  --polluters N        viewers sending corrupt feed and seed packets (the first N to join)
  --adversaries S      share of the viewers that attack, 0…1 (e.g. 0.1; one thread only)
  --attack KIND        what they do: mix (default: the kinds in turn) or one of
                       ${ATTACK_KINDS.join(', ')}
  --bytes              real bytes through the WASM codec and WebCrypto (small N only)
  --workers N          worker threads sharing the peers (identity runs only; default: one per
                       core from 200 peers, else 1)
  --timeline           trace where each decoded frame's time went and print it for late and
                       on-time frames (one thread)
  --why-missed         sort the frames not played on time by cause, from each late frame's state
                       when the player needed it (runs the simulation twice; one thread)
  --ordered-requests   REQUESTs on the ordered control channel, as before the transport's requests
                       channel (default: on the reliable unordered requests channel, as the
                       product: no wait behind a lost control message; --unordered-requests says so)
  --peer-config JSON   overrides of the viewers' protocol config, e.g. '{"pushKeys":64}'
  --tracker NAME       room (the tracker's own Room, default) or simple (the simulator's stand-in)
  --seed N             seed (default 1)
  --json               print the report as JSON`;

function range(v: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(v);
  if (!m) throw new Error(`not a range: ${v}`);
  const a = Number(m[1]);
  return [a, m[2] === undefined ? a : Number(m[2])];
}

export function parseArgs(argv: string[]): { options: Partial<SimOptions>; json: boolean; help: boolean } {
  // The figures the CLI prints come from the tracker's own room logic; `simple` is for comparison.
  const o: Partial<SimOptions> = { tracker: 'room', ...LINK_PRESETS.real };
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--peers': o.peers = Number(v()); break;
      case '--bitrate': o.bitrateBps = Number(v()); break;
      case '--seconds': o.seconds = Number(v()); break;
      case '--rtt': [o.rttMinMs, o.rttMaxMs] = range(v()); break;
      case '--jitter': o.jitterMs = Number(v()); break;
      case '--loss': o.loss = Number(v()); break;
      case '--churn': o.churnPerMin = Number(v()); break;
      case '--up': [o.upMinBps, o.upMaxBps] = range(v()); break;
      case '--down': o.downBps = Number(v()); break;
      case '--frame-ms': o.frameMs = Number(v()); break;
      case '--polluters': o.polluters = Number(v()); break;
      case '--adversaries': o.adversaries = Number(v()); break;
      case '--attack': o.attack = v() as SimOptions['attack']; break;
      case '--seed': o.seed = Number(v()); break;
      case '--preset': {
        const name = v() as keyof typeof LINK_PRESETS;
        if (!LINK_PRESETS[name]) throw new Error(`unknown preset ${name}`);
        // A kind preset replaces the whole harsh world, not only its link numbers.
        if (name !== 'real') {
          delete o.world;
          Object.assign(o, { churnPerMin: 0, source: 'steady', frameMs: 150, keyFrameMs: 500, initEveryMs: 2000, keyFrameSize: [1, 1] });
        }
        Object.assign(o, LINK_PRESETS[name]);
        break;
      }
      case '--bytes': o.bytes = true; break;
      case '--tracker': o.tracker = v() as SimOptions['tracker']; break;
      case '--workers': o.workers = Number(v()); break;
      case '--timeline': o.timeline = true; break;
      case '--why-missed': o.whyMissed = true; break;
      case '--unordered-requests': o.orderedRequests = false; break;
      case '--ordered-requests': o.orderedRequests = true; break;
      case '--peer-config': o.peerConfig = JSON.parse(v()) as SimOptions['peerConfig']; break;
      case '--json': json = true; break;
      case '--help': case '-h': help = true; break;
      default: throw new Error(`unknown flag ${a}`);
    }
  }
  return { options: o, json, help };
}

/**
 * Heap a run needs, MB: 1.5 GB plus 1 MB per peer (10 000 peers: 11.5 GB). About 0.4–0.55 MB per
 * peer is live; the rest keeps the collector from running flat out near the limit.
 */
export function heapNeededMb(peers: number): number {
  return 1536 + peers;
}

/**
 * Large runs need more heap than the npm script's default, and a large young generation lets most
 * of a frame's short-lived data die there (256 MB semi-spaces: about 15 % less CPU than 64 MB at
 * 1 000 peers): run again in a child Node with both (once; the child sees it has them). Returns
 * false when this process is fit for the run.
 */
function rerunWithHeap(peers: number): boolean {
  const need = heapNeededMb(peers);
  const semi = peers >= 500 && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'));
  const limit = getHeapStatistics().heap_size_limit / 2 ** 20;
  if (limit >= need && !semi) return false;
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--max-old-space-size'));
  if (semi) execArgv.push('--max-semi-space-size=256');
  const r = spawnSync(process.execPath, [...execArgv, `--max-old-space-size=${Math.ceil(Math.max(need, limit))}`, process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/**
 * Worker threads for a run nobody chose a count for (one with attackers): one per core (at most 8) from 200 peers in
 * identity runs, where the windows carry enough work to pay for the hand-over; else one.
 */
export function defaultWorkers(peers: number, bytes: boolean, attackers = false): number {
  return !bytes && !attackers && peers >= 200 ? Math.max(1, Math.min(8, availableParallelism())) : 1;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(String((e as Error).message));
    console.error(HELP);
    process.exit(2);
  }
  if (args.help) {
    console.log(HELP);
    return;
  }
  rerunWithHeap(args.options.peers ?? 8);
  if (args.options.bytes) args.options.codec = await createCodec();
  try {
    const o = args.options;
    o.workers ??= o.timeline || o.whyMissed ? 1 : defaultWorkers(o.peers ?? 8, o.bytes === true, (o.adversaries ?? 0) > 0 || (o.polluters ?? 0) > 0);
    const report = o.workers > 1 ? await simulateParallel(o) : (await simulate(o)).report;
    console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
  } catch (e) {
    if (isP2PError(e)) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
}

await main();
