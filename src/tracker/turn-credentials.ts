// STUN/TURN servers the tracker hands each peer, with short-lived TURN credentials in the REST
// scheme that coturn's `use-auth-secret` checks: username `expiry:peerId` (expiry in Unix
// seconds), credential base64(HMAC-SHA1(shared secret, username)). Node-only (node:crypto); the
// server sends the `ice` message on join and again before the credentials expire.

import { createHmac } from 'node:crypto';
import { P2PError } from '../errors.ts';
import { LIMITS, type IceServerInfo, type ServerMessage } from './messages.ts';

export interface IceOptions {
  /** TURN URLs (`turn:host:port?transport=udp`, `turns:…`). Needs `turnSecret`. */
  turnUrls?: string[];
  /** Shared secret of the TURN server (coturn `static-auth-secret`). */
  turnSecret?: string;
  /** STUN URLs (`stun:host:port`); coturn answers STUN on its TURN port too. */
  stunUrls?: string[];
  /** Lifetime of the TURN credentials, seconds. Default 3600; a peer gets new ones at half of it. */
  ttlSec?: number;
}

export interface TurnCredential {
  username: string;
  credential: string;
}

const URL_RE = /^(stun|stuns|turn|turns):[^\s]{1,240}$/;

/** REST-scheme credentials for `peerId`, valid until `nowMs / 1000 + ttlSec`. */
export function turnCredentials(secret: string, peerId: string, nowMs: number, ttlSec: number): TurnCredential {
  const username = `${Math.floor(nowMs / 1000) + ttlSec}:${peerId}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** Checks the options; throws P2PError('BAD_CONFIG') naming what is wrong. */
export function resolveIceOptions(o: IceOptions): Required<IceOptions> {
  const turnUrls = o.turnUrls ?? [];
  const stunUrls = o.stunUrls ?? [];
  const ttlSec = o.ttlSec ?? 3600;
  for (const u of turnUrls) if (!URL_RE.test(u) || !u.startsWith('turn')) throw new P2PError('BAD_CONFIG', `TURN URL must be turn: or turns:, got ${u}`);
  for (const u of stunUrls) if (!URL_RE.test(u) || !u.startsWith('stun')) throw new P2PError('BAD_CONFIG', `STUN URL must be stun: or stuns:, got ${u}`);
  if (turnUrls.length + stunUrls.length > LIMITS.maxIceUrls) throw new P2PError('BAD_CONFIG', `at most ${LIMITS.maxIceUrls} STUN/TURN URLs`);
  if (turnUrls.length > 0 && !o.turnSecret) throw new P2PError('BAD_CONFIG', 'TURN URLs need the TURN server\'s shared secret');
  if (o.turnSecret !== undefined && (o.turnSecret.length < 8 || o.turnSecret.length > 256)) throw new P2PError('BAD_CONFIG', 'the TURN secret must be 8 to 256 characters');
  if (!Number.isInteger(ttlSec) || ttlSec < 60 || ttlSec > 7 * 24 * 3600) throw new P2PError('BAD_CONFIG', `TURN credential lifetime must be 60 s to 7 days, got ${ttlSec}`);
  return { turnUrls, stunUrls, turnSecret: o.turnSecret ?? '', ttlSec };
}

/** Makes `ice` messages and says when a connection's credentials need renewing. */
export class IceIssuer {
  readonly options: Required<IceOptions>;
  readonly #issued = new WeakMap<object, number>();

  constructor(options: IceOptions) {
    this.options = resolveIceOptions(options);
  }

  /** The `ice` message for `peerId` now; `conn` (any object per socket) remembers when. */
  issue(conn: object, peerId: string, nowMs: number): Extract<ServerMessage, { type: 'ice' }> {
    const o = this.options;
    const iceServers: IceServerInfo[] = [];
    if (o.stunUrls.length) iceServers.push({ urls: [...o.stunUrls] });
    if (o.turnUrls.length) iceServers.push({ urls: [...o.turnUrls], ...turnCredentials(o.turnSecret, peerId, nowMs, o.ttlSec) });
    this.#issued.set(conn, nowMs);
    return { type: 'ice', iceServers, ttlMs: o.ttlSec * 1000 };
  }

  /** A renewed message once half the lifetime of the last one has passed, else null. */
  renew(conn: object, peerId: string, nowMs: number): Extract<ServerMessage, { type: 'ice' }> | null {
    const last = this.#issued.get(conn);
    if (last === undefined || nowMs - last < (this.options.ttlSec * 1000) / 2) return null;
    return this.issue(conn, peerId, nowMs);
  }
}
