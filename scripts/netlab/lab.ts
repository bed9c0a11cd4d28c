// The network lab: a small internet on one machine, built from network namespaces. A "public"
// namespace holds a bridge (the public segment 203.0.113.0/24) where the tracker and coturn run;
// each peer lives in its own namespace behind a NAT router namespace (nftables: full-cone,
// port-restricted or symmetric), or sits on the public segment itself. Loss is made with nftables
// (numgen), rate caps with tc tbf; there is no added delay (netem is not available here).
// Every namespace is named `p2plab-<pid>-…`, so the lab only ever deletes what it made; all
// interfaces live inside those namespaces and die with them. Needs root and iproute2/nftables.

import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Name prefix of everything the lab makes. */
export const LAB_PREFIX = 'p2plab-';
/** The public segment: bridge address (tracker, coturn) and the first router / public host addresses. */
export const PUBLIC_NET = '203.0.113';
export const PUBLIC_ADDRESS = `${PUBLIC_NET}.1`;

export type NatKind = 'none' | 'full-cone' | 'port-restricted' | 'symmetric';

/** Packet loss on a host's link, applied to UDP (the WebRTC path) in both directions. */
export type LossModel =
  | { kind: 'random'; percent: number }
  /** Bursts of `burstPackets` consecutive packets dropped, `percent` of packets in all. */
  | { kind: 'bursty'; percent: number; burstPackets: number };

export interface HostOptions {
  nat: NatKind;
  loss?: LossModel;
  /** Uplink cap (host → internet), bits per second, with tc tbf. */
  uplinkBps?: number;
  /** Downlink cap (internet → host), bits per second. */
  downlinkBps?: number;
}

export interface LabHost {
  name: string;
  /** Namespace the host's processes run in. */
  ns: string;
  /** Router namespace (undefined for a public host). */
  routerNs?: string;
  nat: NatKind;
  /** Address of the host inside its namespace (a LAN address behind a NAT). */
  address: string;
  /** Address the internet sees (the router's WAN address, or the host's own). */
  publicAddress: string;
}

