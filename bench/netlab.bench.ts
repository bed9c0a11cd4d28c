// `npm run bench:netlab [-- --seconds 120 --peers 12 --bitrate 300000 --loss 5 --nats full-cone,none]`: scenario 1 of the network
// lab (broadcaster + Node peers over mixed NATs, 5 % bursty loss) and scenario 3 (tracker SIGKILL
// and restart), printing the figures; nothing is asserted. Needs root and the lab's packages.
import { parseArgs } from 'node:util';
import { prepareLab, type NatKind } from '../scripts/netlab/lab.ts';
import { framesBetween, LabSwarm, mixedPeers } from '../scripts/netlab/lab-swarm.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, peers: { type: 'string' }, bitrate: { type: 'string' }, loss: { type: 'string' }, nats: { type: 'string' } } });
const seconds = Number(values.seconds ?? 120);
const count = Number(values.peers ?? 12);
const bitrate = Number(values.bitrate ?? 300_000);
const lossPercent = Number(values.loss ?? 5);
const nats = (values.nats ?? 'full-cone,port-restricted,none,symmetric').split(',') as NatKind[];
const check = prepareLab();
if (!check.ok) {
  console.log(`bench:netlab cannot run: ${check.reason}`);
  process.exit(0);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const swarm = new LabSwarm();
try {
  await swarm.startServices();
  const loss = lossPercent > 0 ? ({ kind: 'bursty', percent: lossPercent, burstPackets: 4 } as const) : undefined;
  await swarm.startBroadcaster('bc', { nat: 'port-restricted', loss }, bitrate);
  const peers = mixedPeers(swarm, count, loss, nats);
  console.log(`scenario 1: ${count} Node peers (NATs in turn: ${nats.join(', ')}; symmetric ones relay-only), bursty loss ${lossPercent} % (bursts of 4 packets, UDP, at each router), ${bitrate / 1000} kbit/s, ${seconds} s window after a 15 s warm-up`);
  await sleep(15_000);
  const from = new Map(peers.map((p) => [p, p.last]));
  const b0 = swarm.broadcaster!.last;
  await sleep(seconds * 1000);
  const b1 = swarm.broadcaster!.last;
  let worst = 1;
  let links = 0;
  let relayedLinks = 0;
  let connected = 0;
  const firsts: number[] = [];
  for (const p of peers) {
    const f = framesBetween(from.get(p), p.last);
    const share = f.delivered + f.missed === 0 ? 0 : f.delivered / (f.delivered + f.missed);
    worst = Math.min(worst, share);
    const l = p.last ?? { t: 0 };
    links += Number(l.peers ?? 0);
    relayedLinks += Number(l.relayedPeers ?? 0);
    if (Number(l.peers ?? 0) > 0) connected++;
    if (typeof l.firstFrameMs === 'number') firsts.push(l.firstFrameMs);
    console.log(`  ${p.name.padEnd(4)} frames on time ${(share * 100).toFixed(2).padStart(6)} % (${f.delivered} ok, ${f.missed} missed), neighbours ${l.peers} (relayed ${l.relayedPeers}), from peers ${(Number(l.shareFromPeers ?? 0) * 100).toFixed(0)} %, first frame ${typeof l.firstFrameMs === 'number' ? (l.firstFrameMs / 1000).toFixed(2) + ' s' : 'never'}`);
  }
  const up = Number(b1?.bytesUp ?? 0) - Number(b0?.bytesUp ?? 0);
  const stream = Number(b1?.streamBytes ?? 0) - Number(b0?.streamBytes ?? 0);
  firsts.sort((a, b) => a - b);
  console.log(`  worst peer frames on time: ${(worst * 100).toFixed(2)} % (target ≥ 99.5 %)`);
  console.log(`  peers connected: ${connected} of ${count}; neighbour links through TURN: ${relayedLinks} of ${links} (${links ? ((relayedLinks / links) * 100).toFixed(0) : 0} %)`);
  console.log(`  broadcaster upload / stream: ${stream ? (up / stream).toFixed(2) : 'n/a'} (target ≤ 1.1)`);
  console.log(`  first picture (first verified frame after start): median ${firsts.length ? (firsts[firsts.length >> 1] / 1000).toFixed(2) : 'n/a'} s, worst ${firsts.length ? (firsts[firsts.length - 1] / 1000).toFixed(2) : 'n/a'} s (target ≤ 2 s)`);

  await swarm.killTracker();
  await sleep(3000);
  await swarm.startTracker();
  const restartedAt = Date.now();
  const times = await Promise.all(peers.map(async (p) => {
    try {
      const s = await p.waitFor((x) => (x.at as number) > restartedAt && x.trackerConnected === true && Number(x.peers) >= 1, 'rejoined', 20_000);
      return ((s.at as number) - restartedAt) / 1000;
    } catch {
      return Infinity;
    }
  }));
  const bc = await swarm.broadcaster!.waitFor((x) => (x.at as number) > restartedAt && x.trackerConnected === true && Number(x.viewers) >= count, 'viewers back', 20_000).catch(() => null);
  console.log(`scenario 3: tracker SIGKILLed, restarted 3 s later: peers rejoined after ${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} s (stats lines once a second), broadcaster saw all ${count} viewers after ${bc ? (((bc.at as number) - restartedAt) / 1000).toFixed(1) + ' s' : 'more than 20 s'}`);
} finally {
  await swarm.destroy();
}
