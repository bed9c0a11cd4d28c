// Validation of inbound signalling blobs (they come from other peers through the tracker): shape,
// types and size bounds, unknown fields stripped. Pure; never throws on bad input.
// Called by TransportCore.signal for both transports.

import { z } from 'zod';
import type { SignalBlob } from './transport.ts';
import { MAX_CANDIDATE_BYTES } from './transport-config.ts';

export type SignalParser = (blob: unknown) => SignalBlob | undefined;

/** Builds a parser accepting SDP up to `maxSdpBytes` characters (SDP is ASCII). */
export function makeSignalParser(maxSdpBytes: number): SignalParser {
  const schema = z.discriminatedUnion('type', [
    z.object({ type: z.enum(['offer', 'answer']), sdp: z.string().min(1).max(maxSdpBytes) }),
    z.object({
      type: z.literal('candidate'),
      candidate: z.object({
        candidate: z.string().max(MAX_CANDIDATE_BYTES),
        sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
        sdpMid: z.string().max(64).nullable().optional(),
      }),
    }),
  ]);
  return (blob) => {
    const r = schema.safeParse(blob);
    return r.success ? (r.data as SignalBlob) : undefined;
  };
}
