// Vite serves and builds the demo pages; Vitest runs the unit tests (*.test.ts beside the code).
import { defineConfig } from 'vitest/config';

// Node 20 runs the relaxed SIMD kernel build only behind this V8 flag (later Node has it on).
const nodeMajor = Number(process.versions.node.split('.')[0]);
const wasmFlags = nodeMajor < 22 ? ['--experimental-wasm-relaxed-simd'] : [];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    execArgv: wasmFlags,
  },
});
