// The broadcaster proof as the tracker checks it: the identities the tracker answers to (from its
// configuration and its listening address, never from request headers) and the verification of
// a `publish` signature over nonce ‖ streamId ‖ broadcastId ‖ identity. Node-only (node:os);
// used by server.ts.

import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { fromBase64url, streamIdOf, verifyBytes } from '../crypto/stream-key.ts';
import { renditionSwarmId } from '../media/renditions.ts';
import { publishProofBytes } from './messages.ts';

/** `host[:port]` as `new URL(url).host` writes it (IPv6 in brackets, default ports dropped). */
function hostPort(host: string, port: number, defaultPort?: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];
const UNSPECIFIED = ['0.0.0.0', '::', ''];

/**
 * The tracker identities a broadcaster proof may name, in `new URL(trackerUrl).host` form.
 * Configured (`publicUrl`, `origins`): exactly those. Otherwise the listening address: a specific
 * host gives `host:port`; a loopback host gives the loopback names (127.0.0.1, localhost, [::1]);
 * an unspecified host (0.0.0.0, ::) gives the loopback names and every interface address of the
 * machine. A URL on port 80 or 443 is also accepted without the port, as browsers write it.
 */
export function trackerIdentities(config: { publicUrl?: string; origins?: readonly string[] }, listening: AddressInfo | string | null): string[] {
  const out = new Set<string>();
  if (config.publicUrl) out.add(new URL(config.publicUrl).host);
  for (const o of config.origins ?? []) out.add(o);
  if (out.size > 0) return [...out];
  if (!listening || typeof listening === 'string') return [];
  const port = listening.port;
  const hosts = new Set<string>();
  const add = (h: string) => hosts.add(h.replace(/^::ffff:/, ''));
  if (UNSPECIFIED.includes(listening.address) || LOOPBACK.includes(listening.address)) LOOPBACK.forEach(add);
  if (UNSPECIFIED.includes(listening.address)) {
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) add(i.address.split('%')[0]);
  } else add(listening.address);
  for (const h of hosts) {
    out.add(hostPort(h, port));
    if (port === 80 || port === 443) out.add(hostPort(h, port, port));
  }
  return [...out];
}

export interface PublishClaim {
  streamId: string;
  publicKey: string;
  signature: string;
  broadcastId: string;
  /** A lower rendition's name: streamId must then be renditionSwarmId(key's stream id, rendition). */
  rendition?: string;
}

/** True when the claim's key hashes to its streamId (or its rendition's swarm id derives from that hash) and signs nonce ‖ streamId ‖ broadcastId ‖ one identity. */
export async function verifyPublishProof(nonce: Uint8Array, claim: PublishClaim, identities: readonly string[]): Promise<boolean> {
  try {
    const pub = fromBase64url(claim.publicKey);
    const sig = fromBase64url(claim.signature);
    const keyStreamId = await streamIdOf(pub);
    const expected = claim.rendition === undefined ? keyStreamId : await renditionSwarmId(keyStreamId, claim.rendition);
    if (expected !== claim.streamId) return false;
    for (const identity of identities) {
      if (await verifyBytes(pub, sig, publishProofBytes(nonce, claim.streamId, claim.broadcastId, identity))) return true;
    }
  } catch {
    // A malformed key or signature is a failed proof.
  }
  return false;
}
