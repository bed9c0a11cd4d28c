// Starts and stops a coturn TURN/STUN server (the Debian `coturn` package's /usr/bin/turnserver)
// with the REST shared-secret scheme (use-auth-secret), for `npm start -- --turn`, the network lab
// and tests. Listens only on the addresses given (loopback by default); writes no files outside a
// temporary directory. Node-only tooling; the product never starts processes.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const TURNSERVER_BIN = '/usr/bin/turnserver';

export interface CoturnOptions {
  /** Address coturn listens and relays on. Default 127.0.0.1. */
  listenIp?: string;
  /** Address put in relay candidates when it differs from listenIp (coturn --external-ip). */
  externalIp?: string;
  /** STUN/TURN port (UDP and TCP). Default 3478. */
  port?: number;
  /** Shared secret; default a random one. */
  secret?: string;
  /** Relay port range. Default 49160–49959. */
  minPort?: number;
  maxPort?: number;
  /** Allow relaying to 127.x peers (loopback tests). Default: true when listening on loopback. */
  allowLoopbackPeers?: boolean;
  /** Command prefix to run it in, e.g. ['ip', 'netns', 'exec', 'ns'] (the lab). */
  wrap?: string[];
  /** Log every session and request (coturn -v), for debugging. */
  verbose?: boolean;
  /** Binary; default /usr/bin/turnserver. */
  bin?: string;
  /** Resolves true once the server answers; default: a STUN binding request from this process. */
  probe?: (ip: string, port: number) => Promise<boolean>;
}

export interface Coturn {
  process: ChildProcess;
  secret: string;
  port: number;
  listenIp: string;
  /** turn: URL peers use (UDP). */
  turnUrl: string;
  stunUrl: string;
  /** What coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** True when the coturn binary is installed. */
export function coturnInstalled(bin = TURNSERVER_BIN): boolean {
  return existsSync(bin);
}

/**
 * Starts coturn and resolves once it listens (its log says so), rejecting after `timeoutMs`.
 * Only REST-scheme credentials are accepted (no static users); TLS, DTLS, the CLI and the web
 * admin are off; multicast peers are refused.
 */
export async function startCoturn(o: CoturnOptions = {}, timeoutMs = 10_000): Promise<Coturn> {
  const bin = o.bin ?? TURNSERVER_BIN;
  if (!coturnInstalled(bin)) throw new Error(`coturn is not installed (${bin}); apt-get install coturn`);
  const listenIp = o.listenIp ?? '127.0.0.1';
  const port = o.port ?? 3478;
  const secret = o.secret ?? randomBytes(18).toString('base64url');
  const dir = mkdtempSync(path.join(tmpdir(), 'p2p-coturn-'));
  const logFile = path.join(dir, 'turn.log');
  const loopback = o.allowLoopbackPeers ?? listenIp.startsWith('127.');
  const args = [
    ...(o.verbose ? ['-v'] : []), '-n', '--no-cli', '--no-tls', '--no-dtls', '--no-software-attribute', '--fingerprint', '--no-multicast-peers',
    `--listening-ip=${listenIp}`, `--relay-ip=${listenIp}`, `--listening-port=${port}`,
    ...(o.externalIp ? [`--external-ip=${o.externalIp}`] : []),
    `--min-port=${o.minPort ?? 49160}`, `--max-port=${o.maxPort ?? 49959}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=p2p-player',
    ...(loopback ? ['--allow-loopback-peers'] : []),
    `--log-file=${logFile}`, '--simple-log', '--no-stdout-log',
    `--pidfile=${path.join(dir, 'turn.pid')}`, `--userdb=${path.join(dir, 'turn.db')}`,
  ];
  const [cmd, ...pre] = o.wrap?.length ? [...o.wrap, bin] : [bin];
  const child = spawn(cmd, [...pre, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)).length > 20_000 && (stderr = stderr.slice(-10_000)));
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8') + stderr;
    } catch {
      return stderr;
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + timeoutMs;
  for (;;) {
    const text = log();
    if (await (o.probe ?? stunProbe)(listenIp, port)) break;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > end) {
      await stop();
      throw new Error(`coturn did not start on ${listenIp}:${port}: ${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const host = o.externalIp ?? listenIp;
  return {
    process: child, secret, port, listenIp, log, stop,
    turnUrl: `turn:${host}:${port}?transport=udp`,
    stunUrl: `stun:${host}:${port}`,
  };
}

/** Sends one STUN binding request (RFC 5389) and resolves true if a binding response comes back within 300 ms. */
export function stunProbe(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = randomBytes(12);
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), id]);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    socket.on('error', () => done(false));
    socket.on('message', (m) => done(m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(id)));
    socket.send(request, port, ip);
  });
}
