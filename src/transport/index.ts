// Public entry of the transport: the contract, its config, and the two implementations.
// Importing WebRtcTransport pulls in simple-peer's browser bundle; MemoryTransport does not need it.
// Used by the session and by tests.
export type {
  Channel,
  ChannelStats,
  ConnectOptions,
  DisconnectReason,
  FailReason,
  LinkInfo,
  PeerState,
  PeerStats,
  SignalBlob,
  Transport,
  TransportEvents,
  TransportStats,
} from './transport.ts';
export { CHANNELS, CONTROL_MESSAGE_LIMIT_BYTES, MEDIA_MESSAGE_LIMIT_BYTES, REQUESTS_MESSAGE_LIMIT_BYTES } from './transport.ts';
export { DEFAULT_TRANSPORT_CONFIG, resolveTransportConfig, type IceServerConfig, type TransportConfig } from './transport-config.ts';
export { realClock, type TransportClock } from './transport-clock.ts';
export { MemoryNetwork, MemoryTransport, type MemoryLinkModel, type MemoryMessageInfo, type MemoryNetworkOptions } from './memory-transport.ts';
export { MEDIA_CHANNEL_ID, REQUESTS_CHANNEL_ID, WebRtcTransport } from './web-rtc-transport.ts';
export { relaySignals } from './relay-signals.ts';
