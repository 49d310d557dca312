import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e files each start their own server process; two at a time fits a 2-core box.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
