// The network lab's scenarios: a vitest project of their own (`npm run test:netlab`), kept out of
// the unit tests because they need root, network namespaces and a minute or more each.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['scripts/netlab/**/*.lab.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
