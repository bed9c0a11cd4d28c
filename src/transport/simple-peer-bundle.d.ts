// Types for simple-peer's prebuilt browser bundle (it carries its own Buffer and stream shims,
// so Vite needs no Node polyfills). Only the constructor is declared; web-rtc-transport.ts
// states the narrow part of the instance it uses.
declare module 'simple-peer/simplepeer.min.js' {
  const SimplePeer: unknown;
  export default SimplePeer;
}
