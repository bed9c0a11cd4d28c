// Test and simulation helper: relays the signals of a set of transports directly to each other,
// playing the tracker's relay role in one process. Must not be used by product code (the
// session relays through the tracker). Used by unit tests and simulations over MemoryTransport.

import type { SignalBlob, Transport } from './transport.ts';

/**
 * Wires every transport's `signal` event to `signal()` of the transport named by the target id.
 * Blobs pass through JSON, as they would over a socket. Returns a function that unwires.
 */
export function relaySignals(transports: Readonly<Record<string, Transport>>): () => void {
  const unwire: Array<() => void> = [];
  for (const [fromId, transport] of Object.entries(transports)) {
    const listener = (toId: string, blob: SignalBlob): void => {
      const target = transports[toId];
      if (target) target.signal(fromId, JSON.parse(JSON.stringify(blob)));
    };
    transport.on('signal', listener);
    unwire.push(() => transport.off('signal', listener));
  }
  return () => unwire.forEach((f) => f());
}
