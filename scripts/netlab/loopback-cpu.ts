// Where a Node peer's CPU goes, on loopback (no namespaces, no root): a tracker, a Node broadcaster
// and N Node peers as processes of their own; after a warm-up, over a window, it prints per process
// its CPU share of one core (from /proc, every thread), per thread of one peer, each peer's frames,
// and the messages it sent per second by channel and wire type with the datachannel sends they
// took. With --profile, peer p0 also runs under --cpu-prof (its main thread's profile; the
// profiler's own thread makes p0's CPU figure larger than the others') and the profile's self time
// in the window is summed by function. The machine's load average is printed beside the figures.
//
//   node --import tsx scripts/netlab/loopback-cpu.ts [--peers 6] [--warmup 10] [--seconds 20]
//        [--bitrate 300000] [--profile DIR] [--root CHECKOUT]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { root: { type: 'string' }, peers: { type: 'string' }, warmup: { type: 'string' }, seconds: { type: 'string' }, bitrate: { type: 'string' }, profile: { type: 'string' }, port: { type: 'string' } },
});
// --root: the checkout whose tracker, broadcaster and peers run (another commit, to compare); default this one.
const ROOT = values.root ? `${values.root.replace(/\/$/, '')}/` : fileURLToPath(new URL('../../', import.meta.url));
const count = Number(values.peers ?? 6);
const warmup = Number(values.warmup ?? 10);
const seconds = Number(values.seconds ?? 20);
const bitrate = Number(values.bitrate ?? 300_000);
const port = Number(values.port ?? 18000 + (process.pid % 2000));
const profDir = values.profile;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const TICK = 100; // clock ticks per second of /proc (USER_HZ)

type Stats = Record<string, number | string | null | object>;
class Proc {
  readonly lines: Stats[] = [];
  readonly errLines: string[] = [];
  constructor(readonly name: string, readonly child: ChildProcess) {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      for (let i; (i = out.indexOf('\n')) >= 0; out = out.slice(i + 1)) {
        try {
          this.lines.push(JSON.parse(out.slice(0, i)) as Stats);
        } catch {
          // not JSON
        }
      }
    });
    let err = '';
    child.stderr?.on('data', (d) => {
      err += String(d);
      for (let i; (i = err.indexOf('\n')) >= 0; err = err.slice(i + 1)) this.errLines.push(err.slice(0, i));
    });
  }
  get last(): Stats | undefined {
    return this.lines[this.lines.length - 1];
  }
}

/** utime + stime of a process (every thread) or one thread, in clock ticks. */
function ticks(path: string): number {
  let s: string;
  try {
    s = readFileSync(path, 'utf8');
  } catch {
    return NaN; // the process ended
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
function threads(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    // the process ended
  }
  for (const t of tasks) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      m.set(`${comm}#${t}`, ticks(`/proc/${pid}/task/${t}/stat`));
    } catch {
      // thread ended
    }
  }
  return m;
}

const procs: Proc[] = [];
const exitAt = new Map<Proc, number>();
const start = (name: string, args: string[]): Proc => {
  const p = new Proc(name, spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  p.child.once('exit', () => exitAt.set(p, Date.now()));
  procs.push(p);
  return p;
};
const stopAll = async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await sleep(3000);
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(1)));

