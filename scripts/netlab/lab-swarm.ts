// A swarm in the network lab: coturn and the tracker on the public segment, a broadcaster and Node
// peers as processes in their lab namespaces, their JSON stats collected line by line, and
// optionally the watch page on the public segment and Chromium viewers behind lab NATs. Used by the
// lab scenarios (scenarios.lab.ts) and `npm run bench:netlab`. Stops every process it started.

import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCoturn, type Coturn } from '../../src/node-peer/coturn.ts';
import { NetLab, PUBLIC_ADDRESS, type HostOptions, type LossModel, type NatKind } from './lab.ts';
import { LabChromium } from './lab-chromium.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TRACKER_PORT = 8787;
const TURN_PORT = 3478;
const PAGES_PORT = 8080;
/** How often the lab's broadcaster and peers print their stats, ms (the scenarios' time resolution). */
export const LAB_STATS_INTERVAL_MS = 500;

export type Stats = Record<string, unknown> & { t: number };

/** One process of the lab and the JSON lines it printed. */
export class LabProcess {
  readonly lines: Stats[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly name: string, readonly child: ChildProcess) {
    let buf = '';
    child.stdout?.on('data', (d) => {
      buf += String(d);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const v = JSON.parse(line) as Stats;
          this.lines.push({ ...v, at: Date.now() });
        } catch {
          // not a stats line
        }
      }
    });
    child.stderr?.on('data', (d) => {
      this.stderr = (this.stderr + String(d)).slice(-4000);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get last(): Stats | undefined {
    return this.lines[this.lines.length - 1];
  }

  /** The last stats line at or before wall-clock time `ms`. */
  at(ms: number): Stats | undefined {
    let found: Stats | undefined;
    for (const l of this.lines) if ((l.at as number) <= ms) found = l;
    return found;
  }

  async waitFor(check: (s: Stats) => boolean, what: string, timeoutMs: number): Promise<Stats> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find(check);
      if (hit) return hit;
      if (Date.now() > end || this.child.exitCode !== null) throw new Error(`${this.name}: timed out waiting for ${what}; last ${JSON.stringify(this.last)} ${this.stderr.slice(-800)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export class LabSwarm {
  readonly lab = new NetLab();
  readonly secret = randomBytes(18).toString('base64url');
  coturn: Coturn | null = null;
  tracker: LabProcess | null = null;
  broadcaster: LabProcess | null = null;
  streamId = '';
  readonly peers = new Map<string, LabProcess>();
  readonly browsers: LabChromium[] = [];
  pages: LabProcess | null = null;
  #pagesDir: string | null = null;
  readonly trackerUrl = `ws://${PUBLIC_ADDRESS}:${TRACKER_PORT}`;

  /** coturn and the tracker on the public segment; the tracker hands out STUN and TURN. */
  async startServices(): Promise<void> {
    const pub = this.lab.publicNs;
    // Two relayed peers on one coturn relay to its own address: coturn answers 403 Forbidden IP to
    // such permissions unless --allow-loopback-peers is on (seen in this lab).
    this.coturn = await startCoturn({
      listenIp: PUBLIC_ADDRESS, port: TURN_PORT, secret: this.secret, allowLoopbackPeers: true, wrap: ['ip', 'netns', 'exec', pub],
      probe: async () => /:3478\b/.test(this.lab.exec(pub, 'ss', ['-Hlun'])),
    });
    await this.startTracker();
  }

  async startTracker(): Promise<void> {
    const child = this.lab.spawn(this.lab.publicNs, process.execPath, [
      `${ROOT}bin/p2p-player-tracker.js`, '--host', PUBLIC_ADDRESS, '--port', String(TRACKER_PORT), '--quiet',
      '--turn-url', `turn:${PUBLIC_ADDRESS}:${TURN_PORT}?transport=udp`, '--stun-url', `stun:${PUBLIC_ADDRESS}:${TURN_PORT}`,
    ], { env: { ...process.env, P2P_TURN_SECRET: this.secret }, cwd: ROOT });
    const p = new LabProcess('tracker', child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tracker did not start: ${p.stderr}`)), 60_000);
      child.stdout?.on('data', (d) => {
        if (/listening on/.test(String(d))) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.tracker = p;
  }

  /** SIGKILL, as a crash: no goodbye to anyone. */
  async killTracker(): Promise<void> {
    const t = this.tracker;
    if (!t) return;
    t.child.kill('SIGKILL');
    await t.exited;
    this.tracker = null;
  }

  /**
   * `spareKeys`: direct-feed feed keys beyond 64 per frame (default: the broadcaster core's);
   * `spareKeysMax`: the most the measured loss may raise them to (default: the core's);
   * `spareRepairCredit`: the core's spareRepairCredit (default 0);
   * `framesPerSec`: frames wanted per second (default 10; frames stay 8 KiB multiples, see frameLayout);
   * `mediaSeconds`: publish that many seconds of real media (H.264 and Opus, lab-media.ts) instead
   * of synthetic frames, which a browser can play; `carryTicks`: its frame cutter's maxCarryTicks (default 1), `initRepeatMs` its init repeat (default 2000).
   */
  async startBroadcaster(host: string, opts: HostOptions, bitrateBps: number, relayOnly = false, tune: { spareKeys?: number; spareKeysMax?: number; spareRepairCredit?: number; framesPerSec?: number; mediaSeconds?: number; carryTicks?: number; initRepeatMs?: number } = {}): Promise<void> {
    const { spareKeys, spareKeysMax, spareRepairCredit, framesPerSec, mediaSeconds, carryTicks, initRepeatMs } = tune;
    const h = this.lab.addHost(host, opts);
    const child = this.lab.spawn(h.ns, process.execPath, [
      '--import', 'tsx', `${ROOT}scripts/netlab/lab-broadcaster.ts`, this.trackerUrl, '--bitrate', String(bitrateBps),
      '--stats-interval', String(LAB_STATS_INTERVAL_MS),
      ...(spareKeys !== undefined ? ['--spare-keys', String(spareKeys)] : []),
      ...(spareKeysMax !== undefined ? ['--spare-keys-max', String(spareKeysMax)] : []),
      ...(spareRepairCredit !== undefined ? ['--spare-repair-credit', String(spareRepairCredit)] : []),
      ...(framesPerSec !== undefined ? ['--fps', String(framesPerSec)] : []),
      ...(relayOnly ? ['--relay-only'] : []),
      ...(mediaSeconds !== undefined ? ['--media', String(mediaSeconds)] : []),
      ...(carryTicks !== undefined ? ['--carry-ticks', String(carryTicks)] : []),
      ...(initRepeatMs !== undefined ? ['--init-repeat-ms', String(initRepeatMs)] : []),
    ], { cwd: ROOT });
    this.broadcaster = new LabProcess(host, child);
    // ffmpeg makes the media first (a few seconds for minutes of it).
    const first = await this.broadcaster.waitFor((s) => typeof s.streamId === 'string', 'the stream id', mediaSeconds !== undefined ? 120_000 : 30_000);
    this.streamId = first.streamId as string;
  }

  startPeer(host: string, opts: HostOptions, flags: string[] = []): LabProcess {
    const h = this.lab.addHost(host, opts);
    const child = this.lab.spawn(h.ns, process.execPath, [`${ROOT}bin/p2p-player-peer.js`, '--json', '--stats-interval', String(LAB_STATS_INTERVAL_MS), ...flags, `http://${PUBLIC_ADDRESS}:${TRACKER_PORT}/watch/${this.streamId}`], { cwd: ROOT });
    const p = new LabProcess(host, child);
    this.peers.set(host, p);
    return p;
  }

  /** Builds the watch page (outside the lab: files only) and serves it on the public segment. */
  async startPages(): Promise<void> {
    this.#pagesDir = mkdtempSync(path.join(tmpdir(), `${this.lab.id}-pages-`));
    execFileSync(process.execPath, ['--import', 'tsx', `${ROOT}scripts/netlab/lab-pages.ts`, 'build', this.#pagesDir], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
    const child = this.lab.spawn(this.lab.publicNs, process.execPath, ['--import', 'tsx', `${ROOT}scripts/netlab/lab-pages.ts`, 'serve', this.#pagesDir, '--host', PUBLIC_ADDRESS, '--port', String(PAGES_PORT)], { cwd: ROOT });
    const p = new LabProcess('pages', child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the page server did not start: ${p.stderr}`)), 60_000);
      child.stdout?.on('data', (d) => {
        if (/listening on/.test(String(d))) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.pages = p;
  }

  /** The watch link of the stream on the lab's page server, with the lab's tracker. */
  watchUrl(): string {
    return `http://${PUBLIC_ADDRESS}:${PAGES_PORT}/watch/${this.streamId}?tracker=${encodeURIComponent(`${this.trackerUrl}/tracker`)}`;
  }

  /** Chromium in a new lab host (behind the NAT of `opts`) opening the watch link; startPages() first. */
  async startChromium(host: string, opts: HostOptions): Promise<LabChromium> {
    if (!this.pages) throw new Error('startPages() first');
    const h = this.lab.addHost(host, opts);
    const b = await LabChromium.open(this.lab, h.ns, host, this.watchUrl());
    this.browsers.push(b);
    return b;
  }

  /** Bytes sent out of a host's interface so far (its eth0's tx_bytes: whole Ethernet frames); NaN when unknown. */
  txBytes(host: string): number {
    const h = this.lab.hosts.get(host);
    if (!h) return NaN;
    try {
      return Number(this.lab.exec(h.ns, 'cat', ['/sys/class/net/eth0/statistics/tx_bytes']).trim());
    } catch {
      return NaN;
    }
  }

  async destroy(): Promise<void> {
    for (const b of this.browsers) await b.close();
    await this.coturn?.stop().catch(() => {});
    this.lab.destroy();
    if (this.#pagesDir) rmSync(this.#pagesDir, { recursive: true, force: true });
  }
}

/** Frames a peer decoded and verified between two of its stats lines, and how many it missed. */
export function framesBetween(a: Stats | undefined, b: Stats | undefined): { delivered: number; missed: number } {
  const d = (k: string) => Number(b?.[k] ?? 0) - Number(a?.[k] ?? 0);
  return { delivered: d('framesDelivered'), missed: d('framesMissed') };
}

/** `count` peers cycling through the NAT kinds; symmetric-NAT peers relay-only (see scenario 2). */
export function mixedPeers(s: LabSwarm, count: number, loss?: LossModel, kinds: readonly NatKind[] = ['full-cone', 'port-restricted', 'none', 'symmetric']): LabProcess[] {
  return Array.from({ length: count }, (_, i) => {
    const nat = kinds[i % kinds.length];
    return s.startPeer(`p${i}`, { nat, loss }, nat === 'symmetric' ? ['--relay-only'] : []);
  });
}
