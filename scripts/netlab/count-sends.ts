// Preload for measuring a Node peer (`node --import tsx --import ./scripts/netlab/count-sends.ts
// bin/p2p-player-peer.js …`): counts the messages the transport is asked to send, by channel and
// wire type (the second byte of a protocol message), and the datachannel messages handed to the
// link. On SIGUSR2 it prints one JSON line {"sendCounts": …} to stderr. A measuring aid for
// loopback-cpu.ts only; nothing of the product loads it.
import { TransportCore } from '../../src/transport/transport-core.ts';
import { T } from '../../src/protocol/wire.ts';

const names = new Map<number, string>(Object.entries(T).map(([k, v]) => [v, k]));
const counts: Record<string, number> = {};
const bump = (k: string) => {
  counts[k] = (counts[k] ?? 0) + 1;
};

type Core = { send(peer: string, channel: string, bytes: Uint8Array): boolean };
const proto = TransportCore.prototype as unknown as Core;
const send = proto.send;
proto.send = function (this: Core, peer: string, channel: string, bytes: Uint8Array): boolean {
  const ok = send.call(this, peer, channel, bytes);
  bump(`${channel}:${names.get(bytes[1]) ?? `0x${bytes[1]?.toString(16)}`}${ok ? '' : ':refused'}`);
  return ok;
};

process.on('SIGUSR2', () => {
  process.stderr.write(`${JSON.stringify({ sendCounts: { ...counts }, at: Date.now() })}\n`);
});