export interface LabCheck {
  ok: boolean;
  reason?: string;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

const has = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

/** Whether the lab can run here: root, iproute2 with netns, nftables, tc, coturn. Installs missing packages with apt as root. */
export function prepareLab(options: { install?: boolean } = {}): LabCheck {
  if (process.platform !== 'linux') return { ok: false, reason: 'the network lab needs Linux network namespaces' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the network lab needs root (network namespaces, nftables, tc)' };
  const missing = [['ip', 'iproute2'], ['tc', 'iproute2'], ['nft', 'nftables'], ['turnserver', 'coturn']].filter(([bin]) => !has(bin) && !existsSync(`/usr/bin/${bin}`)).map(([, pkg]) => pkg);
  if (missing.length && options.install !== false) {
    const pkgs = [...new Set(missing)];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
    }
    if (r.status !== 0) return { ok: false, reason: `could not install ${pkgs.join(' ')} with apt-get` };
  }
  const still = [['ip', 'iproute2'], ['tc', 'iproute2'], ['nft', 'nftables'], ['turnserver', 'coturn']].filter(([bin]) => !has(bin) && !existsSync(`/usr/bin/${bin}`));
  if (still.length) return { ok: false, reason: `missing ${still.map(([b, p]) => `${b} (${p})`).join(', ')}` };
  const probe = `${LAB_PREFIX}${process.pid}-probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: `ip netns does not work here: ${r.stderr.trim()}` };
  spawnSync('ip', ['netns', 'del', probe]);
  return { ok: true };
}

/** Lab namespaces on this machine whose owner process is gone (left by a crash). */
/** Kills whatever still runs in a lab namespace, then deletes it (its interfaces go with it). */
function removeNamespace(ns: string): void {
  if (!ns.startsWith(LAB_PREFIX)) throw new Error(`refusing to remove ${ns}: not a lab namespace`);
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  spawnSync('ip', ['netns', 'del', ns]);
}

function staleNamespaces(): string[] {
  const names = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(LAB_PREFIX));
  return names.filter((n) => {
    const pid = Number(n.slice(LAB_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

export class NetLab {
  readonly id: string;
  readonly publicNs: string;
  readonly hosts = new Map<string, LabHost>();
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #nextRouter = 10;
  #nextPublicHost = 100;
  #nextLan = 1;
  #destroyed = false;
  /** The lab's temporary directory (scratchDir()), removed by destroy(). */
  #scripts: string | null = null;
  #onExit = () => this.destroy();

  /** Builds the public segment. Removes stale lab namespaces of dead processes first. */
  constructor() {
    for (const ns of staleNamespaces()) removeNamespace(ns);
    this.id = `${LAB_PREFIX}${process.pid}-${Date.now().toString(36).slice(-4)}`;
    process.once('exit', this.#onExit);
    this.publicNs = this.#netns('pub');
    this.#ip(this.publicNs, 'link', 'add', 'name', 'br0', 'type', 'bridge');
    this.#ip(this.publicNs, 'addr', 'add', `${PUBLIC_ADDRESS}/24`, 'dev', 'br0');
    this.#ip(this.publicNs, 'link', 'set', 'br0', 'up');
  }

  /** Adds a host: its own namespace, behind a NAT router of the given kind or on the public segment. */
  addHost(name: string, o: HostOptions): LabHost {
    if (!/^[a-z0-9]{1,8}$/.test(name) || this.hosts.has(name)) throw new Error(`bad or duplicate host name ${name}`);
    const ns = this.#netns(`h-${name}`);
    let host: LabHost;
    if (o.nat === 'none') {
      const address = `${PUBLIC_NET}.${this.#nextPublicHost++}`;
      this.#plugIntoBridge(ns, 'eth0', `pb${this.hosts.size}`, address);
      this.#ip(ns, 'route', 'add', 'default', 'via', PUBLIC_ADDRESS);
      host = { name, ns, nat: 'none', address, publicAddress: address };
      this.#shape(ns, 'eth0', o, 'up');
      if (o.loss) this.#loss(ns, o.loss, false);
    } else {
      const routerNs = this.#netns(`r-${name}`);
      const wan = `${PUBLIC_NET}.${this.#nextRouter++}`;
      if (this.#nextRouter >= 100) throw new Error('the lab has room for 90 routers');
      this.#plugIntoBridge(routerNs, 'wan0', `rb${this.hosts.size}`, wan);
      this.#ip(routerNs, 'route', 'add', 'default', 'via', PUBLIC_ADDRESS);
      // LAN: a /30 from 192.0.2.0/24, then 198.51.100.0/24.
      const k = this.#nextLan++;
      const net = k < 64 ? `192.0.2.${4 * k}` : `198.51.100.${4 * (k - 64)}`;
      if (k >= 128) throw new Error('the lab has room for 127 NATed hosts');
      const base = net.split('.').slice(0, 3).join('.');
      const last = Number(net.split('.')[3]);
      const gw = `${base}.${last + 1}`;
      const address = `${base}.${last + 2}`;
      this.#ip(routerNs, 'link', 'add', 'name', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      this.#ip(routerNs, 'addr', 'add', `${gw}/30`, 'dev', 'lan0');
      this.#ip(routerNs, 'link', 'set', 'lan0', 'up');
      this.#ip(ns, 'addr', 'add', `${address}/30`, 'dev', 'eth0');
      this.#ip(ns, 'link', 'set', 'eth0', 'up');
      this.#ip(ns, 'route', 'add', 'default', 'via', gw);
      run('ip', ['netns', 'exec', routerNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      this.#nat(routerNs, o.nat, address, wan);
      host = { name, ns, routerNs, nat: o.nat, address, publicAddress: wan };
      // Downlink is shaped where it leaves the router towards the host, uplink where it leaves the host.
      this.#shape(ns, 'eth0', { uplinkBps: o.uplinkBps }, 'up');
      this.#shape(routerNs, 'lan0', { downlinkBps: o.downlinkBps }, 'down');
      if (o.loss) this.#loss(routerNs, o.loss, true);
    }
    this.hosts.set(name, host);
    return host;
  }

  /** Replaces a host's loss rules (undefined: no loss). */
  setLoss(name: string, loss: LossModel | undefined): void {
    const h = this.#host(name);
    const ns = h.routerNs ?? h.ns;
    spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'labloss']);
    if (loss) this.#loss(ns, loss, !!h.routerNs);
  }

  /** Cuts (or restores) a host's link to the internet: every packet dropped, TCP and UDP alike. */
  setLinkDown(name: string, down: boolean): void {
    const h = this.#host(name);
    const ns = h.routerNs ?? h.ns;
    spawnSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'labcut']);
    if (down) {
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `table inet labcut {
  chain cutfwd { type filter hook forward priority -10; policy drop; }
  chain cutout { type filter hook output priority -10; oifname "lo" accept; drop; }
  chain cutin { type filter hook input priority -10; iifname "lo" accept; drop; }
}\n`);
    }
  }

  /** Starts a process inside a lab namespace (killed by destroy()). */
  spawn(ns: string, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    this.#mine(ns);
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /**
   * The path of a small executable script that runs `program` with its arguments inside a lab
   * namespace (`exec ip netns exec NS PROGRAM "$@"`), for tools that start a program themselves
   * (Playwright's executablePath). What it starts is killed by destroy() with the namespace.
   */
  launcher(ns: string, program: string): string {
    this.#mine(ns);
    if (!/^\/[\w./-]+$/.test(program)) throw new Error(`refusing launcher for ${program}: not a plain absolute path`);
    const file = path.join(this.scratchDir(), `${path.basename(ns)}-${path.basename(program)}.sh`);
    writeFileSync(file, `#!/bin/sh\nexec ip netns exec '${ns}' '${program}' "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }

  /** Process ids running inside a lab namespace now. */
  pidsIn(ns: string): number[] {
    this.#mine(ns);
    return run('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number);
  }

  /** A temporary directory of this lab (launcher scripts, browser profiles), removed by destroy(). */
  scratchDir(): string {
    if (this.#destroyed) throw new Error('the lab is destroyed');
    this.#scripts ??= mkdtempSync(path.join(tmpdir(), `${this.id}-`));
    return this.#scripts;
  }

  /** Runs a command inside a lab namespace and returns its output. */
  exec(ns: string, cmd: string, args: string[]): string {
    this.#mine(ns);
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** Kills the lab's processes and deletes every namespace it made (with their interfaces). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.off('exit', this.#onExit);
    for (const c of this.#children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of this.#namespaces.reverse()) removeNamespace(ns);
    if (this.#scripts) rmSync(this.#scripts, { recursive: true, force: true });
  }

  /** Namespaces of this lab still present on the machine (for tests of the cleanup). */
  liveNamespaces(): string[] {
    const all = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]);
    return all.filter((n) => n.startsWith(this.id));
  }

  // ---- internals ------------------------------------------------------------------------------

  #host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** Refuses to act on a namespace this lab did not make. */
  #mine(ns: string): void {
    if (!ns.startsWith(this.id) || !this.#namespaces.includes(ns)) throw new Error(`refusing to touch ${ns}: not made by this lab`);
  }

  #netns(suffix: string): string {
    const ns = `${this.id}-${suffix}`;
    run('ip', ['netns', 'add', ns]);
    this.#namespaces.push(ns);
    this.#ip(ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  #ip(ns: string, ...args: string[]): void {
    this.#mine(ns);
    run('ip', ['-n', ns, ...args]);
  }

  /** A veth from `ns` (named `inner` there) to the public bridge, with an address. */
  #plugIntoBridge(ns: string, inner: string, bridgeSide: string, address: string): void {
    this.#ip(this.publicNs, 'link', 'add', 'name', bridgeSide, 'type', 'veth', 'peer', 'name', inner, 'netns', ns);
    this.#ip(this.publicNs, 'link', 'set', bridgeSide, 'master', 'br0');
    this.#ip(this.publicNs, 'link', 'set', bridgeSide, 'up');
    this.#ip(ns, 'addr', 'add', `${address}/24`, 'dev', inner);
    this.#ip(ns, 'link', 'set', inner, 'up');
  }

  /**
   * NAT in the router namespace, between the host's LAN address and the router's WAN address:
   * - full-cone: 1:1 (every port of the WAN address leads to the host: endpoint-independent
   *   mapping and filtering);
   * - port-restricted: masquerade (the source port is kept, one mapping for every destination;
   *   conntrack lets in only replies from the exact address and port written to);
   * - symmetric: masquerade with random ports (a new mapping per destination).
   */
  #nat(routerNs: string, kind: NatKind, host: string, wan: string): void {
    const post =
      kind === 'full-cone' ? `ip saddr ${host} oifname "wan0" snat to ${wan}`
      : kind === 'symmetric' ? `ip saddr ${host} oifname "wan0" snat to ${wan} random`
      : `ip saddr ${host} oifname "wan0" snat to ${wan}`;
    const pre = kind === 'full-cone' ? `iifname "wan0" ip daddr ${wan} dnat to ${host}` : '';
    run('ip', ['netns', 'exec', routerNs, 'nft', '-f', '-'], `table ip labnat {
  chain natpre {
    type nat hook prerouting priority dstnat;
    ${pre}
  }
  chain natpost {
    type nat hook postrouting priority srcnat;
    ${post}
  }
  chain filterin {
    type filter hook input priority 0; policy accept;
    iifname "wan0" ct state new drop
  }
  chain filterfwd { type filter hook forward priority 0; policy drop;
    ct state invalid counter drop
    ct state established,related counter accept
    iifname "lan0" oifname "wan0" counter accept
    ${kind === 'full-cone' ? `iifname "wan0" ip daddr ${host} accept` : ''}
    counter
  }
}\n`);
  }

  /** UDP loss both ways through the router (or on a public host's own link). */
  #loss(ns: string, loss: LossModel, router: boolean): void {
    if (!(loss.percent > 0 && loss.percent < 100)) throw new Error(`loss percent must be in (0, 100), got ${loss.percent}`);
    const hook = router ? 'forward' : 'output';
    const rule =
      loss.kind === 'random'
        ? `numgen random mod 10000 < ${Math.round(loss.percent * 100)} drop`
        : `numgen inc mod ${Math.round((loss.burstPackets * 100) / loss.percent)} < ${loss.burstPackets} drop`;
    // Two chains, so each direction has its own counter (numgen inc keeps one per rule).
    run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `table inet labloss {
  chain lossout {
    type filter hook ${hook} priority -5;
    meta l4proto udp ${hook === 'forward' ? 'iifname "lan0" ' : ''}${rule}
  }
  chain lossin {
    type filter hook ${hook === 'forward' ? 'forward' : 'input'} priority -5;
    meta l4proto udp ${hook === 'forward' ? 'iifname "wan0" ' : ''}${rule}
  }
}\n`);
  }

  /** tc tbf on one interface's egress. */
  #shape(ns: string, dev: string, o: { uplinkBps?: number; downlinkBps?: number }, dir: 'up' | 'down'): void {
    const bps = dir === 'up' ? o.uplinkBps : o.downlinkBps;
    if (!bps) return;
    // Burst of at least one full-size packet and ~20 ms of the rate; queue up to 50 ms.
    const burst = Math.max(3000, Math.round(bps / 8 / 50));
    run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${Math.round(bps)}bit`, 'burst', String(burst), 'latency', '50ms']);
  }
}