try {
  const tracker = start('tracker', ['--max-semi-space-size=64', `${ROOT}bin/p2p-player-tracker.js`, '--host', '127.0.0.1', '--port', String(port), '--quiet']);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tracker did not start')), 30_000);
    tracker.child.stdout?.on('data', (d) => /listening on/.test(String(d)) && (clearTimeout(t), resolve()));
  });
  const bc = start('bc', ['--import', 'tsx', `${ROOT}scripts/netlab/lab-broadcaster.ts`, `ws://127.0.0.1:${port}`, '--bitrate', String(bitrate), '--stats-interval', '500']);
  for (let i = 0; i < 300 && !bc.lines.some((l) => typeof l.streamId === 'string'); i++) await sleep(100);
  const head = bc.lines.find((l) => typeof l.streamId === 'string');
  if (!head) throw new Error('no stream id from the broadcaster');
  if (profDir) mkdirSync(profDir, { recursive: true });
  const peers = Array.from({ length: count }, (_, i) =>
    start(`p${i}`, [
      ...(i === 0 && profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      '--import', 'tsx', '--import', fileURLToPath(new URL('./count-sends.ts', import.meta.url)),
      `${ROOT}bin/p2p-player-peer.js`, '--json', '--stats-interval', '500', `http://127.0.0.1:${port}/watch/${head.streamId as string}`,
    ]),
  );
  console.log(`loopback: ${count} Node peers, ${bitrate / 1000} kbit/s, frames of ${head.frameBytes as number} bytes, ${Number(head.framesPerSec).toFixed(2)} per second; warm-up ${warmup} s, window ${seconds} s`);
  console.log(`  load average at start ${load()}`);
  await sleep(warmup * 1000);
  const windowStart = Date.now();
  for (const p of peers) p.child.kill('SIGUSR2');
  const at0 = new Map(procs.map((p) => [p, { cpu: ticks(`/proc/${p.child.pid}/stat`), line: p.last, threads: threads(p.child.pid!) }]));
  await sleep(seconds * 1000);
  for (const p of peers) p.child.kill('SIGUSR2');
  const at1 = new Map(procs.map((p) => [p, { cpu: ticks(`/proc/${p.child.pid}/stat`), line: p.last, threads: threads(p.child.pid!) }]));
  const wall = (Date.now() - windowStart) / 1000;
  await sleep(300);
  console.log(`  load average at the end ${load()}`);
  const pct = (t: number) => ((t / TICK / wall) * 100).toFixed(1);
  for (const p of procs) {
    const a = at0.get(p)!;
    const b = at1.get(p)!;
    const d = (k: string) => Number(b.line?.[k] ?? 0) - Number(a.line?.[k] ?? 0);
    const rate = (k: string) => (d(k) / wall).toFixed(1);
    let extra = '';
    if (p.name.startsWith('p')) {
      extra = `, frames ${d('framesDelivered')} ok / ${d('framesMissed')} missed, neighbours ${String(b.line?.peers)}, media ${rate('mediaMessagesOut')}/s in ${rate('mediaLinkMessagesOut')} sends/s, control ${rate('controlMessagesOut')}/s in ${rate('controlLinkMessagesOut')} sends/s, loop p99 ${String(b.line?.loopDelayP99Ms)} ms`;
    }
    if (p.child.exitCode !== null) extra += ` — EXITED with ${p.child.exitCode}: ${p.errLines.filter((l) => !l.startsWith('{"sendCounts"')).slice(-5).join(' | ')}`;
    console.log(`  ${p.name.padEnd(7)} CPU ${pct(b.cpu - a.cpu).padStart(5)} % of a core${extra}`);
  }
  // Per thread, grouped by name, mean over the peers not profiled (the profiler adds a thread and slows its peer).
  const measured = profDir ? peers.slice(1) : peers;
  const byName = new Map<string, number>();
  for (const p of measured) {
    for (const [k, v] of at1.get(p)!.threads) {
      const name = k.slice(0, k.lastIndexOf('#'));
      byName.set(name, (byName.get(name) ?? 0) + (v - (at0.get(p)!.threads.get(k) ?? 0)) / measured.length);
    }
  }
  const meanCpu = measured.reduce((n, p) => n + at1.get(p)!.cpu - at0.get(p)!.cpu, 0) / measured.length;
  console.log(`  mean peer${profDir ? ' (p0, profiled, left out)' : ''}: CPU ${pct(meanCpu)} % of a core; by thread: ${[...byName].filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${pct(v)} %`).join(', ')}`);
  // Messages by kind, per second, summed over the peers and the mean per peer.
  const kinds = new Map<string, number>();
  for (const p of peers) {
    const dumps = p.errLines.filter((l) => l.startsWith('{"sendCounts"')).map((l) => JSON.parse(l) as { sendCounts: Record<string, number> });
    if (dumps.length < 2) continue;
    const [x, y] = [dumps[0].sendCounts, dumps[dumps.length - 1].sendCounts];
    for (const k of Object.keys(y)) kinds.set(k, (kinds.get(k) ?? 0) + y[k] - (x[k] ?? 0));
  }
  console.log(`  messages per second per peer (mean of ${count}) by channel:type: ${[...kinds].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${(v / count / wall).toFixed(1)}`).join(', ')}`);
  await stopAll();
  if (profDir) {
    await sleep(500);
    const file = readdirSync(profDir).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f)).map((f) => join(profDir, f)).sort().pop();
    if (file) summarize(file, windowStart, wall, exitAt.get(peers[0]) ?? Date.now());
  }
} finally {
  await stopAll();
}

/** Self time by function of the samples in the window (the profile's clock is in µs since an origin: the window is its last part). */
function summarize(file: string, windowStartMs: number, wallSec: number, exitMs: number): void {
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  // The profile ends when the process exits; take the window as the span that ended `stopped` before that.
  const endUs = prof.endTime;
  const fromUs = endUs - (exitMs - windowStartMs) * 1000;
  const toUs = fromUs + wallSec * 1e6;
  const self = new Map<string, number>();
  let t = prof.startTime;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    const n = byId.get(prof.samples[i])!;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  console.log(`  p0 profile (${file}): ${(total / 1e6).toFixed(1)} s of samples in the window; self time:`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`    ${(v / 1e3).toFixed(0).padStart(6)} ms ${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
}
